//! Manifests: parsing and validation errors name the key; each paginator reads every page of a
//! small test server; the MiniShop example maps records exactly and a wrong secret is an
//! authentication error.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::Query;
use chrono::NaiveDateTime;
use serde_json::{Value, json};

use super::*;
use crate::minishop_sim::{self, MsConfig, MsState, RunningMiniShop};
use crate::stream::{NoTokenSink, Secrets, Stream, StreamError};

/// The example document with the common keys stripped, as the registry does.
pub(crate) const EXAMPLE: &str = include_str!("../../../examples/connectors/minishop.toml");

/// The example's settings pointed at `base_url` (rate limit kept unless `unpaced`).
pub(crate) fn example(base_url: &str, unpaced: bool) -> HttpSettings {
    let mut doc: toml::Table = toml::from_str(EXAMPLE).expect("example parses");
    for k in [
        "name",
        "kind",
        "description",
        "schedule",
        "start_date",
        "secrets",
        "only_streams",
    ] {
        doc.remove(k);
    }
    let mut s: HttpSettings = doc.try_into().expect("example settings");
    s.requester.base_url = base_url.to_string();
    s.requester.backoff_ms = 20;
    s.requester.timeout_secs = 2;
    if unpaced {
        s.rate_limit = settings::RateLimit::default();
    }
    s.validate().expect("example validates");
    s
}

pub(crate) fn secrets(secret: &str) -> Secrets {
    let mut s = Secrets::default();
    s.insert("api_secret", secret);
    s
}

fn t(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("time")
}

fn parse(text: &str) -> Result<HttpSettings, String> {
    toml::from_str::<HttpSettings>(text).map_err(|e| e.to_string())
}

const MINIMAL: &str = r#"
[requester]
base_url = "http://127.0.0.1:1"
[[streams]]
name = "things"
path = "/things"
records = "list"
[streams.paginator]
kind = "page_number"
param = "page"
size_param = "size"
size = 100
[streams.incremental]
cursor_field = "t"
begin_param = "from"
end_param = "to"
max_window_hours = 24
record_key = "id"
[[streams.tables]]
table = "shops"
[streams.tables.columns]
shop_id = { path = "id", type = "text" }
"#;

#[test]
fn parse_errors_name_the_key() {
    assert!(parse(MINIMAL).is_ok(), "{:?}", parse(MINIMAL).err());
    let cases = [
        (
            MINIMAL.replace("records = \"list\"", "records = \"list\"\nrecord = \"x\""),
            "record",
        ),
        (
            MINIMAL.replace("size = 100", "size = 100\nstep = 2"),
            "step",
        ),
        (
            MINIMAL.replace("type = \"text\"", "type = \"money\""),
            "money",
        ),
        (
            MINIMAL.replace("kind = \"page_number\"", "kind = \"link_header\""),
            "link_header",
        ),
        (
            format!("{MINIMAL}\n[signer]\nkind = \"rsa\"\nsecret = \"k\""),
            "rsa",
        ),
        (
            MINIMAL.replace("max_window_hours = 24\n", ""),
            "max_window_hours",
        ),
    ];
    for (text, key) in cases {
        let e = parse(&text).expect_err(key);
        assert!(e.contains(key), "{key}: {e}");
    }
}

