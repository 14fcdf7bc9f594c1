//! Dashboards and reports end to end, on a demo lake served by `zhongtai serve`:
//!
//! - every figure of every metric panel of every built-in dashboard equals the same metric from
//!   `GET /api/v1/metrics/{name}` and the same cell of the dashboard's Excel export (read back by
//!   openpyxl), for the same filters; the daily GMV also equals SQL over the orders;
//! - filters change the numbers; a shop-scoped caller sees only its shops, everywhere;
//! - reports: the PDF has the shop and product names as text (pdftotext) and headers on every
//!   page, the Excel money cells are numbers with a money format, the HTML is self-contained;
//! - the web UI in headless Chromium (tests/ui/check.mjs): every dashboard renders with no
//!   console errors and non-empty charts, filters change the numbers, screenshots are saved.

use std::path::Path;
use std::process::Command;

use reqwest::Client;
use serde_json::{Value, json};

use crate::support::{Lake, spawn};

const FROM: &str = "2026-10-01";
const TO: &str = "2026-10-31";

struct Served {
    lake: Lake,
    _server: crate::support::Proc,
    base: String,
    http: Client,
    admin: String,
    manager: String,
    scoped: String,
    shops: Vec<(String, String)>,
}

fn token(lake: &Lake, args: &[&str]) -> String {
    let mut a = vec!["token", "create"];
    a.extend_from_slice(args);
    lake.ok(&a).trim().to_string()
}

/// The company every export and the UI must show.
const COMPANY: &str = "杭州示例电商有限公司";

fn serve() -> Served {
    let mut lake = Lake::new();
    lake.env.push(("ZHONGTAI_COMPANY".into(), COMPANY.into()));
    lake.ok(&[
        "demo",
        "--orders",
        "4000",
        "--skus",
        "150",
        "--days",
        "75",
        "--end-date",
        "2026-11-24",
        "--direct",
    ]);
    // Some breaks for the finance dashboard's reconciliation panel.
    lake.ok(&["reconcile"]);
    let shops: Vec<(String, String)> = lake
        .query("SELECT shop_id, name FROM shops ORDER BY shop_id")
        .iter()
        .map(|r| {
            (
                r["shop_id"].as_str().expect("id").to_string(),
                r["name"].as_str().expect("name").to_string(),
            )
        })
        .collect();
    assert!(shops.len() >= 3, "{shops:?}");
    let admin = token(&lake, &["--role", "admin"]);
    let manager = token(&lake, &["--role", "manager"]);
    let scoped = token(&lake, &["--role", "manager", "--shops", &shops[0].0]);
    let (server, lines) = spawn(&lake, &["serve", "--addr", "127.0.0.1:0"], "listening on ");
    let base = lines
        .last()
        .and_then(|l| l.strip_prefix("listening on "))
        .expect("address")
        .to_string();
    Served {
        lake,
        _server: server,
        base,
        http: Client::new(),
        admin,
        manager,
        scoped,
        shops,
    }
}

impl Served {
    async fn get(&self, token: &str, path: &str) -> (u16, Vec<u8>) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("accept", "application/json")
            .send()
            .await
            .expect("get");
        let st = r.status().as_u16();
        (st, r.bytes().await.expect("body").to_vec())
    }

    async fn json(&self, token: &str, path: &str) -> Value {
        let (st, body) = self.get(token, path).await;
        assert_eq!(st, 200, "GET {path}: {}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).expect("json")
    }

    /// An export saved to the lake folder.
    async fn file(&self, token: &str, path: &str, name: &str) -> std::path::PathBuf {
        let (st, body) = self.get(token, path).await;
        assert_eq!(st, 200, "GET {path}: {}", String::from_utf8_lossy(&body));
        let p = self.lake.path().join(name);
        std::fs::write(&p, body).expect("save");
        p
    }
}

/// Every sheet of a workbook, read by openpyxl.
fn xlsx(path: &Path) -> Vec<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/tools/xlsx_dump.py");
    let out = Command::new(std::env::var("ZHONGTAI_PYTHON").unwrap_or_else(|_| "python3".into()))
        .arg(script)
        .arg(path)
        .output()
        .expect("python3 (scripts/setup-test-tools.sh installs openpyxl)");
    assert!(
        out.status.success(),
        "openpyxl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&out.stdout).expect("sheets json")
}

