//! Running dashboards and reports: every panel or section becomes SQL — a metric compiled by
//! the metrics compiler, or the file's SQL with `{{from}}`/`{{to}}`/`{{status}}` bound — and
//! runs in a session that holds only the rows of the shops asked for (and allowed): the same
//! scoping the SQL endpoint applies, so a figure is the same wherever it is read.
//!
//! The rows then become a Vega-Lite spec (dashboards) or a [`Doc`] that the HTML, PDF and
//! Excel writers of the `dashboards` crate turn into files.
//!
//! Definitions: the built-ins plus `DATA_DIR/dashboards/*.toml` and `DATA_DIR/reports/*.toml`
//! (a file with a built-in's id replaces it).

use std::path::Path;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;
use dashboards::{Branding, Dashboard, Doc, Params, Report, Source};
use datafusion::execution::context::SessionContext;
use pipelines::metrics::{Catalog, Grain, MetricQuery, compile};
use serde_json::{Value, json};
use warehouse::datafusion;

use crate::auth::Principal;
use crate::server::error::ApiError;
use crate::server::state::AppState;

/// Period, shops and status a dashboard or report is made for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Only these shops (empty: every shop the caller sees).
    pub shops: Vec<String>,
    /// A report's status filter (one of its `statuses`).
    pub status: Option<String>,
    /// Only this platform / category: applied to the metric panels whose metric has the
    /// dimension (SQL panels and other metrics are shown whole and say so).
    pub platform: Option<String>,
    pub category: Option<String>,
}

impl Filters {
    /// The filters as lines for a document's heading.
    pub fn describe(&self) -> Vec<String> {
        let d = |x: Option<NaiveDate>, open: &str| {
            x.map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_else(|| open.to_string())
        };
        let mut out = vec![format!(
            "期间 Period: {} — {}",
            d(self.from, "开始 start"),
            d(self.to, "至今 today")
        )];
        out.push(if self.shops.is_empty() {
            "店铺 Shops: 全部 all".to_string()
        } else {
            format!("店铺 Shops: {}", self.shops.join(", "))
        });
        if let Some(s) = &self.status {
            out.push(format!("状态 Status: {s}"));
        }
        if let Some(p) = &self.platform {
            out.push(format!("平台 Platform: {p}"));
        }
        if let Some(c) = &self.category {
            out.push(format!("品类 Category: {c}"));
        }
        out
    }

    /// The dimension filters set: (dimension, value).
    pub fn dims(&self) -> Vec<(&'static str, &str)> {
        [("platform", &self.platform), ("category", &self.category)]
            .into_iter()
            .filter_map(|(d, v)| v.as_deref().map(|v| (d, v)))
            .collect()
    }
}

/// The dashboards and reports a deployment has.
#[derive(Debug, Clone)]
pub struct Library {
    pub dashboards: Vec<Dashboard>,
    pub reports: Vec<Report>,
}

fn toml_files(dir: &Path) -> Result<Vec<(String, String)>, String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut files: Vec<_> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            std::fs::read_to_string(&p)
                .map(|t| (p.display().to_string(), t))
                .map_err(|e| format!("reading {}: {e}", p.display()))
        })
        .collect()
}

impl Library {
    /// The built-ins, then the deployment's own files over them.
    pub fn load(data_dir: &Path) -> Result<Library, String> {
        let mut dashboards = dashboards::builtins().map_err(|e| e.to_string())?;
        for (origin, text) in toml_files(&data_dir.join("dashboards"))? {
            let d = Dashboard::parse(&text, &origin).map_err(|e| e.to_string())?;
            dashboards.retain(|x| x.id != d.id);
            dashboards.push(d);
        }
        let mut reports = dashboards::builtin_reports().map_err(|e| e.to_string())?;
        for (origin, text) in toml_files(&data_dir.join("reports"))? {
            let r = Report::parse(&text, &origin).map_err(|e| e.to_string())?;
            reports.retain(|x| x.id != r.id);
            reports.push(r);
        }
        Ok(Library {
            dashboards,
            reports,
        })
    }

