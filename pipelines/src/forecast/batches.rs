//! Forecast results as Arrow batches (the language between crates). Money is
//! `Decimal128(18,2)` built from fen integers; quantities are `Int64`; dates `Date32`.

use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Array, Decimal128Array, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;

use super::ForecastError;
use super::backtest::{BacktestReport, Method, Score};
use super::suggest::Suggestion;

fn days(d: NaiveDate) -> i32 {
    d.signed_duration_since(NaiveDate::default()).num_days() as i32
}

/// One row per suggestion.
pub fn suggestions_batch(rows: &[Suggestion]) -> Result<RecordBatch, ForecastError> {
    let what = "suggestions";
    let schema = Arc::new(Schema::new(vec![
        Field::new("sku_id", DataType::Utf8, false),
        Field::new("warehouse_id", DataType::Utf8, false),
        Field::new("on_hand", DataType::Int64, false),
        Field::new("on_order", DataType::Int64, false),
        Field::new("lead_time_days", DataType::Int64, false),
        Field::new("demand_lead_time", DataType::Int64, false),
        Field::new("safety_stock", DataType::Int64, false),
        Field::new("reorder_point", DataType::Int64, false),
        Field::new("suggested_qty", DataType::Int64, false),
        Field::new("order_by", DataType::Date32, true),
        Field::new("suggested_amount", DataType::Decimal128(18, 2), false),
        Field::new("reason", DataType::Utf8, false),
    ]));
    let int = |f: fn(&Suggestion) -> i64| -> ArrayRef {
        Arc::new(Int64Array::from_iter_values(rows.iter().map(f)))
    };
    let amounts = Decimal128Array::from_iter_values(rows.iter().map(|r| i128::from(r.amount_fen)))
        .with_precision_and_scale(18, 2)
        .map_err(|source| ForecastError::Batch { what, source })?;
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| &r.sku_id),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| &r.warehouse_id),
            )),
            int(|r| r.on_hand),
            int(|r| r.on_order),
            int(|r| i64::from(r.lead_days)),
            int(|r| r.demand_lead_time),
            int(|r| r.safety_stock),
            int(|r| r.reorder_point),
            int(|r| r.qty),
            Arc::new(Date32Array::from_iter(
                rows.iter().map(|r| r.order_by.map(days)),
            )),
            Arc::new(amounts),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| &r.reason),
            )),
        ],
    )
    .map_err(|source| ForecastError::Batch { what, source })
}

/// A backtest row: scope, method, score, WAPE relative to the naive baseline's.
type Row = (String, Method, Score, Option<f64>);

/// One row per scope (`all`, then each top seller) and method: units, error, WAPE and the
/// WAPE relative to the naive baseline's.
pub fn backtest_batch(report: &BacktestReport) -> Result<RecordBatch, ForecastError> {
    let what = "backtest";
    let schema = Arc::new(Schema::new(vec![
        Field::new("scope", DataType::Utf8, false),
        Field::new("method", DataType::Utf8, false),
        Field::new("holdout_first", DataType::Date32, false),
        Field::new("holdout_last", DataType::Date32, false),
        Field::new("actual_units", DataType::Float64, false),
        Field::new("forecast_units", DataType::Float64, false),
        Field::new("abs_error", DataType::Float64, false),
        Field::new("wape", DataType::Float64, true),
        Field::new("wape_vs_naive", DataType::Float64, true),
    ]));
    let mut rows: Vec<Row> = Vec::new();
    let mut push = |scope: &str, scores: &[Score; 3]| {
        let naive = scores[1].wape();
        for (m, s) in Method::ALL.iter().zip(scores) {
            let ratio = s
                .wape()
                .zip(naive)
                .and_then(|(w, n)| (n > 0.0).then(|| w / n));
            rows.push((scope.to_string(), *m, *s, ratio));
        }
    };
    push("all", &report.overall);
    for (sku, scores) in &report.top {
        push(sku, scores);
    }
    let round = |x: f64| (x * 10_000.0).round() / 10_000.0;
    let f = |g: &dyn Fn(&Row) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| round(g(r))),
        ))
    };
    let date = |d: NaiveDate| -> ArrayRef {
        Arc::new(Date32Array::from_iter_values(rows.iter().map(|_| days(d))))
    };
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.0))),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.1.name()),
            )),
            date(report.holdout_first),
            date(report.holdout_last),
            f(&|r| r.2.actual),
            f(&|r| r.2.forecast),
            f(&|r| r.2.abs_error),
            Arc::new(Float64Array::from_iter(
                rows.iter().map(|r| r.2.wape().map(round)),
            )),
            Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.3.map(round)))),
        ],
    )
    .map_err(|source| ForecastError::Batch { what, source })
}
