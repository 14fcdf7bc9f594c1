//! Business time: every business date is an Asia/Shanghai calendar day, and naive wall-clock
//! text from a platform, a file or a form is Shanghai time. Instants are stored in UTC.
//!
//! Asia/Shanghai has had no daylight saving since 1991, so a wall-clock time maps to exactly
//! one instant; the functions still take the earliest mapping rather than assume it.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// The business time zone.
pub const BUSINESS_TZ: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

/// The instant of a Shanghai wall-clock time.
pub fn from_local(naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    BUSINESS_TZ
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// The Shanghai wall-clock time of an instant.
pub fn to_local(at: DateTime<Utc>) -> NaiveDateTime {
    at.with_timezone(&BUSINESS_TZ).naive_local()
}

/// The business date an instant belongs to.
pub fn business_date(at: DateTime<Utc>) -> NaiveDate {
    to_local(at).date()
}

/// Days since 1970-01-01 (a `Date32` value).
pub fn epoch_days(day: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(NaiveDate::MIN);
    i32::try_from((day - epoch).num_days()).unwrap_or(i32::MAX)
}

/// The end of `day` (the next Shanghai midnight) as Unix seconds.
pub fn end_of_day_unix(day: NaiveDate) -> i64 {
    let next = day.succ_opt().unwrap_or(day);
    from_local(next.and_time(NaiveTime::MIN)).map_or(0, |t| t.timestamp())
}

/// `yyyy-MM-dd HH:mm:ss` Shanghai wall-clock text (the platforms' format) → (UTC
/// microseconds, Shanghai days since the epoch).
pub fn parse_platform_time(text: &str) -> Option<(i64, i32)> {
    let naive = NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S").ok()?;
    let at = from_local(naive)?;
    Some((at.timestamp_micros(), epoch_days(naive.date())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shanghai_midnight_is_sixteen_hundred_utc_the_day_before() {
        let (micros, day) = parse_platform_time("2026-11-11 00:30:00").expect("valid");
        let at = DateTime::from_timestamp_micros(micros).expect("in range");
        assert_eq!(at.to_rfc3339(), "2026-11-10T16:30:00+00:00");
        let d = NaiveDate::from_ymd_opt(2026, 11, 11).expect("date");
        assert_eq!(day, epoch_days(d));
        assert_eq!(business_date(at), d);
        assert_eq!(to_local(at).to_string(), "2026-11-11 00:30:00");
        assert_eq!(
            end_of_day_unix(d),
            DateTime::parse_from_rfc3339("2026-11-11T16:00:00Z")
                .expect("rfc3339")
                .timestamp()
        );
        assert!(parse_platform_time("2026-11-11T00:30:00").is_none());
    }
}