    pub fn dashboard(&self, id: &str) -> Option<&Dashboard> {
        self.dashboards.iter().find(|d| d.id == id)
    }

    pub fn report(&self, id: &str) -> Option<&Report> {
        self.reports.iter().find(|r| r.id == id)
    }
}

/// `p` narrowed to the shops asked for; asking for a shop outside `p`'s is refused.
pub fn narrow(p: &Principal, shops: &[String]) -> Result<Principal, ApiError> {
    if shops.is_empty() {
        return Ok(p.clone());
    }
    if let Some(bad) = shops.iter().find(|s| !p.sees_shop(s)) {
        return Err(ApiError::Forbidden(format!(
            "shop {bad:?} is outside this caller's shops"
        )));
    }
    Ok(Principal {
        shops: Some(shops.to_vec()),
        ..p.clone()
    })
}

/// The SQL of a panel or section for `f` (whose shops are already the effective ones).
pub fn source_sql(
    cat: &Catalog,
    source: &Source,
    f: &Filters,
    statuses: &[String],
) -> Result<String, String> {
    match source {
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
            let dims = cat
                .get(metric)
                .and_then(|m| cat.dimensions(m))
                .map_err(|e| e.to_string())?;
            // A metric without a shop dimension (stock, purchasing) is company-wide: it runs
            // in the caller's shop-scoped session, which already holds only what the shops
            // may see, instead of being refused for every scoped caller or shop filter.
            if dims.iter().any(|d| d == "shop") {
                q.shops = f.shops.clone();
            }
            for (d, v) in f.dims() {
                if dims.iter().any(|x| x == d) {
                    q = q
                        .with_filter(&format!("{d}={v}"))
                        .map_err(|e| e.to_string())?;
                }
            }
            compile(cat, &q).map_err(|e| e.to_string())
        }
        Source::Sql { sql } => {
            let statuses = match &f.status {
                Some(s) => vec![s.clone()],
                None => statuses.to_vec(),
            };
            dashboards::bind(
                sql,
                &Params {
                    from: f.from,
                    to: f.to,
                    statuses,
                },
            )
        }
        Source::Forecast { .. } => Err("the forecast is computed, not SQL".into()),
    }
}

/// The dimension filters that do not apply to `source` (shown beside the panel).
pub fn unapplied(cat: &Catalog, source: &Source, f: &Filters) -> Vec<&'static str> {
    let dims = match source {
        Source::Metric { metric, .. } => cat
            .get(metric)
            .and_then(|m| cat.dimensions(m))
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    f.dims()
        .into_iter()
        .map(|(d, _)| d)
        .filter(|d| !dims.iter().any(|x| x == d))
        .collect()
}

/// Where the queries of a dashboard or report run.
pub enum Runner<'a> {
    /// The server: the caller's limits (memory, time, rows, concurrency) and scope.
    Api { st: &'a AppState, p: Principal },
    /// The command line: the whole lake, narrowed to `shops` (all when `None`).
    Local {
        wh: warehouse::Warehouse,
        shops: Option<Vec<String>>,
        user: SessionContext,
    },
}

impl std::fmt::Debug for Runner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Runner::Api { p, .. } => f.debug_struct("Api").field("principal", &p.id).finish(),
            Runner::Local { .. } => f.write_str("Local"),
        }
    }
}