#[test]
fn validation_names_what_is_wrong() {
    let cases = [
        (MINIMAL.replace("cursor_field = \"t\"", ""), "cursor_field"),
        (
            MINIMAL.replace(
                "cursor_field = \"t\"",
                "cursor_field = \"t\"\ncursor_format = \"iso\"",
            ),
            "cursor_format",
        ),
        (
            MINIMAL.replace(
                "path = \"id\", type = \"text\"",
                "path = \"id\", type = \"time\", format = \"%Q\"",
            ),
            "columns.shop_id",
        ),
        (
            MINIMAL.replace("path = \"id\", type = \"text\"", "type = \"const\""),
            "needs `value`",
        ),
        (
            MINIMAL.replace("path = \"id\"", "path = \"$parent.id\""),
            "$parent",
        ),
        (
            MINIMAL.replace(
                "table = \"shops\"",
                "table = \"shops\"\nrecords = \"items\"",
            ),
            "main table",
        ),
        (MINIMAL.replace("size = 100", "size = 0"), "paginator"),
        (
            MINIMAL.replace("path = \"/things\"", "path = \"things\""),
            "path `things`",
        ),
        (MINIMAL.replace("http://127.0.0.1:1", "ftp://x"), "base_url"),
        (
            format!(
                "{MINIMAL}\n[signer]\nkind = \"hmac-sha256-header\"\nsecret = \"k\"\nparts = [\"method\", \"nonce\"]"
            ),
            "nonce",
        ),
        (
            MINIMAL
                .replace("method", "x")
                .replace("[requester]", "[requester]\nmethod = \"POST_JSON\"")
                + "\n[signer]\nkind = \"top-md5\"\nsecret = \"k\"",
            "POST_FORM",
        ),
    ];
    for (text, needle) in cases {
        let s = parse(&text).unwrap_or_else(|e| panic!("{needle}: {e}"));
        let e = s.validate().expect_err(needle).to_string();
        assert!(e.contains(needle), "{needle}: {e}");
    }
    // A child table's replace_by must read the parent.
    let child = MINIMAL.replace(
        "[[streams.tables]]\ntable = \"shops\"",
        "[[streams.tables]]\ntable = \"order_items\"\nrecords = \"items\"\nreplace_by = \"order_id\"\n[streams.tables.columns]\norder_id = { path = \"id\", type = \"text\" }\n[[streams.tables]]\ntable = \"shops\"",
    );
    let e = parse(&child)
        .expect("parses")
        .validate()
        .expect_err("not parent")
        .to_string();
    assert!(
        e.contains("tables[0] (order_items)") && e.contains("replace_by"),
        "{e}"
    );
    // Unknown stream names given to the builder are named.
    let s = parse(MINIMAL).expect("parses");
    let e = build_streams(
        &s,
        &Secrets::default(),
        Arc::new(NoTokenSink),
        &["nope".into()],
    )
    .expect_err("unknown stream");
    assert!(e.to_string().contains("`nope`"), "{e}");
}

/// 250 records `{id, t}`, served by page number, by offset, or by page with a `more` flag.
async fn paging_server() -> (String, tokio::task::JoinHandle<()>) {
    fn slice(from: usize, n: usize) -> Vec<Value> {
        (from..(from + n).min(250))
            .map(|i| json!({"id": i, "t": "2026-11-01T10:00:00+08:00"}))
            .collect()
    }
    fn window_ok(q: &HashMap<String, String>) -> bool {
        q.get("from").map(String::as_str) == Some("2026-11-01T00:00:00+08:00")
            && q.get("to").map(String::as_str) == Some("2026-11-02T00:00:00+08:00")
    }
    type Q = Query<HashMap<String, String>>;
    let num = |q: &HashMap<String, String>, k: &str| -> usize {
        q.get(k).and_then(|v| v.parse().ok()).unwrap_or(usize::MAX)
    };
    let app = axum::Router::new()
        .route(
            "/pages",
            axum::routing::get(move |Query(q): Q| async move {
                if !window_ok(&q) {
                    return axum::Json(json!({"code": 1, "msg": "bad window"}));
                }
                let (page, size) = (num(&q, "page"), num(&q, "size"));
                axum::Json(json!({"code": 0, "list": slice((page - 1) * size, size)}))
            }),
        )
        .route(
            "/offsets",
            axum::routing::get(move |Query(q): Q| async move {
                let (offset, limit) = (num(&q, "offset"), num(&q, "limit"));
                axum::Json(json!({"code": 0, "list": slice(offset, limit)}))
            }),
        )
        .route(
            "/flags",
            axum::routing::get(move |Query(q): Q| async move {
                // Zero-based pages; the last page is full, so only the flag can end it.
                let (page, size) = (num(&q, "p"), num(&q, "n"));
                let list = slice(page * size, size);
                axum::Json(json!({"code": 0, "list": list, "more": (page + 1) * size < 250}))
            }),
        );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

async fn read_all(s: &dyn Stream) -> Result<(Vec<Value>, usize), StreamError> {
    let (b, e) = (t("2026-11-01 00:00:00"), t("2026-11-02 00:00:00"));
    let mut rows = Vec::new();
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        let p = s.page(b, e, next.as_deref()).await?;
        pages += 1;
        rows.extend(p.rows);
        next = p.next;
        if next.is_none() {
            return Ok((rows, pages));
        }
    }
}

fn stream_for(base: &str, path: &str, paginator: &str) -> Arc<dyn Stream> {
    let text = MINIMAL
        .replace("http://127.0.0.1:1", base)
        .replace("path = \"/things\"", &format!("path = \"{path}\""))
        .replace(
            "kind = \"page_number\"\nparam = \"page\"\nsize_param = \"size\"\nsize = 100",
            paginator,
        )
        .replace(
            "[requester]",
            "[response]\ncode = \"code\"\nmessage = \"msg\"\n[requester]",
        );
    let s = parse(&text).expect("parses");
    s.validate().expect("valid");
    build_streams(&s, &Secrets::default(), Arc::new(NoTokenSink), &[])
        .expect("streams")
        .remove(0)
}

