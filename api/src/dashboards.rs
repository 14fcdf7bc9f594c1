//! Running dashboards: a panel's rows come from the lake — a metric through the metrics
//! compiler (with the period and shop filters applied inside every base relation), or
//! read-only SQL — and become a Vega-Lite spec (`dashboards::vega_lite`).
//!
//! The HTTP routes, the table-version cache and the web UI come with the rest of the dashboards
//! issue. SQL panels run unscoped here; the routes will run them in the caller's scoped session.

use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;
use dashboards::{Panel, Source};
use pipelines::metrics::{Catalog, Grain, MetricQuery};
use warehouse::Warehouse;

/// Period and shops a dashboard is shown for.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Only these shops (empty: all).
    pub shops: Vec<String>,
}

/// The rows of one panel.
pub async fn panel_rows(
    wh: &Warehouse,
    cat: &Catalog,
    panel: &Panel,
    f: &Filters,
) -> Result<Vec<RecordBatch>, String> {
    match &panel.source {
        Source::Metric { metric, by } => {
            let mut q = MetricQuery::new(metric.clone());
            q.grain = Grain::None;
            for b in by {
                if Grain::NAMES.contains(&b.as_str()) {
                    q.grain = Grain::parse(b).map_err(|e| e.to_string())?;
                } else {
                    q.by.push(b.clone());
                }
            }
            q.from = f.from;
            q.to = f.to;
            q.shops = f.shops.clone();
            pipelines::metrics::run(wh, cat, &q)
                .await
                .map_err(|e| format!("panel {}: {e}", panel.id))
        }
        Source::Sql { sql } => wh
            .query_readonly(sql, &Default::default())
            .await
            .map_err(|e| format!("panel {}: {e}", panel.id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every built-in dashboard's every panel runs on a demo lake and becomes a spec; the metric
    /// panels have data, and the spec's numbers are the query's numbers.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_builtin_panel_runs_on_a_demo_lake() {
        let dir = tempfile::tempdir().expect("tmp");
        let wh = Warehouse::open(&warehouse::LakeConfig {
            url: dir.path().display().to_string(),
            ..Default::default()
        })
        .await
        .expect("lake");
        let cfg = pipelines::demo::DemoConfig {
            orders: 2_000,
            skus: 60,
            days: 60,
            end_date: NaiveDate::from_ymd_opt(2026, 11, 24).expect("date"),
            seed: 5,
        };
        pipelines::demo::run_demo(&wh, &cfg, false, None, &|_| {})
            .await
            .expect("demo");
        let cat = Catalog::builtin().expect("metrics");
        let mut panels = 0;
        for d in dashboards::builtins().expect("builtins") {
            for p in &d.panels {
                let rows = panel_rows(&wh, &cat, p, &Filters::default())
                    .await
                    .unwrap_or_else(|e| panic!("{}/{}: {e}", d.id, p.id));
                let spec = dashboards::vega_lite(p, &rows)
                    .unwrap_or_else(|e| panic!("{}/{}: {e}", d.id, p.id));
                let values = spec["data"]["values"].as_array().expect("values");
                let n: usize = rows.iter().map(|b| b.num_rows()).sum();
                assert_eq!(values.len(), n, "{}/{}", d.id, p.id);
                if matches!(p.source, Source::Metric { .. }) {
                    assert!(n > 0, "{}/{} has no data on a demo lake", d.id, p.id);
                }
                panels += 1;
            }
        }
        assert!(panels >= 20, "{panels}");
        // The same number in the spec as in SQL: GMV of one shop and day.
        let d = dashboards::builtins().expect("b").remove(0);
        let p = d.panel("gmv-by-day").expect("panel");
        let rows = panel_rows(&wh, &cat, p, &Filters::default())
            .await
            .expect("rows");
        let spec = dashboards::vega_lite(p, &rows).expect("spec");
        let first = &spec["data"]["values"][0];
        let sql = format!(
            "SELECT CAST(SUM(pay_amount) AS VARCHAR) AS s FROM orders WHERE shop_id = '{}' AND order_date = DATE '{}'",
            first["shop_id"].as_str().expect("shop"),
            first["day"].as_str().expect("day")
        );
        let b = wh.query(&sql).await.expect("sql");
        let c =
            arrow::compute::cast(b[0].column(0), &arrow::datatypes::DataType::Utf8).expect("cast");
        use arrow::array::AsArray;
        let text = c.as_string::<i32>().value(0).to_string();
        let want: f64 = text.parse().expect("number");
        assert_eq!(first["gmv"].as_f64(), Some(want), "{first} vs {text}");
    }
}
