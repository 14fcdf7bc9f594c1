//! Tolerant reading of platform JSON: ids that arrive as numbers or strings, amounts as
//! numbers, numeric strings or `""`, booleans as `true`/`1`/`"true"`. Amounts are parsed from
//! their JSON text exactly (never through a float) into fen.

use serde_json::Value;

/// An id (`123` or `"123"`) as text; `None` for null, `""` or a missing value.
pub fn id(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Text, treating `""` and null as absent.
pub fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Money in yuan (`12.3`, `"12.30"`, `""`) as fen. `Ok(None)` when absent or empty; an error
/// names the value when it is not an amount with at most two decimals.
pub fn fen(v: Option<&Value>) -> Result<Option<i64>, String> {
    let text = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => return Err(format!("{other} is not an amount")),
    };
    let raw = vocab::money::parse_fen(&text).map_err(|reason| format!("{text:?} {reason}"))?;
    i64::try_from(raw)
        .map(Some)
        .map_err(|_| format!("{text:?} is too large"))
}

/// A whole number from a number or a numeric string.
pub fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A flag from `true`/`false`, `1`/`0` or their string forms.
pub fn flag(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        Value::String(s) => match s.trim() {
            "true" | "1" | "True" => Some(true),
            "false" | "0" | "False" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_amounts_and_flags_in_every_shape() {
        let v = json!({"a": 123, "b": "123", "c": "", "d": null, "m1": 12.3, "m2": "12.30", "m3": "", "m4": 0.1,
                       "bad": "12.345", "f1": 1, "f2": "true", "f3": false});
        assert_eq!(id(v.get("a")), Some("123".into()));
        assert_eq!(id(v.get("b")), Some("123".into()));
        assert_eq!(id(v.get("c")), None);
        assert_eq!(id(v.get("d")), None);
        assert_eq!(id(v.get("missing")), None);
        assert_eq!(fen(v.get("m1")), Ok(Some(1230)));
        assert_eq!(fen(v.get("m2")), Ok(Some(1230)));
        assert_eq!(fen(v.get("m3")), Ok(None));
        assert_eq!(
            fen(v.get("m4")),
            Ok(Some(10)),
            "0.1 is exactly 10 fen, no float drift"
        );
        assert!(fen(v.get("bad")).unwrap_err().contains("12.345"));
        assert_eq!(
            (flag(v.get("f1")), flag(v.get("f2")), flag(v.get("f3"))),
            (Some(true), Some(true), Some(false))
        );
        assert_eq!(int(v.get("b")), Some(123));
    }
}