impl<'a> Runner<'a> {
    /// A local runner over `wh` that sees `shops` (all when empty).
    pub async fn local(wh: &warehouse::Warehouse, shops: &[String]) -> Result<Runner<'a>, String> {
        let base = wh.session().await.map_err(|e| e.to_string())?;
        let user = SessionContext::new_with_config(base.copied_config());
        let p = Principal {
            id: "cli".into(),
            role: crate::auth::roles::Role::Admin,
            shops: (!shops.is_empty()).then(|| shops.to_vec()),
        };
        crate::auth::scope::register_scoped(&base, &user, &p)
            .await
            .map_err(|e| format!("scoping the lake tables: {e}"))?;
        Ok(Runner::Local {
            wh: wh.clone(),
            shops: p.shops,
            user,
        })
    }

    /// Purchase suggestions as of `to` (company-wide: refused to a shop-scoped caller, whose
    /// view of demand would be partial).
    async fn forecast(
        &self,
        to: Option<NaiveDate>,
        limit: usize,
    ) -> Result<Vec<RecordBatch>, ApiError> {
        let (wh, scoped) = match self {
            Runner::Api { st, p } => (&*st.wh, p.shops.is_some()),
            Runner::Local { wh, shops, .. } => (wh, shops.is_some()),
        };
        if scoped {
            return Err(ApiError::Forbidden(
                "the purchase forecast covers every shop; it is not shown to shop-scoped callers or with a shop filter".into(),
            ));
        }
        let req = pipelines::forecast::Request {
            as_of: to,
            ..Default::default()
        };
        let mut rows = pipelines::forecast::suggestions(wh, &req)
            .await
            .map_err(|e| ApiError::invalid("forecast", e.to_string()))?;
        rows.truncate(limit);
        let b = pipelines::forecast::suggestions_batch(&rows)
            .map_err(|e| ApiError::internal("forecast rows", e))?;
        Ok(vec![b])
    }

    /// Runs one read-only query.
    pub async fn run(&self, sql: &str) -> Result<Vec<RecordBatch>, ApiError> {
        match self {
            Runner::Api { st, p } => crate::routes::query::run_limited(st, p, sql).await,
            Runner::Local { user, .. } => {
                crate::routes::query::guard(sql)?;
                let df = user
                    .sql_with_options(
                        sql,
                        datafusion::execution::context::SQLOptions::new()
                            .with_allow_ddl(false)
                            .with_allow_dml(false)
                            .with_allow_statements(false),
                    )
                    .await
                    .map_err(|e| ApiError::invalid("sql", e.to_string()))?;
                let schema = Arc::clone(df.schema().inner());
                let mut out = df
                    .collect()
                    .await
                    .map_err(|e| ApiError::invalid("sql", e.to_string()))?;
                if out.is_empty() {
                    out.push(RecordBatch::new_empty(schema));
                }
                Ok(out)
            }
        }
    }
}

/// The rows of a panel or section, or why not (naming it).
async fn rows(
    runner: &Runner<'_>,
    cat: &Catalog,
    id: &str,
    source: &Source,
    f: &Filters,
    statuses: &[String],
) -> Result<Vec<RecordBatch>, ApiError> {
    let started = std::time::Instant::now();
    let out = if let Source::Forecast { limit, .. } = source {
        runner.forecast(f.to, limit.unwrap_or(30)).await
    } else {
        let sql = source_sql(cat, source, f, statuses)
            .map_err(|e| ApiError::invalid("(definition)", format!("{id}: {e}")))?;
        runner.run(&sql).await
    };
    // The command line shows its progress, a line per panel or section.
    if let (Runner::Local { .. }, Ok(b)) = (runner, &out) {
        eprintln!(
            "  {id}: {} rows in {:.1} s",
            b.iter().map(RecordBatch::num_rows).sum::<usize>(),
            started.elapsed().as_secs_f64()
        );
    }
    out.map_err(|e| match e {
        ApiError::Invalid(fields) => ApiError::Invalid(
            fields
                .into_iter()
                .map(|mut x| {
                    x.message = format!("{id}: {}", x.message);
                    x
                })
                .collect(),
        ),
        other => other,
    })
}

