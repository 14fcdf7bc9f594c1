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
//! - `report`: the report file format and the `{{from}}`/`{{to}}`/`{{status}}` placeholders.
//! - `doc`: a document to export (sections of typed rows), made from a dashboard or a report.
//! - `html`, `pdf`, `xlsx`: the three writers of a [`Doc`].
//!
//! - `builtin/*.toml`: the built-in dashboards (sales, products, warehouse, purchasing,
//!   logistics, finance), embedded in the binary: [`builtins`].
//!
//! - `reports/*.toml`: the built-in reports (monthly finance, sales by shop, stock valuation,
//!   3PL settlement): [`builtin_reports`].

mod def;
pub mod doc;
pub mod html;
pub mod pdf;
mod report;
mod spec;
mod values;
pub mod xlsx;

pub use def::{Chart, Dashboard, Field, FieldType, Mark, Panel, Source};
pub use doc::{Branding, Doc, Section, Table};
pub use report::{Params, Report, ReportSection, bind};
pub use spec::vega_lite;
pub use values::rows_json;

/// The built-in reports' files: (file name, text).
pub const BUILTIN_REPORTS: &[(&str, &str)] = &[
    (
        "monthly-finance.toml",
        include_str!("../reports/monthly-finance.toml"),
    ),
    (
        "sales-by-shop.toml",
        include_str!("../reports/sales-by-shop.toml"),
    ),
    (
        "stock-valuation.toml",
        include_str!("../reports/stock-valuation.toml"),
    ),
    (
        "3pl-settlement.toml",
        include_str!("../reports/3pl-settlement.toml"),
    ),
];

/// The built-in reports, parsed.
pub fn builtin_reports() -> Result<Vec<Report>, DashError> {
    BUILTIN_REPORTS
        .iter()
        .map(|(name, text)| Report::parse(text, &format!("builtin:{name}")))
        .collect()
}

/// A title in both languages: `中文 English`, or the English alone.
pub fn both(title: &str, title_zh: Option<&str>) -> String {
    match title_zh {
        Some(zh) if !zh.is_empty() => format!("{zh} {title}"),
        _ => title.to_string(),
    }
}

/// A dashboard panel and its rows as a document section (chart spec and table).
pub fn panel_section(
    panel: &Panel,
    batches: &[arrow::record_batch::RecordBatch],
) -> Result<Section, DashError> {
    Ok(Section {
        id: panel.id.clone(),
        title: both(&panel.title, panel.title_zh.as_deref()),
        chart: Some(panel.chart.clone()),
        spec: Some(vega_lite(panel, batches)?),
        table: Table::from_batches(&panel.id, batches)?,
    })
}

/// A report section and its rows as a document section.
pub fn report_section(
    s: &ReportSection,
    batches: &[arrow::record_batch::RecordBatch],
) -> Result<Section, DashError> {
    let spec = match &s.chart {
        Some(c) => Some(vega_lite(
            &Panel {
                id: s.id.clone(),
                title: s.title.clone(),
                title_zh: s.title_zh.clone(),
                source: s.source.clone(),
                chart: c.clone(),
            },
            batches,
        )?),
        None => None,
    };
    Ok(Section {
        id: s.id.clone(),
        title: both(&s.title, s.title_zh.as_deref()),
        chart: s.chart.clone(),
        spec,
        table: Table::from_batches(&s.id, batches)?,
    })
}

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