/// A cell of any of the three sources as comparable text: numbers through f64 (what a chart
/// and a spreadsheet hold), dates as their day, null as empty.
fn norm(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Number(n) => format!("{}", n.as_f64().expect("f64")),
        Value::String(s) => match s.parse::<f64>() {
            Ok(f) if !s.contains('-') || s.starts_with('-') => format!("{f}"),
            _ if s.len() >= 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-' => {
                s[..10].to_string()
            }
            _ => s.clone(),
        },
        other => other.to_string(),
    }
}

fn query_string(from: Option<&str>, to: Option<&str>, shop: Option<&str>) -> String {
    let mut q = Vec::new();
    if let Some(f) = from {
        q.push(format!("from={f}"));
    }
    if let Some(t) = to {
        q.push(format!("to={t}"));
    }
    if let Some(s) = shop {
        q.push(format!("shop={s}"));
    }
    if q.is_empty() {
        String::new()
    } else {
        format!("?{}", q.join("&"))
    }
}

/// Every metric panel of dashboard `id` against the metrics API and the Excel export, for one
/// set of filters; returns the dashboard response.
async fn figures_agree(
    s: &Served,
    token: &str,
    id: &str,
    from: Option<&str>,
    to: Option<&str>,
    shop: Option<&str>,
) -> Value {
    let qs = query_string(from, to, shop);
    let mut metric_q = String::new();
    for (k, v) in [("from", from), ("to", to), ("shops", shop)] {
        if let Some(v) = v {
            metric_q.push_str(&format!("&{k}={v}"));
        }
    }
    let d = s.json(token, &format!("/api/v1/dashboards/{id}{qs}")).await;
    let defs = s.json(token, "/api/v1/dashboards").await;
    let def = defs["dashboards"]
        .as_array()
        .expect("list")
        .iter()
        .find(|x| x["id"] == id)
        .expect("listed")
        .clone();
    let file = s
        .file(
            token,
            &format!("/api/v1/dashboards/{id}.xlsx{qs}"),
            &format!("{id}.xlsx"),
        )
        .await;
    let sheets = xlsx(&file);
    assert_eq!(
        sheets.len(),
        1 + def["panels"].as_array().expect("panels").len()
    );
    for (i, p) in d["panels"].as_array().expect("panels").iter().enumerate() {
        let pid = p["id"].as_str().expect("id");
        assert!(p["error"].is_null(), "{id}/{pid}: {}", p["error"]);
        let values = p["spec"]["data"]["values"].as_array().expect("values");
        assert_eq!(p["rows"].as_u64(), Some(values.len() as u64));
        // The Excel sheet of the panel: header, then the same rows in the same order.
        let sheet = &sheets[i + 1];
        assert_eq!(sheet["freeze"], "A2", "{id}/{pid}: header row frozen");
        assert!(sheet["autofilter"].is_string(), "{id}/{pid}: autofilter");
        let rows = sheet["rows"].as_array().expect("rows");
        assert_eq!(rows.len(), values.len() + 1, "{id}/{pid}: rows in Excel");
        let header: Vec<&str> = rows[0]
            .as_array()
            .expect("header")
            .iter()
            .map(|c| c["v"].as_str().expect("header text"))
            .collect();
        for (r, v) in values.iter().enumerate() {
            for (c, col) in header.iter().enumerate() {
                let cell = &rows[r + 1][c];
                assert_eq!(
                    norm(&cell["v"]),
                    norm(&v[*col]),
                    "{id}/{pid} row {r} column {col}: Excel vs dashboard"
                );
                if v[*col].is_number() {
                    assert_eq!(cell["t"], "n", "{id}/{pid} {col}: a number cell");
                }
            }
        }
        // The same metric from the metrics API.
        if let Some(metric) = p["source"]["metric"].as_str() {
            let by = panel_by(id, pid);
            let m = s
                .json(
                    token,
                    &format!("/api/v1/metrics/{metric}?by={by}{metric_q}"),
                )
                .await;
            let mrows = m["rows"].as_array().expect("metric rows");
            assert_eq!(mrows.len(), values.len(), "{id}/{pid}: rows vs metrics API");
            for (a, b) in mrows.iter().zip(values) {
                for (k, v) in b.as_object().expect("row") {
                    assert_eq!(
                        norm(&a[k]),
                        norm(v),
                        "{id}/{pid} {k}: metrics API vs dashboard"
                    );
                }
            }
        }
    }
    d
}

