//! The purchase forecast: per SKU, a demand forecast with weekly and annual (campaign)
//! seasonality, turned into a suggested purchase quantity and order-by date, plus a backtest
//! that scores the model against naive baselines. See `docs/forecast.md`.
//!
//! Submodules: `calendar` (campaign days, dense daily series), `model` (the pure demand
//! model, documented there in plain words), `suggest` (safety stock, reorder point, order-by
//! date, pack rounding, exact amounts), `backtest` (WAPE of the model vs naive baselines),
//! `load` (the inputs from the lake through SQL), `batches` (results as Arrow batches).
//! Everything but `load` is pure and deterministic.

mod backtest;
mod batches;
mod calendar;
mod load;
mod model;
mod suggest;

use chrono::NaiveDate;
use warehouse::{Warehouse, WarehouseError};

pub use backtest::{BacktestReport, BacktestSettings, Method, Score, backtest};
pub use batches::{backtest_batch, suggestions_batch};
pub use calendar::{CampaignDays, History};
pub use load::{HISTORY_DAYS, Inputs, SkuInfo, load};
pub use model::{Model, ModelConfig, SkuFit, fit};
pub use suggest::{Position, SuggestSettings, Suggestion, normal_quantile, suggest};

/// What went wrong while forecasting, naming the operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForecastError {
    #[error("{what}: {source}")]
    Query {
        what: &'static str,
        #[source]
        source: WarehouseError,
    },
    #[error("{what}: column `{column}` is missing or has an unexpected type")]
    Column { what: &'static str, column: String },
    #[error("no sales history to forecast from")]
    NoHistory,
    #[error(
        "the backtest needs more history: {days} day(s) given, at least {need} for a \
         {holdout}-day holdout"
    )]
    ShortHistory {
        days: usize,
        holdout: usize,
        need: usize,
    },
    #[error("invalid {name}: {reason}")]
    Setting { name: &'static str, reason: String },
    #[error("{what} overflows")]
    Overflow { what: String },
    #[error("building the {what} batch: {source}")]
    Batch {
        what: &'static str,
        #[source]
        source: arrow::error::ArrowError,
    },
}

/// A forecast request (the CLI's options).
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Only these SKUs (all when empty); they are listed even when nothing is to be ordered.
    pub skus: Vec<String>,
    /// The last day of history [default: the latest order date].
    pub as_of: Option<NaiveDate>,
    pub settings: SuggestSettings,
    pub model: ModelConfig,
}

/// Suggestions for every stocked SKU and warehouse that needs an order within the horizon
/// (or for the requested SKUs), most urgent first (order-by date, then amount).
pub async fn suggestions(wh: &Warehouse, req: &Request) -> Result<Vec<Suggestion>, ForecastError> {
    req.settings.check()?;
    let inputs = load(wh, req.as_of, &req.settings).await?;
    let model = fit(&inputs.history, &inputs.campaigns, &req.model)?;
    let campaign_on = |d: NaiveDate| model.campaign_on(d).map(|c| c.name.clone());
    let index: std::collections::HashMap<&str, usize> = inputs
        .history
        .skus
        .iter()
        .enumerate()
        .map(|(k, s)| (s.as_str(), k))
        .collect();
    if let Some(sku) = req
        .skus
        .iter()
        .find(|s| !inputs.positions.iter().any(|p| p.sku_id == **s))
    {
        return Err(ForecastError::Setting {
            name: "sku",
            reason: format!(
                "{sku} has no stock or purchase rows (unknown, virtual or discontinued)"
            ),
        });
    }
    let mut out = Vec::new();
    for (pos, share) in inputs.positions.iter().zip(inputs.shares()) {
        if !req.skus.is_empty() && !req.skus.contains(&pos.sku_id) {
            continue;
        }
        let Some(&k) = index.get(pos.sku_id.as_str()) else {
            continue;
        };
        let len = (req.settings.horizon_days + pos.lead_days + req.settings.review_days) as usize;
        let daily: Vec<f64> = model
            .forecast_sku(k, len)
            .into_iter()
            .map(|u| u * share)
            .collect();
        let s = suggest(
            pos,
            &daily,
            model.fits[k].sigma * share,
            inputs.as_of,
            &req.settings,
            &campaign_on,
        )?;
        if s.qty > 0 || !req.skus.is_empty() {
            out.push(s);
        }
    }
    out.sort_by(|a, b| {
        (
            a.order_by.is_none(),
            a.order_by,
            std::cmp::Reverse(a.amount_fen),
            &a.sku_id,
        )
            .cmp(&(
                b.order_by.is_none(),
                b.order_by,
                std::cmp::Reverse(b.amount_fen),
                &b.sku_id,
            ))
    });
    Ok(out)
}

/// The backtest on the lake's history up to `as_of` (default: the latest order date).
pub async fn backtest_lake(
    wh: &Warehouse,
    as_of: Option<NaiveDate>,
    settings: &BacktestSettings,
) -> Result<BacktestReport, ForecastError> {
    let inputs = load::load_history(wh, as_of).await?;
    backtest(&inputs.history, &inputs.campaigns, settings)
}

#[cfg(test)]
mod tests;
