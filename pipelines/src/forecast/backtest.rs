//! The backtest: hold out the last days, fit on the rest, forecast the holdout, and score the
//! model against two naive baselines with WAPE (pure).
//!
//! WAPE = Σ|actual − forecast| / Σ actual, summed over every SKU and holdout day: a forecast
//! that is 30 % off in units, weighted by what sold. The baselines:
//! - **naive**: each SKU's mean daily units over the last 28 fitted days, every day;
//! - **seasonal naive**: each SKU's units on the same weekday of the last fitted week.

use chrono::NaiveDate;

use super::ForecastError;
use super::calendar::{CampaignDays, History};
use super::model::{ModelConfig, fit};

/// The forecasting methods compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Model,
    Naive,
    SeasonalNaive,
}

impl Method {
    pub const ALL: [Method; 3] = [Method::Model, Method::Naive, Method::SeasonalNaive];

    /// The name printed in reports.
    pub fn name(self) -> &'static str {
        match self {
            Method::Model => "model",
            Method::Naive => "naive_28d_mean",
            Method::SeasonalNaive => "seasonal_naive_last_week",
        }
    }
}

/// Accumulated error of one method.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Score {
    pub actual: f64,
    pub forecast: f64,
    pub abs_error: f64,
}

impl Score {
    fn add(&mut self, actual: &[f64], forecast: &[f64]) {
        for (a, f) in actual.iter().zip(forecast) {
            self.actual += a;
            self.forecast += f;
            self.abs_error += (a - f).abs();
        }
    }

    /// Σ|actual − forecast| / Σ actual (None when nothing sold).
    pub fn wape(&self) -> Option<f64> {
        (self.actual > 0.0).then(|| self.abs_error / self.actual)
    }
}

/// Settings of a backtest.
#[derive(Debug, Clone)]
pub struct BacktestSettings {
    pub holdout_days: usize,
    /// Days the naive baseline averages.
    pub naive_days: usize,
    /// How many of the best sellers (in the holdout) get their own rows.
    pub top_skus: usize,
    pub model: ModelConfig,
}

impl Default for BacktestSettings {
    fn default() -> Self {
        Self {
            holdout_days: 28,
            naive_days: 28,
            top_skus: 10,
            model: ModelConfig::default(),
        }
    }
}

/// What a backtest measured.
#[derive(Debug, Clone)]
pub struct BacktestReport {
    pub fit_first: NaiveDate,
    pub fit_last: NaiveDate,
    pub holdout_first: NaiveDate,
    pub holdout_last: NaiveDate,
    pub skus: usize,
    /// Over every SKU, by method (in [`Method::ALL`] order).
    pub overall: [Score; 3],
    /// The best sellers of the holdout: `(sku, scores by method)`.
    pub top: Vec<(String, [Score; 3])>,
}

/// Runs the backtest on `history` (which ends on the last holdout day).
pub fn backtest(
    history: &History,
    campaigns: &[CampaignDays],
    settings: &BacktestSettings,
) -> Result<BacktestReport, ForecastError> {
    let n = history.days();
    let h = settings.holdout_days;
    let need = h + settings.naive_days.max(7);
    if h == 0 || n <= need {
        return Err(ForecastError::ShortHistory {
            days: n,
            holdout: h,
            need: need + 1,
        });
    }
    let cut = n - h;
    let model = fit(&history.head(cut), campaigns, &settings.model)?;
    let mut overall = [Score::default(); 3];
    let mut per_sku = Vec::with_capacity(history.skus.len());
    for (k, units) in history.units.iter().enumerate() {
        let actual = &units[cut..];
        let fitted = &units[..cut];
        let naive_mean =
            fitted[cut - settings.naive_days..].iter().sum::<f64>() / settings.naive_days as f64;
        let last_week = &fitted[cut - 7..];
        let forecasts = [
            model.forecast_sku(k, h),
            vec![naive_mean; h],
            (0..h).map(|i| last_week[i % 7]).collect(),
        ];
        let mut scores = [Score::default(); 3];
        for (m, f) in forecasts.iter().enumerate() {
            scores[m].add(actual, f);
            overall[m].add(actual, f);
        }
        per_sku.push((history.skus[k].clone(), scores));
    }
    per_sku.sort_by(|a, b| b.1[0].actual.total_cmp(&a.1[0].actual).then(a.0.cmp(&b.0)));
    per_sku.truncate(settings.top_skus);
    Ok(BacktestReport {
        fit_first: history.first,
        fit_last: history.date(cut - 1),
        holdout_first: history.date(cut),
        holdout_last: history.date(n - 1),
        skus: history.skus.len(),
        overall,
        top: per_sku,
    })
}