/// A panel's `by`, from the built-in dashboard files.
fn panel_by(dashboard: &str, panel: &str) -> String {
    let d = dashboards::builtins()
        .expect("builtins")
        .into_iter()
        .find(|d| d.id == dashboard)
        .expect("dashboard");
    match &d.panel(panel).expect("panel").source {
        dashboards::Source::Metric { by, .. } => by.join(","),
        dashboards::Source::Sql { .. } | dashboards::Source::Forecast { .. } => String::new(),
    }
}

fn total(d: &Value, panel: &str, field: &str) -> f64 {
    d["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .find(|p| p["id"] == panel)
        .expect("panel")["spec"]["data"]["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|v| v[field].as_f64().unwrap_or(0.0))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_figures_equal_metrics_sql_and_excel_and_follow_filters_and_scope() {
    let s = serve();
    let list = s.json(&s.manager, "/api/v1/dashboards").await;
    let ids: Vec<&str> = list["dashboards"]
        .as_array()
        .expect("dashboards")
        .iter()
        .map(|d| d["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        [
            "sales",
            "products",
            "warehouse",
            "purchasing",
            "logistics",
            "finance"
        ]
    );
    assert_eq!(
        list["shops"].as_array().expect("shops").len(),
        s.shops.len()
    );

    // Every dashboard, unfiltered: every metric figure equals the metrics API and Excel.
    for id in &ids {
        let d = figures_agree(&s, &s.manager, id, None, None, None).await;
        for p in d["panels"].as_array().expect("panels") {
            let list = matches!(p["id"].as_str(), Some("low-stock" | "high-stock"));
            if p["source"]["metric"].is_string() && !list {
                assert!(p["rows"].as_u64() > Some(0), "{id}/{} is empty", p["id"]);
            }
        }
    }

    // The daily GMV equals SQL over the orders, shop by shop and day by day.
    let d = s.json(&s.manager, "/api/v1/dashboards/sales").await;
    let sql = s
        .http
        .post(format!("{}/api/v1/query", s.base))
        .bearer_auth(&s.manager)
        .header("content-type", "application/json")
        .body(json!({"sql": "SELECT shop_id, order_date AS day, SUM(pay_amount) AS gmv FROM orders GROUP BY 1, 2"}).to_string())
        .send()
        .await
        .expect("query")
        .text()
        .await
        .expect("body");
    let sql: Value = serde_json::from_str(&sql).expect("json");
    let mut by_key = std::collections::HashMap::new();
    for r in sql["rows"].as_array().expect("rows") {
        by_key.insert((norm(&r["shop_id"]), norm(&r["day"])), norm(&r["gmv"]));
    }
    let daily = d["panels"][0]["spec"]["data"]["values"]
        .as_array()
        .expect("values");
    assert_eq!(d["panels"][0]["id"], "gmv-by-day");
    assert_eq!(daily.len(), by_key.len());
    for v in daily {
        assert_eq!(
            by_key.get(&(norm(&v["shop_id"]), norm(&v["day"]))),
            Some(&norm(&v["gmv"])),
            "{v}"
        );
    }

    // Filters: a period and a shop change the numbers, and they still agree everywhere.
    let shop = &s.shops[1].0;
    let f = figures_agree(&s, &s.manager, "sales", Some(FROM), Some(TO), Some(shop)).await;
    for v in f["panels"][0]["spec"]["data"]["values"]
        .as_array()
        .expect("values")
    {
        assert_eq!(v["shop_id"].as_str(), Some(shop.as_str()));
        let day = v["day"].as_str().expect("day");
        assert!((FROM..=TO).contains(&day), "{day}");
    }
    let all = total(&d, "gmv-by-day", "gmv");
    let some = total(&f, "gmv-by-day", "gmv");
    assert!(some > 0.0 && some < all, "filtered {some} vs all {all}");

    // A platform filter narrows the metric panels that have the dimension (the same numbers as
    // the metrics API's filter) and names the panels it does not apply to.
    let platform = list["platforms"][0].as_str().expect("platform").to_string();
    let p = s
        .json(
            &s.manager,
            &format!("/api/v1/dashboards/sales?platform={platform}"),
        )
        .await;
    let m = s
        .json(
            &s.manager,
            &format!("/api/v1/metrics/gmv?by=shop,month&filter=platform={platform}"),
        )
        .await;
    let panel = |d: &Value, id: &str| {
        d["panels"]
            .as_array()
            .expect("panels")
            .iter()
            .find(|x| x["id"] == id)
            .expect("panel")
            .clone()
    };
    let monthly = panel(&p, "gmv-by-month");
    let values = monthly["spec"]["data"]["values"]
        .as_array()
        .expect("values");
    assert_eq!(values.len(), m["rows"].as_array().expect("rows").len());
    for (a, b) in values.iter().zip(m["rows"].as_array().expect("rows")) {
        assert_eq!(norm(&a["gmv"]), norm(&b["gmv"]));
    }
    assert!(total(&p, "gmv-by-month", "gmv") < total(&d, "gmv-by-month", "gmv"));
    for v in panel(&p, "channel-share")["spec"]["data"]["values"]
        .as_array()
        .expect("values")
    {
        assert_eq!(v["platform"].as_str(), Some(platform.as_str()));
    }
    assert_eq!(monthly["unfiltered_by"], json!([]));
    let logistics = s
        .json(
            &s.manager,
            &format!("/api/v1/dashboards/logistics?platform={platform}"),
        )
        .await;
    assert_eq!(
        panel(&logistics, "shipment-status")["unfiltered_by"],
        json!(["platform"])
    );

    // A shop-scoped caller: only its shop, in the dashboard, the list and the exports; another
    // shop is refused.
    let mine = &s.shops[0].0;
    let sc = figures_agree(&s, &s.scoped, "sales", None, None, None).await;
    for v in sc["panels"][0]["spec"]["data"]["values"]
        .as_array()
        .expect("values")
    {
        assert_eq!(v["shop_id"].as_str(), Some(mine.as_str()));
    }
    let slist = s.json(&s.scoped, "/api/v1/dashboards").await;
    assert_eq!(slist["shops"].as_array().expect("shops").len(), 1);
    let (st, _) = s
        .get(
            &s.scoped,
            &format!("/api/v1/dashboards/sales?shop={}", s.shops[1].0),
        )
        .await;
    assert_eq!(st, 403);
    let (st, _) = s
        .get(
            &s.scoped,
            &format!("/api/v1/reports/sales-by-shop.xlsx?shop={}", s.shops[1].0),
        )
        .await;
    assert_eq!(st, 403);
    let file = s
        .file(
            &s.scoped,
            "/api/v1/reports/sales-by-shop.xlsx",
            "scoped.xlsx",
        )
        .await;
    let sheets = xlsx(&file);
    let lines = sheets
        .iter()
        .find(|x| x["name"].as_str().is_some_and(|n| n.contains("订单明细")))
        .expect("order lines sheet");
    let rows = lines["rows"].as_array().expect("rows");
    assert!(rows.len() > 1);
    for r in &rows[1..] {
        assert_eq!(
            r[1]["v"].as_str(),
            Some(s.shops[0].1.as_str()),
            "a scoped export holds only its shop"
        );
    }

    // Bad parameters are named; unknown dashboards and formats are 404.
    for (path, want) in [
        ("/api/v1/dashboards/sales?from=2026-02-30", 422),
        (
            "/api/v1/dashboards/sales?from=2026-11-02&to=2026-11-01",
            422,
        ),
        ("/api/v1/dashboards/nope", 404),
        ("/api/v1/dashboards/sales.doc", 404),
        ("/api/v1/reports/monthly-finance.pdf?status=bogus", 422),
        ("/api/v1/reports/nope.pdf", 404),
    ] {
        let (st, body) = s.get(&s.manager, path).await;
        assert_eq!(st, want, "{path}: {}", String::from_utf8_lossy(&body));
    }
    // A warm dashboard is served from the cache: the same answer.
    let again = s.json(&s.manager, "/api/v1/dashboards/sales").await;
    assert_eq!(again, d);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_are_real_pdf_text_typed_excel_and_self_contained_html() {
    let s = serve();
    // PDF from the command line: Chinese shop and product names as text, headers on every page.
    let pdf = s.lake.path().join("sales.pdf");
    s.lake.ok(&[
        "report",
        "sales-by-shop",
        "--format",
        "pdf",
        "--from",
        "2026-09-01",
        "--to",
        TO,
        "-o",
        pdf.to_str().expect("path"),
    ]);
    let out = Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils; scripts/setup-test-tools.sh installs it)");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    for (_, name) in &s.shops {
        assert!(
            text.contains(name.as_str()),
            "shop {name} is not in the PDF text"
        );
    }
    let skus = s.lake.query(
        "SELECT DISTINCT k.name FROM order_items i JOIN orders o ON o.order_id = i.order_id JOIN skus k ON k.sku_id = i.sku_id WHERE o.order_date = DATE '2026-10-15' ORDER BY 1 LIMIT 5",
    );
    assert!(!skus.is_empty());
    for k in &skus {
        let name = k["name"].as_str().expect("name");
        assert!(text.contains(name), "product {name} is not in the PDF text");
    }
    assert!(text.contains("店铺销售报告"), "the title");
    for (i, p) in text
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .enumerate()
    {
        assert!(p.contains(COMPANY), "page {} has no company name", i + 1);
    }
    let pages: Vec<&str> = text
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect();
    assert!(pages.len() > 3, "{} pages", pages.len());
    let header_pages = pages.iter().filter(|p| p.contains("sku_name")).count();
    let line_pages = pages
        .iter()
        .position(|p| p.contains("sku_name"))
        .map(|first| pages.len() - first)
        .expect("order lines table");
    assert_eq!(
        header_pages, line_pages,
        "the order lines header repeats on every page"
    );

    // The same report over HTTP, with a status filter.
    let (st, body) = s
        .get(
            &s.admin,
            &format!("/api/v1/reports/monthly-finance.pdf?from={FROM}&to={TO}&status=open"),
        )
        .await;
    assert_eq!(st, 200);
    assert!(body.starts_with(b"%PDF-"));

    // Excel: money cells are numbers with a money format, dates are dates.
    let x = s
        .file(
            &s.admin,
            &format!("/api/v1/reports/monthly-finance.xlsx?from={FROM}&to={TO}"),
            "fin.xlsx",
        )
        .await;
    let sheets = xlsx(&x);
    assert_eq!(
        sheets[0]["rows"][0][0]["v"], COMPANY,
        "cover with the company"
    );
    let revenue = &sheets[1];
    let header: Vec<&str> = revenue["rows"][0]
        .as_array()
        .expect("header")
        .iter()
        .map(|c| c["v"].as_str().expect("text"))
        .collect();
    let col = header
        .iter()
        .position(|h| *h == "revenue")
        .expect("revenue column");
    let rows = revenue["rows"].as_array().expect("rows");
    assert!(rows.len() > 1);
    for r in &rows[1..] {
        assert_eq!(r[col]["t"], "n", "money is a number: {}", r[col]);
        assert_eq!(r[col]["f"], "#,##0.00");
    }
    // The revenue per shop equals the metric.
    let m = s
        .json(
            &s.admin,
            &format!("/api/v1/metrics/revenue?by=shop&from={FROM}&to={TO}"),
        )
        .await;
    for (a, b) in m["rows"].as_array().expect("rows").iter().zip(&rows[1..]) {
        assert_eq!(norm(&a["revenue"]), norm(&b[col]["v"]));
    }
    let lines = s
        .file(
            &s.admin,
            &format!("/api/v1/reports/sales-by-shop.xlsx?from={FROM}&to={TO}"),
            "lines.xlsx",
        )
        .await;
    let sheets = xlsx(&lines);
    let detail = sheets.last().expect("order lines");
    assert_eq!(
        detail["rows"][1][0]["date"], true,
        "order_date is an Excel date"
    );

    // HTML: one file, nothing fetched from elsewhere, charts and print styles inside.
    let html = s
        .file(
            &s.admin,
            &format!("/api/v1/reports/monthly-finance.html?from={FROM}&to={TO}"),
            "fin.html",
        )
        .await;
    let h = std::fs::read_to_string(html).expect("html");
    assert!(
        !h.contains("src=\"http") && !h.contains("href=\"http"),
        "external references"
    );
    assert!(h.contains("vegaEmbed") && h.contains("@media print"));
    assert!(h.contains("月度财务报告") && h.contains(COMPANY));
}

/// The web UI in real headless Chromium, driven by tests/ui/check.mjs (puppeteer-core).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_ui_renders_every_dashboard_in_headless_chromium() {
    let s = serve();
    let mut add = Command::new(crate::support::BIN)
        .arg("--data-dir")
        .arg(s.lake.path())
        .args(["user", "add", "boss", "--role", "admin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("user add");
    {
        use std::io::Write;
        add.stdin
            .take()
            .expect("stdin")
            .write_all(b"a-long-password-1\n")
            .expect("password");
    }
    assert!(add.wait().expect("wait").success());
    // The page and its files are public (no data); anything else under /ui is not there.
    let page = s
        .http
        .get(format!("{}/", s.base))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status().as_u16(), 200);
    let csp = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(csp.contains("default-src 'self'"), "CSP: {csp}");
    let html = page.text().await.expect("html");
    assert!(html.contains("id=\"zt-branding\"") && html.contains("/ui/app.js"));
    assert!(
        html.contains(&format!("<title>{COMPANY}</title>")),
        "branded page title"
    );
    for (path, want) in [
        ("/ui/app.js", 200),
        ("/ui/vendor/vega-lite.min.js", 200),
        ("/ui/font.ttf", 200),
        ("/ui/nope.js", 404),
        ("/ui/..%2Fapi.db", 404),
        ("/ui/logo", 404),
    ] {
        let st = s
            .http
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .expect("get")
            .status()
            .as_u16();
        assert_eq!(st, want, "{path}");
    }
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/ui-screenshots");
    std::fs::create_dir_all(&shots).expect("shots dir");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/ui/check.mjs");
    let out = Command::new("node")
        .arg(&script)
        .env("ZT_BASE", &s.base)
        .env("ZT_USER", "boss")
        .env("ZT_PASS", "a-long-password-1")
        .env("ZT_SHOTS", &shots)
        .output()
        .expect("node (tests/ui; scripts/setup-test-tools.sh installs puppeteer-core)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or("");
    let r: Value = serde_json::from_str(last).unwrap_or_else(|e| {
        panic!(
            "check.mjs printed no JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(r["console_errors"], json!([]), "console errors");
    assert_eq!(r["failures"], json!([]), "UI failures");
    assert_eq!(r["ok"], true);
    // The figures the browser drew are the API's figures.
    for (id, panels) in r["dashboards"].as_object().expect("dashboards") {
        assert!(!panels.as_object().expect("panels").is_empty(), "{id}");
        let d = s
            .json(&s.manager, &format!("/api/v1/dashboards/{id}"))
            .await;
        for p in d["panels"].as_array().expect("panels") {
            let pid = p["id"].as_str().expect("id");
            let seen = &panels[pid];
            assert_eq!(seen["rows"], p["rows"], "{id}/{pid}");
            let (a, b) = (
                seen["values"].as_array().expect("seen values"),
                p["spec"]["data"]["values"].as_array().expect("values"),
            );
            assert_eq!(a.len(), b.len(), "{id}/{pid}");
            for (x, y) in a.iter().zip(b) {
                for (k, v) in y.as_object().expect("row") {
                    assert_eq!(norm(&x[k]), norm(v), "{id}/{pid} {k}: browser vs API");
                }
            }
        }
        assert!(
            shots.join(format!("{id}.png")).exists(),
            "screenshot of {id}"
        );
    }
    // The filtered sales page shows other numbers than the unfiltered one.
    let f = &r["filtered"];
    let before = r["dashboards"]["sales"]["gmv-by-day"]["values"].clone();
    let after = f["panels"]["gmv-by-day"]["values"].clone();
    assert_ne!(before, after, "filters change the numbers");
    for v in after.as_array().expect("values") {
        assert_eq!(v["shop_id"], f["shop"]);
    }
}
