//! Time grains: how a metric's business `date` (a Date32 Asia/Shanghai column) is bucketed.
//!
//! Buckets are computed from the date column only, never from a timestamp: `day` is the date
//! itself, `month` is `YYYY-MM` text and `year` is `YYYY` text (both via `to_char`).

use super::MetricsError;

/// A time bucket for a metric's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Grain {
    Day,
    Month,
    Year,
    /// One bucket for the whole period.
    #[default]
    None,
}

impl Grain {
    /// The names accepted on the command line.
    pub const NAMES: &[&str] = &["day", "month", "year", "none"];

    /// Parses `day`, `month`, `year` or `none`.
    pub fn parse(s: &str) -> Result<Grain, MetricsError> {
        match s {
            "day" => Ok(Grain::Day),
            "month" => Ok(Grain::Month),
            "year" => Ok(Grain::Year),
            "none" => Ok(Grain::None),
            _ => Err(MetricsError::UnknownGrain { grain: s.into() }),
        }
    }

    /// The result column of the bucket, if any.
    pub fn column(self) -> Option<&'static str> {
        match self {
            Grain::Day => Some("day"),
            Grain::Month => Some("month"),
            Grain::Year => Some("year"),
            Grain::None => None,
        }
    }

    /// The bucket expression over the date column `date` (qualified by the caller).
    pub fn expr(self, date: &str) -> Option<String> {
        match self {
            Grain::Day => Some(date.to_string()),
            Grain::Month => Some(format!("to_char({date}, '%Y-%m')")),
            Grain::Year => Some(format!("to_char({date}, '%Y')")),
            Grain::None => None,
        }
    }
}
