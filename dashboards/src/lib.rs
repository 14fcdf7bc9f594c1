//! # dashboards — dashboards as code, Vega-Lite specs and reports
//!
//! Reserved for the dashboards issue: it will turn (panel spec, Arrow batches) into Vega-Lite
//! specs with inline data and render HTML / PDF / Excel reports. It does no network or
//! DataFusion work of its own. Nothing is implemented here yet.
