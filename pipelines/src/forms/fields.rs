//! Field types of entry forms and the validation of one JSON value against one field.
//!
//! Every accepted value is normalised: money becomes a decimal string with two places
//! (`"12.30"`), instants become RFC 3339 UTC (`"2026-11-30T02:00:00Z"`), dates `YYYY-MM-DD`.
//! Money never passes through arithmetic on floats: a JSON number is read through its shortest
//! decimal text, and only up to 15 significant digits, where that text is exact.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::Value;

/// What a field holds.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// An identifier: 1..=64 of `A-Z a-z 0-9 _ - . :`.
    Id,
    /// Free text up to `max` characters.
    Text { max: usize },
    /// A whole number in `min..=max`.
    Int { min: i64, max: i64 },
    /// Money with at most two decimals, at least `min` (in fen).
    Money { min: i64 },
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// An instant: RFC 3339 with an offset, or `YYYY-MM-DD HH:MM:SS` in Asia/Shanghai.
    Timestamp,
    /// `true` / `false`.
    Bool,
    /// One of the listed words.
    Enum(&'static [&'static str]),
    /// A month, `YYYY-MM`.
    Month,
    /// An object of text attributes (`{"颜色": "白"}`), at most 50 keys.
    Attrs,
    /// A list of identifiers, at most 100.
    IdList,
    /// A list of line objects with their own fields (1..=500 lines).
    Lines(&'static [Field]),
}

/// Which reference set an identifier must belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefKind {
    Shop,
    Sku,
    Spu,
    Order,
    Supplier,
    Warehouse,
    Category,
    Brand,
    Campaign,
}

impl RefKind {
    /// The noun used in error messages.
    pub fn noun(self) -> &'static str {
        match self {
            RefKind::Shop => "shop",
            RefKind::Sku => "SKU",
            RefKind::Spu => "product (SPU)",
            RefKind::Order => "order",
            RefKind::Supplier => "supplier",
            RefKind::Warehouse => "warehouse",
            RefKind::Category => "category",
            RefKind::Brand => "brand",
            RefKind::Campaign => "campaign",
        }
    }
}

/// One field of a form.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
    /// When set, the value must be a known id of this kind.
    pub refs: Option<RefKind>,
    pub doc: &'static str,
}

/// A required field.
pub const fn req(name: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        name,
        ty,
        required: true,
        refs: None,
        doc,
    }
}

/// An optional field.
pub const fn opt(name: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        name,
        ty,
        required: false,
        refs: None,
        doc,
    }
}

impl Field {
    /// The same field, whose value must be a known id of `kind`.
    pub const fn refs(mut self, kind: RefKind) -> Field {
        self.refs = Some(kind);
        self
    }
}

/// Largest money magnitude read from a JSON number: 15 significant digits, where it is exact.
const JSON_NUMBER_MAX_FEN: i128 = 99_999_999_999_999;

/// Validates one value; `Err` is the reason, without the field name (the caller adds it).
pub fn check(ty: Ty, v: &Value) -> Result<Value, String> {
    match ty {
        Ty::Id => {
            let s = text(v)?;
            match vocab::ids::id_problem(s) {
                Some(why) => Err(why.into()),
                None => Ok(Value::from(s)),
            }
        }
        Ty::Text { max } => {
            let s = text(v)?;
            let n = s.chars().count();
            if s.trim().is_empty() {
                return Err("must not be blank".into());
            }
            if n > max {
                return Err(format!("is {n} characters long; at most {max} allowed"));
            }
            if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
                return Err("contains control characters".into());
            }
            Ok(Value::from(s))
        }
        Ty::Int { min, max } => {
            let n = match v {
                Value::Number(n) => n.as_i64().ok_or("must be a whole number")?,
                _ => return Err(format!("must be a whole number, got {}", kind_of(v))),
            };
            if n < min || n > max {
                return Err(format!("must be between {min} and {max}, got {n}"));
            }
            Ok(Value::from(n))
        }
        Ty::Money { min } => {
            let fen = money_fen(v)?;
            if fen < i128::from(min) {
                return Err(format!(
                    "must be at least {}, got {}",
                    fen_text(i128::from(min)),
                    fen_text(fen)
                ));
            }
            Ok(Value::from(fen_text(fen)))
        }
        Ty::Date => {
            let s = text(v)?;
            let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| format!("must be a date YYYY-MM-DD, got {s:?}"))?;
            plausible_year(d.year_ce().1 as i32)?;
            Ok(Value::from(d.format("%Y-%m-%d").to_string()))
        }
        Ty::Timestamp => {
            let t = instant(text(v)?)?;
            Ok(Value::from(t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()))
        }
        Ty::Bool => match v {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            _ => Err(format!("must be true or false, got {}", kind_of(v))),
        },
        Ty::Enum(words) => {
            let s = text(v)?;
            if words.contains(&s) {
                Ok(Value::from(s))
            } else {
                Err(format!("must be one of {}, got {s:?}", words.join(" | ")))
            }
        }
        Ty::Month => {
            let s = text(v)?;
            let ok = s.len() == 7
                && NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d")
                    .is_ok_and(|d| plausible_year(chrono::Datelike::year(&d)).is_ok());
            if ok {
                Ok(Value::from(s))
            } else {
                Err(format!("must be a month YYYY-MM, got {s:?}"))
            }
        }
        Ty::Attrs => {
            let Value::Object(m) = v else {
                return Err(format!(
                    "must be an object of text values, got {}",
                    kind_of(v)
                ));
            };
            if m.len() > 50 {
                return Err("has more than 50 attributes".into());
            }
            for (k, val) in m {
                if k.trim().is_empty() || k.chars().count() > 40 {
                    return Err(format!("attribute name {k:?} must be 1 to 40 characters"));
                }
                match val {
                    Value::String(s) if s.chars().count() <= 200 => {}
                    _ => return Err(format!("attribute {k:?} must be text up to 200 characters")),
                }
            }
            Ok(v.clone())
        }
        Ty::IdList => {
            let Value::Array(items) = v else {
                return Err(format!("must be a list of ids, got {}", kind_of(v)));
            };
            if items.len() > 100 {
                return Err("has more than 100 ids".into());
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, it) in items.iter().enumerate() {
                out.push(check(Ty::Id, it).map_err(|e| format!("item {i} {e}"))?);
            }
            Ok(Value::Array(out))
        }
        Ty::Lines(_) => Err("lines are validated by the form".into()),
    }
}