#[tokio::test]
async fn every_paginator_reads_every_record_once() {
    let (base, _server) = paging_server().await;
    let cases = [
        (
            "/pages",
            "kind = \"page_number\"\nparam = \"page\"\nsize_param = \"size\"\nsize = 100",
            3,
        ),
        // 250 = 2 full pages + 50: a short page ends; with size 50 the empty sixth page ends.
        (
            "/pages",
            "kind = \"page_number\"\nparam = \"page\"\nsize_param = \"size\"\nsize = 50",
            6,
        ),
        (
            "/offsets",
            "kind = \"offset\"\nparam = \"offset\"\nsize_param = \"limit\"\nsize = 70",
            4,
        ),
        (
            "/flags",
            "kind = \"page_number\"\nparam = \"p\"\nsize_param = \"n\"\nsize = 50\nfirst_page = 0\nhas_more = \"more\"",
            5,
        ),
    ];
    for (path, paginator, pages) in cases {
        let s = stream_for(&base, path, paginator);
        let (rows, n) = read_all(s.as_ref()).await.expect(paginator);
        let ids: Vec<i64> = rows.iter().filter_map(|r| r["id"].as_i64()).collect();
        assert_eq!(ids, (0..250).collect::<Vec<_>>(), "{paginator}");
        assert_eq!(n, pages, "{paginator}");
    }
    // A refusal in the envelope is a refusal with the platform's message.
    let s = stream_for(
        &base,
        "/pages",
        "kind = \"page_number\"\nparam = \"page\"\nsize_param = \"size\"\nsize = 10",
    );
    let e = s
        .page(t("2026-11-01 00:00:00"), t("2026-11-03 00:00:00"), None)
        .await
        .expect_err("bad window");
    assert!(
        matches!(&e, StreamError::Refused { message, .. } if message.contains("bad window")),
        "{e}"
    );
}

#[tokio::test]
async fn cursor_paging_reads_minishop_whole_and_maps_the_example_exactly() {
    let start = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("d");
    let world = minishop_sim::generate(300, 7, start, 1);
    let state = MsState::new(MsConfig::default().unlimited(), world);
    let sim = RunningMiniShop::start(state, 0).await.expect("sim");
    let settings = example(&sim.base_url(), true);
    let streams = build_streams(
        &settings,
        &secrets(minishop_sim::DEFAULT_APP_SECRET),
        Arc::new(NoTokenSink),
        &["orders".into()],
    )
    .expect("streams");
    let s = streams[0].as_ref();
    assert_eq!(s.tables().all(), ["order_items", "payments", "orders"]);
    assert_eq!(s.tables().main, "orders");
    assert_eq!(
        s.max_window(),
        Some(std::time::Duration::from_secs(24 * 3600))
    );
    // Orders updated on Nov 1st (Shanghai), read by cursor in pages of 100.
    let (rows, pages) = read_all(s).await.expect("read");
    let want: Vec<_> = sim
        .state
        .world
        .orders()
        .into_iter()
        .filter(|o| o.updated < 1_793_548_800) // 2026-11-02 00:00 +08:00
        .collect();
    assert_eq!(rows.len(), want.len());
    assert_eq!(pages, want.len().div_ceil(100));
    // One order mapped by hand against the world's numbers.
    let o = &want[0];
    let rec = rows
        .iter()
        .find(|r| r["order_no"] == json!(o.wire_id()))
        .expect("order read");
    assert_eq!(s.record_key(rec), Some(o.wire_id()));
    assert_eq!(s.record_version(rec), o.version as i64);
    let m = s.map(std::slice::from_ref(rec)).expect("maps");
    let [items, pays, orders] = &m.tables[..] else {
        panic!("three tables")
    };
    use arrow::array::{AsArray, Decimal128Array};
    let dec = |b: &arrow::record_batch::RecordBatch, c: &str, r: usize| {
        b.column_by_name(c)
            .expect(c)
            .as_any()
            .downcast_ref::<Decimal128Array>()
            .expect("money")
            .value(r) as i64
    };
    assert_eq!(dec(&orders.batch, "pay_amount", 0), o.total());
    assert_eq!(dec(&orders.batch, "goods_amount", 0), o.goods());
    assert_eq!(
        orders
            .batch
            .column_by_name("order_id")
            .expect("id")
            .as_string::<i32>()
            .value(0),
        format!("ms:{}", o.wire_id())
    );
    assert_eq!(
        orders
            .batch
            .column_by_name("source")
            .expect("source")
            .as_string::<i32>()
            .value(0),
        "minishop"
    );
    assert_eq!(items.batch.num_rows(), o.items.len());
    assert_eq!(dec(&items.batch, "amount", 0), o.items[0].subtotal());
    assert_eq!(
        items.replace,
        Some(("order_id".into(), vec![format!("ms:{}", o.wire_id())]))
    );
    assert_eq!(pays.batch.num_rows(), usize::from(o.paid.is_some()));
    assert!(orders.replace.is_none());
}

