//! The demand model: pure arithmetic on daily series, no I/O, deterministic.
//!
//! In plain words, a SKU's forecast for a future day is
//!
//! ```text
//! level × trend × weekday factor × campaign uplift
//! ```
//!
//! - **Level**: the SKU's mean daily units over its last 84 campaign-free days, each day first
//!   divided by its weekday factor (de-seasonalised). Days far above the mean (more than four
//!   Poisson standard deviations, e.g. one bulk order) are capped before the final mean.
//!   Days that began out of stock are left out (here and for the weekday factors): their
//!   zeros are missing sales, not missing demand.
//! - **Trend**: one growth rate for the whole shop, the least-squares slope of the
//!   de-seasonalised campaign-free daily total over the last 112 days, relative to its mean,
//!   clamped to ±0.5 % a day. It moves the level from the middle of its window to the
//!   forecast day.
//! - **Weekday factors**: estimated first for the shop's total (each campaign-free day
//!   divided by the centred 7-day mean around it, averaged per weekday and shrunk toward 1),
//!   then per SKU as its weekday mean over its overall mean, shrunk toward the shop's factors
//!   with a weight `units / (units + 200)`: a SKU that sells little simply gets the shop's
//!   pattern. Factors average 1 over the week.
//! - **Campaign uplift** (the annual seasonality): for every campaign in the history, the
//!   shop's daily total on each campaign day divided by what a normal day would have sold
//!   (the de-seasonalised level of the campaign-free days around the campaign, times the
//!   weekday factor, moved along the shop trend). A future campaign day takes the ratio of the
//!   same day of the same campaign last year (same name without digits, started 330–400 days
//!   earlier; peak aligned with peak, other days by their offset from the start; non-peak
//!   days smoothed by a running median of three, which drops a single odd day but keeps a
//!   strong opening). When last year is not in the history, it takes pooled factors of the
//!   past campaigns: for a peak, the median of their peak ratios; for another day, the median
//!   ratio of that day of campaign (first day, second day, …) over the past campaigns that
//!   have it, else that of the latest earlier day of campaign that has one (a plateau carries
//!   on), else the median of the campaigns' average wave ratios. With no peak in the history,
//!   a peak is taken as strong as the strongest campaign day seen (a floor, surely low). Medians, so one outsized
//!   campaign (Double 11) does not set the level for the others. The uplift is pooled across
//!   SKUs: one SKU's campaign days are too few to estimate it alone.
//!   A campaign's "normal day" uses the campaign-free days within 28 days before and after it
//!   (whichever the history has), so a campaign that began before the history still counts
//!   for the days it covers.
//!
//! The same residuals (units − level × weekday factor on the level window's days) give each
//! SKU's daily standard deviation, which the suggestion turns into safety stock.

use chrono::NaiveDate;

use super::ForecastError;
use super::calendar::{CampaignDays, DayKind, History, day_kind, plus, weekday};

/// Tuning of the model (the defaults are the documented model).
#[derive(Debug, Clone)]
pub struct ModelConfig {
    /// Campaign-free days the level averages over.
    pub level_days: usize,
    /// Calendar days the shop trend is fitted on.
    pub trend_days: usize,
    /// Largest trend, as a fraction per day, either way.
    pub max_trend_per_day: f64,
    /// Prior strength, in units, pulling a SKU's weekday factor toward the shop's.
    pub sku_weekday_prior_units: f64,
    /// Prior strength, in days, pulling the shop's weekday factors toward 1.
    pub shop_weekday_prior_days: f64,
    /// Days before and after a campaign whose campaign-free days give its baseline.
    pub campaign_baseline_days: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            level_days: 84,
            trend_days: 112,
            max_trend_per_day: 0.005,
            sku_weekday_prior_units: 200.0,
            shop_weekday_prior_days: 4.0,
            campaign_baseline_days: 28,
        }
    }
}

/// One SKU's fitted parameters.
#[derive(Debug, Clone)]
pub struct SkuFit {
    /// De-seasonalised units per day at `center` (a day index of the history).
    pub level: f64,
    /// The middle of the level window, as a (fractional) day index.
    pub center: f64,
    /// Weekday factors, Monday first, averaging 1.
    pub weekday: [f64; 7],
    /// Standard deviation of daily units around the fitted normal-day demand.
    pub sigma: f64,
}

/// A past campaign's observed uplift per day.
#[derive(Debug, Clone)]
struct Observed {
    campaign: CampaignDays,
    /// `(date, ratio of units to a normal day)` for the campaign days in the history.
    ratios: Vec<(NaiveDate, f64)>,
}

impl Observed {
    fn ratio(&self, d: NaiveDate) -> Option<f64> {
        self.ratios.iter().find(|(x, _)| *x == d).map(|(_, r)| *r)
    }
}

