//! Demand over time: weekly seasonality, campaign spikes (618, Double 11, Double 12, 3.8) and
//! the hour-of-day curve. Orders per day are split exactly (largest remainder), so the total
//! equals `--orders`.

use chrono::{Datelike, NaiveDate, Weekday};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::clock::{date, days};

/// A campaign in the calendar.
#[derive(Debug, Clone)]
pub(crate) struct Campaign {
    pub id: String,
    pub name: &'static str,
    pub start: i32,
    pub end: i32,
    pub peak: i32,
}

/// Campaigns of every year touching `[first, last]`.
pub(crate) fn campaigns(first: i32, last: i32) -> Vec<Campaign> {
    let mut out = Vec::new();
    for year in date(first).year()..=date(last).year() {
        let d = |m: u32, day: u32| NaiveDate::from_ymd_opt(year, m, day).map(days).unwrap_or(0);
        for (key, name, start, end, peak) in [
            ("38", "三八女神节", d(3, 1), d(3, 8), d(3, 8)),
            ("618", "618年中大促", d(5, 31), d(6, 20), d(6, 18)),
            ("1111", "双十一", d(10, 20), d(11, 12), d(11, 11)),
            ("1212", "双十二", d(12, 8), d(12, 12), d(12, 12)),
        ] {
            if end >= first && start <= last {
                out.push(Campaign {
                    id: format!("C{year}{key}"),
                    name,
                    start,
                    end,
                    peak,
                });
            }
        }
    }
    out
}

/// Relative demand of a day (1.0 = an ordinary Wednesday).
pub(crate) fn day_weight(day: i32, campaigns: &[Campaign]) -> f64 {
    let weekday = match date(day).weekday() {
        Weekday::Mon | Weekday::Tue => 0.94,
        Weekday::Wed | Weekday::Thu => 1.0,
        Weekday::Fri => 1.06,
        Weekday::Sat => 1.16,
        Weekday::Sun => 1.22,
    };
    let mut campaign = 1.0;
    for c in campaigns {
        if day == c.peak {
            campaign = f64::max(campaign, if c.name == "双十一" { 9.0 } else { 4.5 });
        } else if day >= c.start && day <= c.end {
            // The first days of a pre-sale wave are strong, the rest warm.
            let boost = if day - c.start < 3 { 2.2 } else { 1.35 };
            campaign = f64::max(campaign, boost);
        }
    }
    weekday * campaign
}

/// The campaign running on a day, if any.
pub(crate) fn campaign_on(day: i32, campaigns: &[Campaign]) -> Option<&Campaign> {
    campaigns.iter().find(|c| day >= c.start && day <= c.end)
}

/// Splits `total` orders over the days `[first, last]`.
pub(crate) fn orders_per_day(
    total: u64,
    first: i32,
    last: i32,
    campaigns: &[Campaign],
    rng: &mut ChaCha8Rng,
) -> Vec<u64> {
    let weights: Vec<f64> = (first..=last)
        .enumerate()
        .map(|(i, d)| {
            day_weight(d, campaigns) * (1.0 + 0.002 * i as f64) * rng.random_range(0.9..1.1)
        })
        .collect();
    let sum: f64 = weights.iter().sum();
    let exact: Vec<f64> = weights.iter().map(|w| w / sum * total as f64).collect();
    let mut counts: Vec<u64> = exact.iter().map(|e| e.floor() as u64).collect();
    let mut left = total - counts.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    for i in order {
        if left == 0 {
            break;
        }
        counts[i] += 1;
        left -= 1;
    }
    counts
}

/// Hour-of-day weights in Shanghai time. On a campaign peak day the first hour spikes
/// (the midnight rush), which lands on the previous UTC day.
pub(crate) fn hour_weights(peak: bool) -> [f64; 24] {
    let mut w = [
        0.6, 0.35, 0.2, 0.12, 0.1, 0.12, 0.25, 0.5, 0.9, 1.3, 1.6, 1.5, 1.2, 1.3, 1.5, 1.5, 1.4,
        1.3, 1.3, 1.5, 1.8, 2.0, 1.8, 1.2,
    ];
    if peak {
        w[0] = 9.0;
        w[1] = 3.0;
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn split_is_exact_and_double_eleven_spikes() {
        let first = days(NaiveDate::from_ymd_opt(2026, 8, 1).expect("date"));
        let last = days(NaiveDate::from_ymd_opt(2026, 11, 30).expect("date"));
        let cs = campaigns(first, last);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let counts = orders_per_day(1_000_003, first, last, &cs, &mut rng);
        assert_eq!(counts.iter().sum::<u64>(), 1_000_003);
        let d11 = (days(NaiveDate::from_ymd_opt(2026, 11, 11).expect("date")) - first) as usize;
        let median = {
            let mut c = counts.clone();
            c.sort();
            c[c.len() / 2]
        };
        assert!(
            counts[d11] > 5 * median,
            "11.11 {} vs median {median}",
            counts[d11]
        );
    }
}
