//! Cell → typed value conversion, the same for every file format.
//!
//! Money is parsed from text exactly (never through a float) by the one parser every input
//! shares (`vocab::money`): `12.3`, `-0.05`, `1,234.50`, `¥8` are accepted; a third decimal
//! place is an error, not a rounding. Spreadsheet numbers
//! are floats in the file format, so they are turned into their shortest decimal text first
//! (what the user saw) and parsed from that. Whole numbers group thousands the same way
//! (`1,234`; `1,2,3` is an error). Naive date-times are Asia/Shanghai wall-clock. Text may not
//! hold NUL or other control characters (tab and line breaks excepted), and a cell whose bytes
//! are not text ([`Cell::Invalid`]) is an error in any column.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};

/// One cell as read from a file.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    DateTime(NaiveDateTime),
    /// A cell that holds no usable value: bytes that are neither UTF-8 nor GBK text, a
    /// spreadsheet error (`#DIV/0!`). `shown` is what messages print; `reason` why it is bad.
    Invalid {
        shown: String,
        reason: String,
    },
}

impl Cell {
    /// The cell as the user would see it, for error messages and reject files.
    pub fn display(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Float(f) => f.to_string(),
            Cell::Bool(b) => b.to_string(),
            Cell::DateTime(d) => d.format("%Y-%m-%d %H:%M:%S").to_string(),
            Cell::Invalid { shown, .. } => shown.clone(),
        }
    }

    /// Whether the cell holds nothing (empty or blank text).
    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }
}

/// Why a cell cannot be read at all, whatever its column: its bytes are not text, or its text
/// holds a NUL or another control character (tab, line feed and carriage return are text).
pub(crate) fn unreadable(c: &Cell) -> Option<String> {
    match c {
        Cell::Invalid { reason, .. } => Some(reason.clone()),
        Cell::Text(s) => s
            .chars()
            .find(|ch| ch.is_control() && !matches!(ch, '\t' | '\n' | '\r'))
            .map(|ch| {
                if ch == '\0' {
                    "contains a NUL character (U+0000)".to_string()
                } else {
                    format!("contains the control character U+{:04X}", u32::from(ch))
                }
            }),
        _ => None,
    }
}

pub(crate) fn to_text(c: &Cell) -> String {
    match c {
        Cell::Text(s) => s.trim().to_string(),
        other => other.display(),
    }
}

/// The hint added when a number's commas are not thousands groups.
const GROUPING: &str = "a comma must group thousands, as in 1,234";

pub(crate) fn to_i64(c: &Cell) -> Result<i64, String> {
    match c {
        Cell::Int(i) => Ok(*i),
        Cell::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(*f as i64),
        Cell::Float(f) => Err(format!("{f} is not a whole number")),
        Cell::Text(s) => vocab::money::parse_whole(s).map_err(|e| match e {
            vocab::money::DecimalError::TooLarge => "is too large for a whole number".into(),
            _ if s.contains(',') => format!("is not a whole number ({GROUPING})"),
            _ => "is not a whole number".into(),
        }),
        _ => Err("is not a whole number".into()),
    }
}

/// Parses a decimal into its raw value at `scale` (fen for money).
pub(crate) fn to_decimal(c: &Cell, scale: i8) -> Result<i128, String> {
    let text = match c {
        Cell::Int(i) => i.to_string(),
        Cell::Float(f) if f.is_finite() => f.to_string(),
        Cell::Text(s) => s.trim().to_string(),
        _ => return Err("is not a number".into()),
    };
    vocab::money::parse_decimal(&text, scale).map_err(|e| match e {
        vocab::money::DecimalError::Malformed if text.contains(',') => {
            format!("{e} ({GROUPING}.50)")
        }
        e => e.to_string(),
    })
}

pub(crate) fn to_bool(c: &Cell) -> Result<bool, String> {
    match c {
        Cell::Bool(b) => Ok(*b),
        Cell::Int(0) => Ok(false),
        Cell::Int(1) => Ok(true),
        Cell::Float(f) if *f == 0.0 || *f == 1.0 => Ok(*f == 1.0),
        Cell::Text(s) => match s.trim().to_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" | "是" => Ok(true),
            "false" | "f" | "no" | "n" | "0" | "否" => Ok(false),
            _ => Err("is not true/false".into()),
        },
        _ => Err("is not true/false".into()),
    }
}

const DATE_FORMATS: &[&str] = &["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d"];
const DATETIME_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
];

/// Days since 1970-01-01.
pub(crate) fn to_date32(c: &Cell) -> Result<i32, String> {
    let date = match c {
        Cell::DateTime(d) => d.date(),
        Cell::Text(s) => {
            let s = s.trim();
            DATE_FORMATS
                .iter()
                .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
                .ok_or_else(|| "is not a date (use YYYY-MM-DD)".to_string())?
        }
        _ => return Err("is not a date (use YYYY-MM-DD)".into()),
    };
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).ok_or("calendar error")?;
    i32::try_from((date - epoch).num_days()).map_err(|_| "date out of range".into())
}

/// Microseconds since the epoch (UTC). Text with an offset is taken as written; naive text and
/// spreadsheet date-times are Asia/Shanghai wall-clock.
pub(crate) fn to_timestamp_us(c: &Cell) -> Result<i64, String> {
    let bad =
        || "is not a date-time (use YYYY-MM-DD HH:MM:SS, Asia/Shanghai, or RFC 3339)".to_string();
    let naive = match c {
        Cell::DateTime(d) => *d,
        Cell::Text(s) => {
            let s = s.trim();
            if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
                return Ok(dt.timestamp_micros());
            }
            match DATETIME_FORMATS
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
            {
                Some(d) => d,
                None => {
                    let d = DATE_FORMATS
                        .iter()
                        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
                        .ok_or_else(bad)?;
                    d.and_time(NaiveTime::MIN)
                }
            }
        }
        _ => return Err(bad()),
    };
    vocab::BUSINESS_TZ
        .from_local_datetime(&naive)
        .single()
        .map(|d| d.timestamp_micros())
        .ok_or_else(bad)
}