/// A dashboard with every panel's Vega-Lite spec; a failing panel carries its error and the
/// others still show.
pub async fn dashboard_json(
    runner: &Runner<'_>,
    cat: &Catalog,
    d: &Dashboard,
    f: &Filters,
) -> Value {
    let mut panels = Vec::with_capacity(d.panels.len());
    for p in &d.panels {
        let (spec, n, error) = match rows(runner, cat, &p.id, &p.source, f, &[]).await {
            Ok(b) => match dashboards::vega_lite(p, &b) {
                Ok(spec) => (spec, b.iter().map(|x| x.num_rows()).sum::<usize>(), None),
                Err(e) => (Value::Null, 0, Some(e.to_string())),
            },
            Err(e) => (Value::Null, 0, Some(e.message())),
        };
        panels.push(json!({
            "id": p.id, "title": p.title, "title_zh": p.title_zh,
            "source": match &p.source {
                Source::Metric { metric, .. } => json!({"metric": metric}),
                Source::Sql { .. } => json!({"sql": true}),
                Source::Forecast { forecast, .. } => json!({"forecast": forecast}),
            },
            "spec": spec, "rows": n, "error": error,
            "unfiltered_by": unapplied(cat, &p.source, f),
        }));
    }
    json!({
        "id": d.id, "title": d.title, "title_zh": d.title_zh,
        "from": f.from, "to": f.to, "shops": f.shops,
        "platform": f.platform, "category": f.category,
        "panels": panels,
    })
}

/// A document made now (Asia/Shanghai time in its footer).
fn doc(title: String, f: &Filters, branding: &Branding, sections: Vec<dashboards::Section>) -> Doc {
    Doc {
        title,
        filters: f.describe(),
        generated: (chrono::Utc::now() + chrono::Duration::hours(8))
            .format("%Y-%m-%d %H:%M (Asia/Shanghai)")
            .to_string(),
        branding: branding.clone(),
        sections,
    }
}

/// A dashboard as a document (every panel: its chart and its rows).
pub async fn dashboard_doc(
    runner: &Runner<'_>,
    cat: &Catalog,
    d: &Dashboard,
    f: &Filters,
    branding: &Branding,
) -> Result<Doc, ApiError> {
    let mut sections = Vec::new();
    for p in &d.panels {
        let b = rows(runner, cat, &p.id, &p.source, f, &[]).await?;
        sections.push(
            dashboards::panel_section(p, &b)
                .map_err(|e| ApiError::invalid("(definition)", e.to_string()))?,
        );
    }
    Ok(doc(
        dashboards::both(&d.title, d.title_zh.as_deref()),
        f,
        branding,
        sections,
    ))
}

/// A report as a document.
pub async fn report_doc(
    runner: &Runner<'_>,
    cat: &Catalog,
    r: &Report,
    f: &Filters,
    branding: &Branding,
) -> Result<Doc, ApiError> {
    r.check_status(f.status.as_deref())
        .map_err(|e| ApiError::invalid("status", e))?;
    let mut sections = Vec::new();
    for s in &r.sections {
        let b = rows(runner, cat, &s.id, &s.source, f, &r.statuses).await?;
        sections.push(
            dashboards::report_section(s, &b)
                .map_err(|e| ApiError::invalid("(definition)", e.to_string()))?,
        );
    }
    Ok(doc(
        dashboards::both(&r.title, r.title_zh.as_deref()),
        f,
        branding,
        sections,
    ))
}

/// Export formats of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    Html,
    Pdf,
    Xlsx,
}

