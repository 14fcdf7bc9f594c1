//! Time helpers for the generator: instants in microseconds, business dates in Asia/Shanghai.
//!
//! Asia/Shanghai has been UTC+8 without daylight saving since 1991, so a fixed offset is exact
//! for every date the generator produces; a test checks it against chrono-tz across midnight.

use chrono::{Datelike, NaiveDate};

pub(crate) const US_PER_SEC: i64 = 1_000_000;
pub(crate) const US_PER_HOUR: i64 = 3600 * US_PER_SEC;
pub(crate) const US_PER_DAY: i64 = 24 * US_PER_HOUR;
const SHANGHAI_OFFSET_US: i64 = 8 * US_PER_HOUR;

/// Days since 1970-01-01 of a calendar date.
pub(crate) fn days(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - 719_163
}

/// The calendar date of a day number.
pub(crate) fn date(days: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(days + 719_163).unwrap_or_default()
}

/// The instant of Shanghai midnight starting `days`.
pub(crate) fn midnight_us(days: i32) -> i64 {
    i64::from(days) * US_PER_DAY - SHANGHAI_OFFSET_US
}

/// The Shanghai business date of an instant.
pub(crate) fn biz_day(us: i64) -> i32 {
    i32::try_from((us + SHANGHAI_OFFSET_US).div_euclid(US_PER_DAY)).unwrap_or(0)
}

/// `YYYY-MM` of a business day.
pub(crate) fn month_of(days: i32) -> String {
    let d = date(days);
    format!("{:04}-{:02}", d.year(), d.month())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn business_day_matches_chrono_tz_across_midnight() {
        let tz = vocab::BUSINESS_TZ;
        for (y, m, d, h) in [
            (2026, 11, 11, 0),
            (2026, 11, 10, 23),
            (2026, 6, 18, 7),
            (2024, 2, 29, 8),
        ] {
            let local = tz
                .with_ymd_and_hms(y, m, d, h, 30, 0)
                .single()
                .expect("valid");
            let us = local.timestamp_micros();
            assert_eq!(date(biz_day(us)), local.date_naive(), "{local}");
            assert_eq!(
                midnight_us(days(local.date_naive()))
                    + i64::from(h) * US_PER_HOUR
                    + 30 * 60 * US_PER_SEC,
                us
            );
        }
    }
}