#[tokio::test]
async fn unreadable_values_are_record_errors_naming_record_and_field() {
    let settings = example("http://127.0.0.1:1", true);
    let s = build_streams(&settings, &secrets("x"), Arc::new(NoTokenSink), &[])
        .expect("streams")
        .remove(0);
    let start = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("d");
    let good = minishop_sim::generate(1, 1, start, 1).orders()[0].to_json();
    for (field, bad, needle) in [
        (
            "amounts",
            json!({"goods": "1.234", "discount": "0", "freight": "0", "total": "1"}),
            "amounts.goods",
        ),
        ("status", json!("lost"), "status"),
        ("created_at", json!("2026-11-01 10:00:00"), "created_at"),
        ("shop_id", Value::Null, "shop_id"),
    ] {
        let mut r = good.clone();
        r[field] = bad;
        let e = s.map(&[r]).expect_err(field);
        match &e {
            StreamError::Record {
                record, message, ..
            } => {
                assert_eq!(record, &good["order_no"].as_str().expect("id").to_string());
                assert!(message.contains(needle), "{field}: {message}");
            }
            other => panic!("{field}: {other}"),
        }
    }
}

#[tokio::test]
async fn a_wrong_secret_is_an_authentication_error_without_the_secret() {
    let state = MsState::new(MsConfig::default(), minishop_sim::MiniShopWorld::default());
    let sim = RunningMiniShop::start(state, 0).await.expect("sim");
    let settings = example(&sim.base_url(), false);
    let s = build_streams(
        &settings,
        &secrets("not-the-secret"),
        Arc::new(NoTokenSink),
        &[],
    )
    .expect("streams")
    .remove(0);
    let e = s
        .page(t("2026-11-01 00:00:00"), t("2026-11-02 00:00:00"), None)
        .await
        .expect_err("refused");
    assert!(
        matches!(&e, StreamError::Auth { message, .. } if message.contains("40101")),
        "{e}"
    );
    assert!(!e.to_string().contains("not-the-secret"));
    assert_eq!(s.stats().requests, 1, "credentials are not retried");
    assert!(!format!("{:?}", secrets("not-the-secret")).contains("not-the-secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manifest_pace_keeps_under_the_limit_and_429s_are_absorbed_without_it() {
    let start = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("d");
    let config = MsConfig {
        per_second: Some(4),
        per_minute: None,
        ..MsConfig::default()
    };
    let sim = RunningMiniShop::start(
        MsState::new(config, minishop_sim::generate(50, 3, start, 1)),
        0,
    )
    .await
    .expect("sim");
    let (b, e) = (t("2026-11-01 00:00:00"), t("2026-11-02 00:00:00"));
    let mut paced = example(&sim.base_url(), true);
    paced.rate_limit.per_second = 4;
    let s = build_streams(
        &paced,
        &secrets(minishop_sim::DEFAULT_APP_SECRET),
        Arc::new(NoTokenSink),
        &[],
    )
    .expect("streams")
    .remove(0);
    for _ in 0..10 {
        assert!(!s.page(b, e, None).await.expect("page").rows.is_empty());
    }
    assert_eq!(minishop_sim::MsStats::get(&sim.state.stats.rate_limited), 0);
    assert!(
        s.stats().throttled > 0,
        "ten requests at 4/s must be held back"
    );
    assert_eq!(s.stats().retries, 0);
    // Unpaced, the same calls meet HTTP 429 and still succeed after waiting Retry-After.
    let s = build_streams(
        &example(&sim.base_url(), true),
        &secrets(minishop_sim::DEFAULT_APP_SECRET),
        Arc::new(NoTokenSink),
        &[],
    )
    .expect("streams")
    .remove(0);
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    for _ in 0..10 {
        assert!(!s.page(b, e, None).await.expect("page").rows.is_empty());
    }
    assert!(minishop_sim::MsStats::get(&sim.state.stats.rate_limited) > 0);
    assert!(
        s.stats().retries > 0 && s.stats().throttled > 0,
        "{:?}",
        s.stats()
    );
}