/// A fitted model, ready to forecast the days after its history.
#[derive(Debug, Clone)]
pub struct Model {
    /// The first day after the history (day index `days`).
    pub next_day: NaiveDate,
    days: usize,
    pub skus: Vec<String>,
    pub fits: Vec<SkuFit>,
    /// The shop's weekday factors, Monday first.
    pub shop_weekday: [f64; 7],
    /// The shop's growth per day.
    pub trend: f64,
    /// Pooled uplift of campaign peak days.
    pub peak_uplift: f64,
    /// Pooled uplift of the other campaign days.
    pub wave_uplift: f64,
    /// Pooled uplift by day of campaign (0 = first day), where a past campaign has it.
    pub profile: Vec<Option<f64>>,
    campaigns: Vec<CampaignDays>,
    observed: Vec<Observed>,
    /// `uplift` of the days after the history, from `next_day`.
    uplift_ahead: Vec<f64>,
}

/// Fits the model on `history` with the campaign calendar `campaigns` (past and future).
pub fn fit(
    history: &History,
    campaigns: &[CampaignDays],
    cfg: &ModelConfig,
) -> Result<Model, ForecastError> {
    let n = history.days();
    if n == 0 || history.skus.is_empty() {
        return Err(ForecastError::NoHistory);
    }
    let dates: Vec<NaiveDate> = (0..n).map(|i| history.date(i)).collect();
    let kinds: Vec<DayKind> = dates.iter().map(|d| day_kind(campaigns, *d)).collect();
    let normal = |i: usize| kinds[i] == DayKind::Normal;
    let total: Vec<f64> = (0..n)
        .map(|i| history.units.iter().map(|u| u[i]).sum())
        .collect();

    let shop_weekday = shop_weekday(&total, &dates, &normal, cfg);
    let fits = history
        .units
        .iter()
        .enumerate()
        .map(|(k, u)| {
            let mut stocked = vec![true; n];
            for &i in history.out_of_stock.get(k).map_or(&[][..], Vec::as_slice) {
                if let Some(s) = stocked.get_mut(i) {
                    *s = false;
                }
            }
            let usable = |i: usize| normal(i) && stocked[i];
            fit_sku(u, &dates, &usable, &shop_weekday, cfg)
        })
        .collect();
    let trend = shop_trend(&total, &dates, &normal, &shop_weekday, cfg);

    // Campaign uplift observed in the history.
    let mut observed = Vec::new();
    let (mut peaks, mut waves) = (Vec::new(), Vec::new());
    for c in campaigns {
        // Campaign days in the history (a campaign may have begun before it).
        let Some(start) = index_of(history.first, c.start.max(history.first)) else {
            continue;
        };
        let end = index_of(history.first, c.end).map_or(0, |e| (e + 1).min(n));
        if start >= end {
            continue;
        }
        // Its baseline: the normal days within `campaign_baseline_days` before and after it.
        let before = index_of(history.first, c.start).map_or(0..0, |s| {
            s.saturating_sub(cfg.campaign_baseline_days)..s.min(n)
        });
        let after = end..(end + cfg.campaign_baseline_days).min(n);
        let pre: Vec<(usize, f64)> = before
            .chain(after)
            .filter(|&i| normal(i))
            .map(|i| (i, total[i] / shop_weekday[weekday(dates[i])]))
            .collect();
        if pre.len() < 7 {
            continue;
        }
        let base = pre.iter().map(|p| p.1).sum::<f64>() / pre.len() as f64;
        let center = pre.iter().map(|p| p.0 as f64).sum::<f64>() / pre.len() as f64;
        if base <= 0.0 {
            continue;
        }
        let mut raw = Vec::new();
        let (mut wave_num, mut wave_den) = (0.0, 0.0);
        for i in start..end {
            let drift = (1.0 + trend * (i as f64 - center)).clamp(0.5, 2.0);
            let expected = base * drift * shop_weekday[weekday(dates[i])];
            raw.push((dates[i], total[i] / expected));
            if c.peak == Some(dates[i]) {
                peaks.push(total[i] / expected);
            } else {
                wave_num += total[i];
                wave_den += expected;
            }
        }
        if wave_den > 0.0 {
            waves.push(wave_num / wave_den);
        }
        let ratios = smooth_waves(&raw, c.peak);
        observed.push(Observed {
            campaign: c.clone(),
            ratios,
        });
    }
    let wave_uplift = median(&mut waves).unwrap_or(1.0);
    // The pooled profile by day of campaign (a campaign that began before the history
    // still gives the days it has).
    let longest = observed
        .iter()
        .map(|o| (o.campaign.end - o.campaign.start).num_days() + 1)
        .max()
        .unwrap_or(0);
    let mut profile = Vec::new();
    for offset in 0..usize::try_from(longest).unwrap_or(0) {
        let mut at: Vec<f64> = observed
            .iter()
            .filter_map(|o| {
                let d = plus(o.campaign.start, offset);
                if d > o.campaign.end || o.campaign.peak == Some(d) {
                    return None;
                }
                o.ratio(d)
            })
            .collect();
        profile.push(median(&mut at));
    }
    let mut model = Model {
        next_day: plus(history.first, n),
        days: n,
        skus: history.skus.clone(),
        fits,
        shop_weekday,
        trend,
        // Without a past peak, a peak is taken as strong as the strongest other day seen.
        peak_uplift: median(&mut peaks).unwrap_or_else(|| {
            profile
                .iter()
                .flatten()
                .copied()
                .fold(wave_uplift, f64::max)
                .max(1.0)
        }),
        wave_uplift,
        profile,
        campaigns: campaigns.to_vec(),
        observed,
        uplift_ahead: Vec::new(),
    };
    model.uplift_ahead = (0..UPLIFT_CACHE_DAYS)
        .map(|h| model.uplift(plus(model.next_day, h)))
        .collect();
    Ok(model)
}

