//! Turning a [`CheckSpec`] into the SQL of one run: parameters filled in, the scope applied.
//!
//! Parameters are numbers (validated when the spec is parsed) or the built-in `as_of` (a date)
//! and `as_of_end_unix` (the end of the as-of day in Asia/Shanghai, as Unix seconds), so no
//! user text is ever spliced into SQL here. The period filter works on the query's
//! `break_date`, a materialised business date, so it never depends on time-zone arithmetic.

use chrono::{Datelike, NaiveDate};

use super::spec::CheckSpec;
use crate::error::{PipelineError, Result};

/// An inclusive range of business days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// `YYYY-MM` → that month; `YYYY-MM-DD..YYYY-MM-DD` → those days; `YYYY` → the year.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || PipelineError::Check {
            check: "--period".into(),
            reason: format!("`{text}` is not YYYY-MM, YYYY or YYYY-MM-DD..YYYY-MM-DD"),
        };
        if let Some((a, b)) = text.split_once("..") {
            let from = NaiveDate::parse_from_str(a, "%Y-%m-%d").map_err(|_| bad())?;
            let to = NaiveDate::parse_from_str(b, "%Y-%m-%d").map_err(|_| bad())?;
            return if from <= to {
                Ok(Period { from, to })
            } else {
                Err(bad())
            };
        }
        if let Ok(y) = text.parse::<i32>() {
            let from = NaiveDate::from_ymd_opt(y, 1, 1).ok_or_else(bad)?;
            let to = NaiveDate::from_ymd_opt(y, 12, 31).ok_or_else(bad)?;
            return Ok(Period { from, to });
        }
        let from =
            NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d").map_err(|_| bad())?;
        let next = if from.month() == 12 {
            NaiveDate::from_ymd_opt(from.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(from.year(), from.month() + 1, 1)
        }
        .ok_or_else(bad)?;
        Ok(Period {
            from,
            to: next.pred_opt().ok_or_else(bad)?,
        })
    }

    pub(crate) fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }
}

pub use vocab::time::end_of_day_unix;

/// The SQL a run executes for `spec`.
pub fn compile(spec: &CheckSpec, as_of: NaiveDate, period: Option<&Period>) -> String {
    let mut sql = String::with_capacity(spec.sql.len() + 128);
    let mut rest = spec.sql.as_str();
    while let Some(i) = rest.find("{{") {
        sql.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(j) = after.find("}}") else {
            sql.push_str(&rest[i..]);
            rest = "";
            break;
        };
        let name = after[..j].trim();
        match name {
            "as_of" => sql.push_str(&as_of.format("%Y-%m-%d").to_string()),
            "as_of_end_unix" => sql.push_str(&end_of_day_unix(as_of).to_string()),
            // Validated at parse time: every other placeholder is a numeric parameter.
            other => sql.push_str(spec.params.get(other).map_or("NULL", String::as_str)),
        }
        rest = &after[j + 2..];
    }
    sql.push_str(rest);
    match period {
        None => sql,
        Some(p) => format!(
            "SELECT * FROM (\n{sql}\n) AS check_rows WHERE break_date >= DATE '{}' AND break_date <= DATE '{}'",
            p.from.format("%Y-%m-%d"),
            p.to.format("%Y-%m-%d")
        ),
    }
}
