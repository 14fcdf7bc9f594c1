//! The campaign calendar as the model sees it: date ranges with an optional peak day, and
//! dense daily series of units per SKU.

use chrono::{Datelike, Days, NaiveDate};

/// A sales campaign (a row of the `campaigns` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignDays {
    pub id: String,
    pub name: String,
    /// First day (Asia/Shanghai).
    pub start: NaiveDate,
    /// Last day, inclusive.
    pub end: NaiveDate,
    /// The main day, e.g. 11-11.
    pub peak: Option<NaiveDate>,
}

impl CampaignDays {
    /// Whether `d` falls in the campaign.
    pub fn contains(&self, d: NaiveDate) -> bool {
        d >= self.start && d <= self.end
    }

    /// The name without digits and spaces, so "2025双十一" and "双十一" are the same campaign
    /// in different years.
    pub fn key(&self) -> String {
        self.name
            .chars()
            .filter(|c| !c.is_ascii_digit() && !c.is_whitespace())
            .collect()
    }
}

/// What kind of day a date is for the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DayKind {
    /// No campaign.
    Normal,
    /// Inside a campaign, not its peak.
    Wave,
    /// A campaign's peak day.
    Peak,
}

/// The kind of `d` under `campaigns`.
pub(crate) fn day_kind(campaigns: &[CampaignDays], d: NaiveDate) -> DayKind {
    let mut kind = DayKind::Normal;
    for c in campaigns.iter().filter(|c| c.contains(d)) {
        if c.peak == Some(d) {
            return DayKind::Peak;
        }
        kind = DayKind::Wave;
    }
    kind
}

/// Monday = 0 … Sunday = 6.
pub(crate) fn weekday(d: NaiveDate) -> usize {
    d.weekday().num_days_from_monday() as usize
}

/// `d` plus `n` days (saturating at the calendar's end, far beyond any business date).
pub(crate) fn plus(d: NaiveDate, n: usize) -> NaiveDate {
    d.checked_add_days(Days::new(n as u64))
        .unwrap_or(NaiveDate::MAX)
}

/// Daily units per SKU, dense: `units[k][i]` is SKU `k`'s units on day `first + i`.
#[derive(Debug, Clone)]
pub struct History {
    pub first: NaiveDate,
    pub skus: Vec<String>,
    pub units: Vec<Vec<f64>>,
    /// Per SKU (in `skus` order, or empty when unknown), the sorted day indexes that began
    /// with no stock: their zero sales say nothing about demand.
    pub out_of_stock: Vec<Vec<usize>>,
}

impl History {
    /// Number of days (every series has this length).
    pub fn days(&self) -> usize {
        self.units.first().map_or(0, Vec::len)
    }

    /// The date of day index `i`.
    pub fn date(&self, i: usize) -> NaiveDate {
        plus(self.first, i)
    }

    /// The first `n` days only (for a backtest).
    pub fn head(&self, n: usize) -> History {
        History {
            first: self.first,
            skus: self.skus.clone(),
            units: self
                .units
                .iter()
                .map(|u| u[..n.min(u.len())].to_vec())
                .collect(),
            out_of_stock: self
                .out_of_stock
                .iter()
                .map(|o| o.iter().copied().filter(|&i| i < n).collect())
                .collect(),
        }
    }
}