impl Export {
    pub fn parse(ext: &str) -> Option<Export> {
        match ext {
            "html" => Some(Export::Html),
            "pdf" => Some(Export::Pdf),
            "xlsx" => Some(Export::Xlsx),
            _ => None,
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Export::Html => "text/html; charset=utf-8",
            Export::Pdf => "application/pdf",
            Export::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    pub fn ext(self) -> &'static str {
        match self {
            Export::Html => "html",
            Export::Pdf => "pdf",
            Export::Xlsx => "xlsx",
        }
    }
}

/// `doc` written as `fmt` (PDF layout runs off the async threads).
pub async fn render(doc: Doc, fmt: Export) -> Result<Vec<u8>, ApiError> {
    let doc = Arc::new(doc);
    tokio::task::spawn_blocking(move || match fmt {
        Export::Html => {
            Ok(dashboards::html::to_html(&doc, crate::routes::ui::scripts()).into_bytes())
        }
        Export::Pdf => {
            dashboards::pdf::to_pdf(&doc).map_err(|e| ApiError::internal("making the PDF", e))
        }
        Export::Xlsx => dashboards::xlsx::to_xlsx(&doc)
            .map_err(|e| ApiError::internal("making the Excel file", e)),
    })
    .await
    .map_err(|e| ApiError::internal("rendering", e))?
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every built-in dashboard panel and report section runs on a demo lake and every report
    /// becomes HTML, PDF and Excel; a charted GMV equals SQL; a shop filter narrows SQL panels
    /// too (they run in a session holding only that shop's rows).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_builtin_dashboard_and_report_runs_and_renders_on_a_demo_lake() {
        let dir = tempfile::tempdir().expect("tmp");
        let wh = warehouse::Warehouse::open(&warehouse::LakeConfig {
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
        let lib = Library::load(dir.path()).expect("library");
        let all = Runner::local(&wh, &[]).await.expect("runner");
        let f = Filters::default();
        let mut panels = 0;
        for d in &lib.dashboards {
            let v = dashboard_json(&all, &cat, d, &f).await;
            for p in v["panels"].as_array().expect("panels") {
                assert!(p["error"].is_null(), "{}/{}: {}", d.id, p["id"], p["error"]);
                // Exception lists (SKUs below / above their levels) may rightly be empty.
                let list = matches!(p["id"].as_str(), Some("low-stock" | "high-stock"));
                if p["source"]["metric"].is_string() && !list {
                    assert!(
                        p["rows"].as_u64() > Some(0),
                        "{}/{} is empty",
                        d.id,
                        p["id"]
                    );
                }
                panels += 1;
            }
        }
        assert!(panels >= 24, "{panels}");
        for r in &lib.reports {
            let doc = report_doc(&all, &cat, r, &f, &Branding::default())
                .await
                .unwrap_or_else(|e| panic!("{}: {}", r.id, e.message()));
            assert_eq!(doc.sections.len(), r.sections.len());
            for fmt in [Export::Html, Export::Xlsx, Export::Pdf] {
                let bytes = render(doc.clone(), fmt)
                    .await
                    .unwrap_or_else(|e| panic!("{} {fmt:?}: {}", r.id, e.message()));
                assert!(bytes.len() > 1000, "{} {fmt:?}", r.id);
            }
        }
        // A charted number is the SQL number.
        let sales = lib.dashboard("sales").expect("sales");
        let v = dashboard_json(&all, &cat, sales, &f).await;
        let first = &v["panels"][0]["spec"]["data"]["values"][0];
        let sql = format!(
            "SELECT CAST(SUM(pay_amount) AS VARCHAR) AS s FROM orders WHERE shop_id = '{}' AND order_date = DATE '{}'",
            first["shop_id"].as_str().expect("shop"),
            first["day"].as_str().expect("day")
        );
        let b = all.run(&sql).await.expect("sql");
        let t = dashboards::Table::from_batches("t", &b).expect("table");
        let want: f64 = t.rows[0][0].text().parse().expect("number");
        assert_eq!(first["gmv"].as_f64(), Some(want), "{first}");
        // One shop: SQL panels (shipments by status) shrink as well as metric panels.
        let shop = first["shop_id"].as_str().expect("shop").to_string();
        let one = Runner::local(&wh, std::slice::from_ref(&shop))
            .await
            .expect("runner");
        let f1 = Filters {
            shops: vec![shop.clone()],
            ..Default::default()
        };
        let logistics = lib.dashboard("logistics").expect("logistics");
        let count = |v: &Value| -> i64 {
            v["panels"][0]["spec"]["data"]["values"]
                .as_array()
                .expect("values")
                .iter()
                .map(|r| r["shipments"].as_i64().unwrap_or(0))
                .sum()
        };
        let whole = count(&dashboard_json(&all, &cat, logistics, &f).await);
        let part = count(&dashboard_json(&one, &cat, logistics, &f1).await);
        assert!(part > 0 && part < whole, "{part} of {whole}");
        let b = one
            .run("SELECT DISTINCT shop_id FROM orders")
            .await
            .expect("sql");
        assert_eq!(b.iter().map(|x| x.num_rows()).sum::<usize>(), 1);
    }
}
