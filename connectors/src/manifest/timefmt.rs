//! Time formats of manifests: `rfc3339`, `unix`, `unix_ms`, or a chrono pattern read as
//! Asia/Shanghai wall-clock time (e.g. `%Y-%m-%d %H:%M:%S`).
//!
//! Window ends are Shanghai wall-clock times; [`TimeFormat::write`] turns them into a
//! platform's parameter text, [`TimeFormat::read`] turns a record's value into a UTC instant.

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;
use vocab::BUSINESS_TZ as Shanghai;

/// A parsed time format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TimeFormat {
    Rfc3339,
    Unix,
    UnixMs,
    /// A chrono pattern, wall-clock time in Asia/Shanghai.
    Pattern(String),
}

impl TimeFormat {
    /// Parses a format name; an error names the text.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        Ok(match text {
            "rfc3339" => TimeFormat::Rfc3339,
            "unix" => TimeFormat::Unix,
            "unix_ms" => TimeFormat::UnixMs,
            p if p.contains('%') && !StrftimeItems::new(p).any(|i| matches!(i, Item::Error)) => {
                TimeFormat::Pattern(p.to_string())
            }
            other => {
                return Err(format!(
                    "`{other}` is not a time format (rfc3339, unix, unix_ms or a chrono pattern such as %Y-%m-%d %H:%M:%S)"
                ));
            }
        })
    }

    /// A Shanghai wall-clock time as this format's text.
    pub(crate) fn write(&self, t: NaiveDateTime) -> String {
        let at = shanghai(t);
        match self {
            TimeFormat::Rfc3339 => at.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
            TimeFormat::Unix => at.timestamp().to_string(),
            TimeFormat::UnixMs => at.timestamp_millis().to_string(),
            TimeFormat::Pattern(p) => t.format(p).to_string(),
        }
    }

    /// A JSON value (text, or a number for the Unix formats) as an instant.
    pub(crate) fn read(&self, v: &Value) -> Result<DateTime<Utc>, String> {
        let text = match v {
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            other => return Err(format!("{other} is not a time")),
        };
        let bad = || format!("{text:?} is not a time in the format {}", self.name());
        match self {
            TimeFormat::Rfc3339 => DateTime::<FixedOffset>::parse_from_rfc3339(&text)
                .map(|d| d.with_timezone(&Utc))
                .map_err(|_| bad()),
            TimeFormat::Unix => text
                .parse::<i64>()
                .ok()
                .and_then(|s| DateTime::from_timestamp(s, 0))
                .ok_or_else(bad),
            TimeFormat::UnixMs => text
                .parse::<i64>()
                .ok()
                .and_then(DateTime::from_timestamp_millis)
                .ok_or_else(bad),
            TimeFormat::Pattern(p) => NaiveDateTime::parse_from_str(&text, p)
                .ok()
                .and_then(|n| Shanghai.from_local_datetime(&n).earliest())
                .map(|d| d.with_timezone(&Utc))
                .ok_or_else(bad),
        }
    }

    fn name(&self) -> &str {
        match self {
            TimeFormat::Rfc3339 => "rfc3339",
            TimeFormat::Unix => "unix",
            TimeFormat::UnixMs => "unix_ms",
            TimeFormat::Pattern(p) => p,
        }
    }
}

/// A Shanghai wall-clock time as an instant (the earlier one if ambiguous; Shanghai has no DST).
pub(crate) fn shanghai(t: NaiveDateTime) -> DateTime<chrono_tz::Tz> {
    Shanghai
        .from_local_datetime(&t)
        .earliest()
        .unwrap_or_else(|| Shanghai.from_utc_datetime(&t))
}

/// Days since 1970-01-01 of an instant's Asia/Shanghai date.
pub(crate) fn shanghai_days(at: DateTime<Utc>) -> i32 {
    let day = at.with_timezone(&Shanghai).date_naive();
    let epoch = chrono::NaiveDate::default(); // 1970-01-01
    i32::try_from((day - epoch).num_days()).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("time")
    }

    #[test]
    fn window_ends_are_written_in_each_format() {
        let at = t("2026-11-01 08:00:00");
        assert_eq!(
            TimeFormat::parse("rfc3339").expect("f").write(at),
            "2026-11-01T08:00:00+08:00"
        );
        assert_eq!(
            TimeFormat::parse("unix").expect("f").write(at),
            "1793491200"
        );
        assert_eq!(
            TimeFormat::parse("unix_ms").expect("f").write(at),
            "1793491200000"
        );
        assert_eq!(
            TimeFormat::parse("%Y-%m-%d %H:%M:%S").expect("f").write(at),
            "2026-11-01 08:00:00"
        );
    }

    #[test]
    fn values_are_read_as_instants_and_shanghai_days() {
        let expect = DateTime::from_timestamp(1_793_491_200, 0).expect("t");
        for (f, v) in [
            ("rfc3339", json!("2026-11-01T08:00:00+08:00")),
            ("rfc3339", json!("2026-11-01T00:00:00Z")),
            ("unix", json!(1_793_491_200)),
            ("unix", json!("1793491200")),
            ("unix_ms", json!(1_793_491_200_000_i64)),
            ("%Y-%m-%d %H:%M:%S", json!("2026-11-01 08:00:00")),
        ] {
            assert_eq!(
                TimeFormat::parse(f).expect("f").read(&v),
                Ok(expect),
                "{f} {v}"
            );
        }
        // 2026-10-31 23:30 UTC is already Nov 1st in Shanghai.
        let late = DateTime::from_timestamp(1_793_489_400, 0).expect("t");
        assert_eq!(
            shanghai_days(late),
            i32::try_from(
                (chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("d")
                    - chrono::NaiveDate::default())
                .num_days()
            )
            .expect("days")
        );
    }

    #[test]
    fn bad_formats_and_values_are_named() {
        assert!(TimeFormat::parse("iso").expect_err("bad").contains("`iso`"));
        assert!(TimeFormat::parse("%Y-%Q").is_err());
        let e = TimeFormat::Rfc3339
            .read(&json!("2026-11-01 08:00"))
            .expect_err("bad");
        assert!(
            e.contains("2026-11-01 08:00") && e.contains("rfc3339"),
            "{e}"
        );
    }
}
