//! # metrics — named business numbers, defined once
//!
//! A metric is a TOML definition with SQL (see [`def`]): built-in files in
//! `pipelines/metrics/` are embedded in the binary; files in `DATA_DIR/metrics/` add metrics or
//! replace built-ins of the same name ([`Catalog`]). A [`MetricQuery`] (grouping, time grain,
//! period, shops, filters) is compiled into one SQL statement ([`compile`]) and run read-only
//! on the warehouse session ([`run`]). The CLI uses it today; the API, dashboards and reports
//! will call the same functions.
//!
//! - `def`: the definition format and its validation.
//! - `catalog`: built-in and user files, overrides, formula expansion.
//! - `formula`: derived-metric formulas, parsed (only arithmetic and metric names).
//! - `grain`: day / month / year / none buckets of the business date column.
//! - `dims`: dimension names and their columns.
//! - `query`: the request and the quoting of user values.
//! - `compile`: request → SQL.
//!
//! Invariants: dates come from the relations' Date32 business `date` columns, never from
//! timestamps; money stays decimal; user text reaches SQL only as quoted literals; the shop
//! filter is applied inside every base relation, before aggregation.

pub mod catalog;
pub mod compile;
pub mod def;
pub mod dims;
mod error;
pub mod formula;
pub mod grain;
pub mod query;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use arrow::record_batch::RecordBatch;
use warehouse::Warehouse;

pub use catalog::Catalog;
pub use compile::compile;
pub use def::{Kind, MetricDef, Unit};
pub use error::MetricsError;
pub use grain::Grain;
pub use query::MetricQuery;

/// Compiles `q` and runs it read-only on the lake.
pub async fn run(
    wh: &Warehouse,
    cat: &Catalog,
    q: &MetricQuery,
) -> crate::Result<Vec<RecordBatch>> {
    let sql = compile(cat, q)?;
    Ok(wh.query_readonly(&sql, &HashMap::new()).await?)
}
