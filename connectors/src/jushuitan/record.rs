//! Reading one Jushuitan record (any endpoint) field by field, with errors that name the
//! record and the field. Ids, amounts and flags are read tolerantly ([`crate::tolerant`]):
//! amounts exactly into fen, times as Asia/Shanghai wall clock.

use serde_json::Value;

use crate::tolerant;
use vocab::time::parse_platform_time as shanghai_time;

/// A record that could not be mapped: which record, which field, why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Jushuitan {kind} {id}: field `{field}`: {reason}")]
pub struct RecordError {
    /// What the record is, e.g. `after-sale`.
    pub(crate) kind: &'static str,
    pub(crate) id: String,
    pub(crate) field: String,
    pub(crate) reason: String,
}

/// One record (or one of its child objects), with the identity errors are reported under.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Doc<'a> {
    pub(crate) v: &'a Value,
    pub(crate) kind: &'static str,
    pub(crate) id: &'a str,
    /// Prefix of field names in errors, e.g. `items[].` for a line.
    pub(crate) at: &'static str,
}

impl<'a> Doc<'a> {
    pub(crate) fn new(v: &'a Value, kind: &'static str, id: &'a str) -> Self {
        Self {
            v,
            kind,
            id,
            at: "",
        }
    }

    /// A child object (a line) reported as `<at><field>` under the same record.
    pub(crate) fn child(&self, v: &'a Value, at: &'static str) -> Doc<'a> {
        Doc { v, at, ..*self }
    }

    /// The children under `field` (an absent list is empty).
    pub(crate) fn list(&self, field: &str) -> &'a [Value] {
        self.v
            .get(field)
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice)
    }

    pub(crate) fn err(&self, field: &str, reason: impl Into<String>) -> RecordError {
        RecordError {
            kind: self.kind,
            id: self.id.to_string(),
            field: format!("{}{field}", self.at),
            reason: reason.into(),
        }
    }

    pub(crate) fn text(&self, field: &str) -> Option<String> {
        tolerant::text(self.v.get(field))
    }

    pub(crate) fn need_text(&self, field: &str) -> Result<String, RecordError> {
        self.text(field)
            .ok_or_else(|| self.err(field, "is missing"))
    }

    pub(crate) fn need_id(&self, field: &str) -> Result<String, RecordError> {
        tolerant::id(self.v.get(field)).ok_or_else(|| self.err(field, "is missing"))
    }

    /// `jst:<id>` of a required id field.
    pub(crate) fn jst_id(&self, field: &str) -> Result<String, RecordError> {
        Ok(format!("jst:{}", self.need_id(field)?))
    }

    pub(crate) fn int(&self, field: &str) -> Result<Option<i64>, RecordError> {
        match self.v.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            v => tolerant::int(v).map(Some).ok_or_else(|| {
                self.err(
                    field,
                    format!("{} is not a whole number", v.unwrap_or(&Value::Null)),
                )
            }),
        }
    }

    /// Money in fen; absent or `""` is `None`.
    pub(crate) fn money(&self, field: &str) -> Result<Option<i64>, RecordError> {
        tolerant::fen(self.v.get(field)).map_err(|e| self.err(field, e))
    }

    /// `(UTC micros, Shanghai day)` of a `yyyy-MM-dd HH:mm:ss` field; absent is `None`.
    pub(crate) fn time(&self, field: &str) -> Result<Option<(i64, i32)>, RecordError> {
        match self.text(field) {
            None => Ok(None),
            Some(t) => shanghai_time(&t)
                .map(Some)
                .ok_or_else(|| self.err(field, format!("{t:?} is not yyyy-MM-dd HH:mm:ss"))),
        }
    }

    pub(crate) fn need_time(&self, field: &str) -> Result<(i64, i32), RecordError> {
        self.time(field)?
            .ok_or_else(|| self.err(field, "is missing"))
    }

    /// A weight in kilograms (up to 3 decimals) as whole grams; absent is `None`.
    pub(crate) fn grams(&self, field: &str) -> Result<Option<i64>, RecordError> {
        let text = match self.v.get(field) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
            Some(Value::String(s)) => s.trim().to_string(),
            Some(Value::Number(n)) => n.to_string(),
            Some(other) => return Err(self.err(field, format!("{other} is not a weight"))),
        };
        let raw = vocab::money::parse_decimal(&text, 3)
            .map_err(|r| self.err(field, format!("{text:?} {r}")))?;
        i64::try_from(raw)
            .map(Some)
            .map_err(|_| self.err(field, format!("{text:?} is too large")))
    }
}

/// A record's version from its `modified` time (for endpoints without a rowversion).
pub(crate) fn modified_version(v: &Value) -> i64 {
    tolerant::text(v.get("modified"))
        .and_then(|t| shanghai_time(&t))
        .map_or(i64::MIN, |(micros, _)| micros)
}
