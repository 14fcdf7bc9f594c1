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
//! - `builtin/*.toml`: the built-in dashboards (sales, products, warehouse, purchasing,
//!   logistics, finance), embedded in the binary: [`builtins`].
//!
//! Still to come with the dashboards issue: the API and web UI, and HTML / PDF / Excel reports.

mod def;
mod spec;
mod values;

pub use def::{Chart, Dashboard, Field, FieldType, Mark, Panel, Source};
pub use spec::vega_lite;
pub use values::rows_json;

/// The built-in dashboards' files: (file name, text).
pub const BUILTIN: &[(&str, &str)] = &[
    ("sales.toml", include_str!("../builtin/sales.toml")),
    ("products.toml", include_str!("../builtin/products.toml")),
    ("warehouse.toml", include_str!("../builtin/warehouse.toml")),
    (
        "purchasing.toml",
        include_str!("../builtin/purchasing.toml"),
    ),
    ("logistics.toml", include_str!("../builtin/logistics.toml")),
    ("finance.toml", include_str!("../builtin/finance.toml")),
];

/// The built-in dashboards, parsed.
pub fn builtins() -> Result<Vec<Dashboard>, DashError> {
    BUILTIN
        .iter()
        .map(|(name, text)| Dashboard::parse(text, &format!("builtin:{name}")))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_builtin_dashboard_parses_with_unique_ids() {
        let all = super::builtins().expect("builtins");
        let ids: std::collections::BTreeSet<&str> = all.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids.len(), 6);
        for want in [
            "sales",
            "products",
            "warehouse",
            "purchasing",
            "logistics",
            "finance",
        ] {
            assert!(ids.contains(want), "{want}");
        }
    }
}

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