/// Days after the history whose uplift is computed once at fit time (shared by every SKU).
const UPLIFT_CACHE_DAYS: usize = 400;

/// A running median of three over a campaign's non-peak days: one noisy day is ignored,
/// while a step (strong opening days, then a plateau) is kept.
fn smooth_waves(raw: &[(NaiveDate, f64)], peak: Option<NaiveDate>) -> Vec<(NaiveDate, f64)> {
    let wave = |j: usize| raw.get(j).filter(|(d, _)| Some(*d) != peak).map(|r| r.1);
    raw.iter()
        .enumerate()
        .map(|(j, &(d, r))| {
            if Some(d) == peak {
                return (d, r);
            }
            let mut v: Vec<f64> = [j.checked_sub(1).and_then(wave), Some(r), wave(j + 1)]
                .into_iter()
                .flatten()
                .collect();
            v.sort_by(f64::total_cmp);
            // At a campaign's edge (or next to its peak) the day stands as observed.
            let m = if v.len() == 3 { v[1] } else { r };
            (d, m)
        })
        .collect()
}

/// The median (the mean of the middle two for an even count); None when empty.
fn median(v: &mut [f64]) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

fn index_of(first: NaiveDate, d: NaiveDate) -> Option<usize> {
    usize::try_from((d - first).num_days()).ok()
}

/// The shop's weekday factors from its daily total.
fn shop_weekday(
    total: &[f64],
    dates: &[NaiveDate],
    normal: &dyn Fn(usize) -> bool,
    cfg: &ModelConfig,
) -> [f64; 7] {
    let mut sum = [0.0; 7];
    let mut count = [0.0; 7];
    for i in 3..total.len().saturating_sub(3) {
        if !(i - 3..=i + 3).all(normal) {
            continue;
        }
        let around = total[i - 3..=i + 3].iter().sum::<f64>() / 7.0;
        if around > 0.0 {
            let w = weekday(dates[i]);
            sum[w] += total[i] / around;
            count[w] += 1.0;
        }
    }
    let k = cfg.shop_weekday_prior_days;
    normalise(std::array::from_fn(|w| (sum[w] + k) / (count[w] + k)))
}

/// Scales factors to average 1 (all ones when they are all zero).
fn normalise(f: [f64; 7]) -> [f64; 7] {
    let mean = f.iter().sum::<f64>() / 7.0;
    if mean > 0.0 {
        f.map(|x| x / mean)
    } else {
        [1.0; 7]
    }
}

/// Fits one SKU on the days `usable` says (campaign-free, in stock).
fn fit_sku(
    units: &[f64],
    dates: &[NaiveDate],
    normal: &dyn Fn(usize) -> bool,
    shop: &[f64; 7],
    cfg: &ModelConfig,
) -> SkuFit {
    // Weekday factors, shrunk toward the shop's.
    let mut sum = [0.0; 7];
    let mut count = [0.0; 7];
    for (i, u) in units.iter().enumerate().filter(|(i, _)| normal(*i)) {
        let w = weekday(dates[i]);
        sum[w] += u;
        count[w] += 1.0;
    }
    let all = sum.iter().sum::<f64>() / count.iter().sum::<f64>().max(1.0);
    let k = cfg.sku_weekday_prior_units;
    let weekday_f = normalise(std::array::from_fn(|w| {
        if all <= 0.0 || count[w] == 0.0 {
            return shop[w];
        }
        let own = sum[w] / count[w] / all;
        let weight = sum[w] / (sum[w] + k);
        weight * own + (1.0 - weight) * shop[w]
    }));

    // The level window: the last `level_days` campaign-free days (any days if there are none).
    let mut window: Vec<usize> = (0..units.len())
        .rev()
        .filter(|&i| normal(i))
        .take(cfg.level_days)
        .collect();
    if window.is_empty() {
        window = (0..units.len()).rev().take(cfg.level_days).collect();
    }
    let values: Vec<f64> = window
        .iter()
        .map(|&i| units[i] / weekday_f[weekday(dates[i])])
        .collect();
    let len = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / len;
    let cap = mean + 4.0 * mean.max(1.0).sqrt();
    let level = values.iter().map(|v| v.min(cap)).sum::<f64>() / len;
    let center = window.iter().sum::<usize>() as f64 / len;
    let var = window
        .iter()
        .map(|&i| (units[i] - level * weekday_f[weekday(dates[i])]).powi(2))
        .sum::<f64>()
        / len;
    SkuFit {
        level,
        center,
        weekday: weekday_f,
        sigma: var.sqrt(),
    }
}