use chrono::Datelike as _;

fn plausible_year(y: i32) -> Result<(), String> {
    if (2000..=2100).contains(&y) {
        Ok(())
    } else {
        Err(format!("year {y} is outside 2000..2100"))
    }
}

fn text(v: &Value) -> Result<&str, String> {
    v.as_str()
        .ok_or_else(|| format!("must be text, got {}", kind_of(v)))
}

/// The JSON kind of a value, for messages.
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Parses an instant: RFC 3339 with an offset, or a naive time in Asia/Shanghai.
pub fn instant(s: &str) -> Result<DateTime<Utc>, String> {
    let t = if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        t.with_timezone(&Utc)
    } else {
        let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
            .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
            .map_err(|_| {
                format!(
                    "must be a time like 2026-11-11T08:30:00+08:00 or 2026-11-11 08:30:00 (Asia/Shanghai), got {s:?}"
                )
            })?;
        vocab::time::from_local(naive)
            .ok_or_else(|| format!("{s:?} does not exist in Asia/Shanghai"))?
    };
    plausible_year(t.year())?;
    Ok(t)
}

/// The Asia/Shanghai business date of a normalised instant.
pub fn business_date(ts: &str) -> Result<String, String> {
    let t = instant(ts)?;
    Ok(vocab::time::business_date(t).format("%Y-%m-%d").to_string())
}

/// Money as fen, from decimal text or a JSON number (through its shortest decimal text, and
/// only up to 15 significant digits, where a JSON number is exact).
pub fn money_fen(v: &Value) -> Result<i128, String> {
    let s = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => {
            let s = match n.as_i64() {
                Some(i) => i.to_string(),
                None => format!("{}", n.as_f64().ok_or("is not a number")?),
            };
            let fen = parse_fen(&s)
                .ok_or_else(|| format!("must be an amount with at most two decimals, got {s}"))?;
            if fen.abs() > JSON_NUMBER_MAX_FEN {
                return Err(format!(
                    "{s} has more digits than a JSON number holds exactly; send it as text"
                ));
            }
            return Ok(fen);
        }
        _ => {
            return Err(format!(
                "must be an amount like \"12.30\", got {}",
                kind_of(v)
            ));
        }
    };
    vocab::money::parse_fen(&s).map_err(|e| format!("{s:?} {e}; use an amount like \"12.30\""))
}

/// Money text to fen with the one parser every input shares (`vocab::money`); `None` when it
/// is not an amount with at most two decimals.
pub fn parse_fen(s: &str) -> Option<i128> {
    vocab::money::parse_fen(s).ok()
}

pub use vocab::money::fen_text;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn money_is_exact_from_text_and_numbers() {
        assert_eq!(money_fen(&json!("12.3")), Ok(1230));
        assert_eq!(money_fen(&json!(0.1)), Ok(10));
        assert_eq!(money_fen(&json!(19.99)), Ok(1999));
        assert_eq!(money_fen(&json!("-0.05")), Ok(-5));
        assert!(money_fen(&json!("1.234")).is_err());
        assert!(money_fen(&json!("1e3")).is_err());
        assert!(money_fen(&json!("12.")).is_err());
        assert!(money_fen(&json!(1e20)).is_err());
        assert!(
            money_fen(&json!(123_456_789_012_345_678_i64)).is_err(),
            "beyond a JSON number's exact digits"
        );
        assert_eq!(
            money_fen(&json!("1,234.50")),
            Ok(123_450),
            "the same text a file import accepts"
        );
        assert_eq!(money_fen(&json!("¥8")), Ok(800));
        let msg = money_fen(&json!("1.234")).expect_err("three places");
        assert!(msg.contains("more than 2 decimal places"), "{msg}");
        assert_eq!(fen_text(-5), "-0.05");
    }

    #[test]
    fn instants_read_offsets_and_shanghai_wall_time() {
        let a = check(Ty::Timestamp, &json!("2026-11-11 00:30:00")).expect("naive");
        assert_eq!(a, json!("2026-11-10T16:30:00.000000Z"));
        assert_eq!(
            business_date("2026-11-10T16:30:00Z").as_deref(),
            Ok("2026-11-11")
        );
        assert!(check(Ty::Timestamp, &json!("2026-13-01 00:00:00")).is_err());
        assert!(check(Ty::Date, &json!("1899-01-01")).is_err());
        assert!(check(Ty::Month, &json!("2026-13")).is_err());
        assert!(check(Ty::Month, &json!("2026-02")).is_ok());
    }

    #[test]
    fn ids_and_text_are_bounded() {
        assert!(check(Ty::Id, &json!("A-1")).is_ok());
        assert!(check(Ty::Id, &json!("a b")).is_err());
        assert!(check(Ty::Id, &json!("")).is_err());
        assert!(check(Ty::Text { max: 3 }, &json!("abcd")).is_err());
        assert!(check(Ty::Int { min: 1, max: 5 }, &json!(1.5)).is_err());
        assert!(check(Ty::Int { min: 1, max: 5 }, &json!(0)).is_err());
    }
}
