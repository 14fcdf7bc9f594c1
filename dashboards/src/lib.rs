//! # dashboards — dashboards as code, Vega-Lite specs and reports
//!
//! A dashboard is a TOML file of panels; a panel names where its rows come from (a metric or
//! SQL) and how to draw them. This crate turns (panel, Arrow batches) into a Vega-Lite spec
//! with the rows inline — pure, no network, no DataFusion: callers (the API, reports) run the
//! query and hand the batches over.
//!
//! - `def`: the dashboard file format, parsed strictly.
//! - `spec`: a panel and its batches → a Vega-Lite v5 spec.
//! - `values`: Arrow cells → JSON values (money from its exact decimal text).
//!
//! Still to come with the dashboards issue: the built-in dashboards, the API and web UI, and
//! HTML / PDF / Excel reports.

mod def;
mod spec;
mod values;

pub use def::{Chart, Dashboard, Field, FieldType, Mark, Panel, Source};
pub use spec::vega_lite;
pub use values::rows_json;

/// Errors of dashboards and their specs, naming the dashboard or panel.
#[derive(Debug, thiserror::Error)]
pub enum DashError {
    #[error("dashboard {origin}: {reason}")]
    Invalid { origin: String, reason: String },
    #[error("panel {panel}: the rows have no column `{column}` (they have: {have})")]
    MissingColumn {
        panel: String,
        column: String,
        have: String,
    },
    #[error("panel {panel}: column `{column}`: {reason}")]
    Cell {
        panel: String,
        column: String,
        reason: String,
    },
}