/// The shop's relative growth per day (least squares on de-seasonalised normal days).
fn shop_trend(
    total: &[f64],
    dates: &[NaiveDate],
    normal: &dyn Fn(usize) -> bool,
    shop: &[f64; 7],
    cfg: &ModelConfig,
) -> f64 {
    let from = total.len().saturating_sub(cfg.trend_days);
    let pts: Vec<(f64, f64)> = (from..total.len())
        .filter(|&i| normal(i))
        .map(|i| (i as f64, total[i] / shop[weekday(dates[i])]))
        .collect();
    if pts.len() < 28 {
        return 0.0;
    }
    let m = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / m;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / m;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx <= 0.0 || my <= 0.0 {
        return 0.0;
    }
    (sxy / sxx / my).clamp(-cfg.max_trend_per_day, cfg.max_trend_per_day)
}

impl Model {
    /// The campaign uplift of a future (or past) day: 1 on a normal day.
    pub fn uplift(&self, d: NaiveDate) -> f64 {
        let mut best: Option<f64> = None;
        for c in self.campaigns.iter().filter(|c| c.contains(d)) {
            let peak = c.peak == Some(d);
            let pooled = if peak {
                self.peak_uplift
            } else {
                // That day of campaign, else the latest earlier day that has a ratio (a
                // plateau carries on), else the average wave.
                usize::try_from((d - c.start).num_days())
                    .ok()
                    .and_then(|o| {
                        let upto = (o + 1).min(self.profile.len());
                        self.profile[..upto].iter().rev().find_map(|p| *p)
                    })
                    .unwrap_or(self.wave_uplift)
            };
            let u = self.last_year(c, d, peak).unwrap_or(pooled);
            best = Some(best.map_or(u, |b: f64| b.max(u)));
        }
        best.map_or(1.0, |u| u.clamp(0.1, 30.0))
    }

    /// The same day of the same campaign last year, if the history has it.
    fn last_year(&self, c: &CampaignDays, d: NaiveDate, peak: bool) -> Option<f64> {
        let key = c.key();
        let prev = self.observed.iter().find(|o| {
            let gap = (c.start - o.campaign.start).num_days();
            o.campaign.id != c.id && o.campaign.key() == key && (330..=400).contains(&gap)
        })?;
        let day = if peak {
            prev.campaign.peak?
        } else {
            let offset = usize::try_from((d - c.start).num_days()).ok()?;
            let day = plus(prev.campaign.start, offset);
            if day > prev.campaign.end || prev.campaign.peak == Some(day) {
                return None;
            }
            day
        };
        prev.ratio(day)
    }

    /// The campaign running on `d` (the first one in the calendar), for reasons.
    pub fn campaign_on(&self, d: NaiveDate) -> Option<&CampaignDays> {
        self.campaigns.iter().find(|c| c.contains(d))
    }

    /// Forecast units of SKU `k` for the `horizon` days after the history.
    pub fn forecast_sku(&self, k: usize, horizon: usize) -> Vec<f64> {
        let f = &self.fits[k];
        (0..horizon)
            .map(|h| {
                let d = plus(self.next_day, h);
                let t = (self.days + h) as f64;
                let trend = (1.0 + self.trend * (t - f.center)).clamp(0.5, 2.0);
                let uplift = self
                    .uplift_ahead
                    .get(h)
                    .copied()
                    .unwrap_or_else(|| self.uplift(d));
                (f.level * trend * f.weekday[weekday(d)] * uplift).max(0.0)
            })
            .collect()
    }

    /// Forecasts of every SKU, in the history's SKU order.
    pub fn forecast(&self, horizon: usize) -> Vec<Vec<f64>> {
        (0..self.skus.len())
            .map(|k| self.forecast_sku(k, horizon))
            .collect()
    }
}
