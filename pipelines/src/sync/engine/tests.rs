//! The engine against the Jushuitan simulator: the lake ends up with exactly the simulated world.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use connectors::jushuitan::sim::{Fault, RunningSim, SimConfig, SimState, SimWorld};
use std::sync::Arc;

use connectors::jushuitan::{ClientConfig, Credentials, JstClient, JstOrders};
use connectors::tolerant;
use serde_json::{Value, json};
use warehouse::{LakeConfig, Warehouse};

use super::*;

fn day0() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 1)
        .expect("date")
        .and_hms_opt(0, 0, 0)
        .expect("time")
}

/// `n` orders over 20 days; amounts in fen chosen so sums are exact; some before 08:00.
fn world(n: i64) -> Vec<Value> {
    (1..=n)
        .map(|i| {
            let created = day0() + chrono::Duration::minutes(i * 20 * 24 * 60 / n) + chrono::Duration::seconds(i % 60);
            let modified = created + chrono::Duration::minutes(i % 90);
            let (q1, p1, q2, p2) = (1 + i % 3, 990 + i % 700, 1, 1990 + i % 50);
            let (a1, a2) = (q1 * p1 - i % 7, q2 * p2);
            let freight = if i % 4 == 0 { 800 } else { 0 };
            let pay = a1 + a2 + freight;
            let yuan = |f: i64| format!("{}.{:02}", f / 100, f % 100);
            let t = |d: NaiveDateTime| d.format("%Y-%m-%d %H:%M:%S").to_string();
            json!({
                "o_id": i, "so_id": format!("TB{}", 100_000 + i), "shop_id": 10 + i % 3, "shop_site": "Taobao",
                "status": if i % 10 == 0 { "WaitConfirm" } else { "Sent" },
                "created": t(created), "order_date": t(created), "modified": t(modified), "pay_date": t(created + chrono::Duration::minutes(2)),
                "pay_amount": if i % 2 == 0 { json!(yuan(pay)) } else { json!(pay as f64 / 100.0) },
                "freight": if freight == 0 { json!("") } else { json!(yuan(freight)) },
                "free_amount": yuan(i % 7), "is_cod": false, "receiver_state": "浙江", "receiver_city": "杭州",
                "items": [
                    {"oi_id": i * 10 + 1, "sku_id": format!("SKU{}", i % 50), "qty": q1, "price": yuan(p1), "amount": yuan(a1)},
                    {"oi_id": i * 10 + 2, "sku_id": "SKU-GIFT", "qty": q2, "price": p2 as f64 / 100.0, "amount": yuan(a2)}
                ],
                "pays": [{"pay_id": format!("P{i}"), "outer_pay_id": format!("ALI{i}"), "pay_date": t(created + chrono::Duration::minutes(2)),
                          "amount": yuan(pay), "payment": "支付宝", "status": "Confirmed"}]
            })
        })
        .collect()
}

/// `(shop, YYYY-MM-DD) -> (orders, pay fen)` straight from the world's documents.
fn expected(orders: &[Value]) -> BTreeMap<(String, String), (i64, i64)> {
    let mut out = BTreeMap::new();
    for o in orders {
        let key = (
            format!("jst:{}", o["shop_id"]),
            o["created"].as_str().expect("created")[..10].to_string(),
        );
        let e = out.entry(key).or_insert((0, 0));
        e.0 += 1;
        e.1 += tolerant::fen(o.get("pay_amount"))
            .expect("amount")
            .expect("some");
    }
    out
}

async fn lake_totals(wh: &Warehouse) -> BTreeMap<(String, String), (i64, i64)> {
    use arrow::array::{AsArray, Decimal128Array, Int64Array};
    let sql = "select shop_id, cast(order_date as varchar) as d, count(*) as n, sum(pay_amount) as s from orders group by 1, 2";
    let mut out = BTreeMap::new();
    for b in wh.query(sql).await.expect("query") {
        let text = |i: usize| {
            arrow::compute::cast(b.column(i), &arrow::datatypes::DataType::Utf8).expect("text")
        };
        let (shop, day) = (text(0), text(1));
        let (shop, day) = (shop.as_string::<i32>(), day.as_string::<i32>());
        let n = b
            .column(2)
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("n");
        let s = b
            .column(3)
            .as_any()
            .downcast_ref::<Decimal128Array>()
            .expect("s");
        for r in 0..b.num_rows() {
            out.insert(
                (shop.value(r).to_string(), day.value(r).to_string()),
                (n.value(r), s.value(r) as i64),
            );
        }
    }
    out
}

async fn count(wh: &Warehouse, table: &str) -> i64 {
    let b = wh
        .query(&format!("select count(*) as n from {table}"))
        .await
        .expect("count");
    b[0].column(0)
        .as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .expect("n")
        .value(0)
}

const CONNECTOR: &str = "jst-test";

async fn sync_orders(
    wh: &Warehouse,
    c: &Arc<JstClient>,
    o: &SyncOptions,
    _progress: &(dyn Fn(&SyncReport) + Sync),
) -> Result<SyncReport> {
    let stream: Arc<dyn connectors::stream::Stream> = Arc::new(JstOrders::new(Arc::clone(c), 100));
    sync_stream(wh, CONNECTOR, &stream, o, &|_| {}).await
}

async fn orders_cursor(wh: &Warehouse, c: &Arc<JstClient>) -> Option<NaiveDateTime> {
    cursor(wh, CONNECTOR, &JstOrders::new(Arc::clone(c), 100))
        .await
        .expect("cursor")
}

fn client(sim: &RunningSim) -> Arc<JstClient> {
    let mut cfg = ClientConfig::new(sim.base_url());
    cfg.per_second = None;
    cfg.per_minute = None;
    cfg.backoff = Duration::from_millis(10);
    cfg.timeout = Duration::from_millis(500);
    let creds = Credentials {
        app_key: sim.state.config.app_key.clone(),
        app_secret: sim.state.config.app_secret.clone(),
        access_token: "tok".into(),
    };
    Arc::new(JstClient::new(cfg, creds, Some("ref".into())))
}

fn opts(to_day: i64, full: bool) -> SyncOptions {
    SyncOptions {
        full,
        window: Some(Duration::from_secs(3 * 24 * 3600)),
        ..SyncOptions::new(day0(), day0() + chrono::Duration::days(to_day))
    }
}

/// A simulator serving `docs` (with `faults` queued) and an empty lake in a temporary folder.
async fn setup(docs: &[Value], faults: Vec<Fault>) -> (RunningSim, tempfile::TempDir, Warehouse) {
    let state = SimState::new(
        SimConfig::default().unlimited(),
        SimWorld::new(docs.to_vec()),
        "tok",
        "ref",
    );
    state.inject(faults);
    let sim = RunningSim::start(state, 0).await.expect("sim");
    let dir = tempfile::tempdir().expect("tmp");
    let wh = Warehouse::open(&LakeConfig {
        url: dir.path().display().to_string(),
        ..Default::default()
    })
    .await
    .expect("lake");
    (sim, dir, wh)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_gives_the_lake_exactly_the_world_and_is_incremental() {
    let docs = world(1_500);
    let (sim, _dir, wh) = setup(&docs, Vec::new()).await;
    let c = client(&sim);

    let r = sync_orders(&wh, &c, &opts(21, false), &|_| {})
        .await
        .expect("sync");
    assert_eq!(r.windows, 7);
    assert_eq!(lake_totals(&wh).await, expected(&docs));
    assert_eq!(
        (
            count(&wh, "order_items").await,
            count(&wh, "payments").await
        ),
        (3_000, 1_500)
    );
    assert_eq!(
        orders_cursor(&wh, &c).await,
        Some(day0() + chrono::Duration::days(21))
    );

    // Nothing new: an incremental run reads only the overlap and changes nothing.
    let versions = wh.version("orders").await.expect("v");
    let r = sync_orders(&wh, &c, &opts(21, false), &|_| {})
        .await
        .expect("again");
    assert_eq!(
        r.started_at,
        Some(day0() + chrono::Duration::days(21) - chrono::Duration::minutes(10))
    );
    assert_eq!(count(&wh, "orders").await, 1_500);
    assert!(wh.version("orders").await.expect("v") <= versions + 1);

    // Late changes on the platform reach the lake on the next run, without duplicates.
    let later = (day0() + chrono::Duration::days(21) + chrono::Duration::hours(3))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    for id in [3, 700, 1_499] {
        assert!(
            sim.state
                .world
                .modify(id, &later, |o| o["status"] = json!("Cancelled"))
        );
    }
    // Order 8 loses its gift line on the platform: the line leaves the lake too.
    assert!(sim.state.world.modify(8, &later, |o| {
        if let Some(items) = o["items"].as_array_mut() {
            items.pop();
        }
    }));
    // Order 9 loses every line: its lines leave the lake although no line row comes back.
    assert!(
        sim.state
            .world
            .modify(9, &later, |o| o["items"] = json!([]))
    );
    sync_orders(&wh, &c, &opts(22, false), &|_| {})
        .await
        .expect("late");
    assert_eq!(count(&wh, "order_items").await, 2_997);
    let gone = wh
        .query("select count(*) from order_items where order_item_id = 'jst:82'")
        .await
        .expect("q");
    let n = gone[0]
        .column(0)
        .as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .expect("n");
    assert_eq!(n.value(0), 0, "the removed line is gone");
    let closed = wh
        .query("select count(*) from orders where status = 'closed'")
        .await
        .expect("q");
    assert_eq!(
        closed[0]
            .column(0)
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .expect("n")
            .value(0),
        3
    );
    assert_eq!(count(&wh, "orders").await, 1_500);
    assert_eq!(lake_totals(&wh).await, expected(&docs));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_on_the_platform_still_give_exactly_the_world() {
    let docs = world(600);
    let faults = vec![
        Fault::ServerError,
        Fault::Garbage,
        Fault::Throttle,
        Fault::ExpireTokens,
        Fault::Slow(Duration::from_secs(1)),
        Fault::ServerError,
    ];
    let (sim, _dir, wh) = setup(&docs, faults).await;
    sync_orders(&wh, &client(&sim), &opts(21, true), &|_| {})
        .await
        .expect("sync");
    assert_eq!(lake_totals(&wh).await, expected(&docs));
    assert_eq!(count(&wh, "order_items").await, 1_200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_at_random_points_and_rerun_loses_and_doubles_nothing() {
    let docs = world(800);
    let (sim, _dir, wh) = setup(&docs, Vec::new()).await;
    let c = client(&sim);
    // Small windows and flushes inside windows, so crashes land between every kind of commit.
    let mut o = opts(21, false);
    o.window = Some(Duration::from_secs(24 * 3600));
    o.flush_rows = 15;
    let mut seed: u64 = 0x5eed;
    let mut interrupted = 0;
    for _ in 0..25 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let after = Duration::from_millis(5 + (seed >> 33) % 400);
        let (wh2, c2, o2) = (wh.clone(), std::sync::Arc::clone(&c), o.clone());
        let task = tokio::spawn(async move {
            sync_orders(&wh2, &c2, &o2, &|_| {})
                .await
                .map(|r| r.windows)
        });
        tokio::time::sleep(after).await;
        if !task.is_finished() {
            interrupted += 1;
        }
        task.abort();
        let _ = task.await;
        if orders_cursor(&wh, &c).await == Some(o.to) {
            // The sync finished before this kill: further kills would interrupt nothing.
            break;
        }
    }
    assert!(interrupted >= 20, "only {interrupted} runs were cut short");
    sync_orders(&wh, &c, &o, &|_| {}).await.expect("final run");
    assert_eq!(lake_totals(&wh).await, expected(&docs));
    assert_eq!(
        (
            count(&wh, "orders").await,
            count(&wh, "order_items").await,
            count(&wh, "payments").await
        ),
        (800, 1_600, 800)
    );
    let distinct = wh
        .query("select count(distinct order_item_id) from order_items")
        .await
        .expect("q");
    assert_eq!(
        distinct[0]
            .column(0)
            .as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .expect("n")
            .value(0),
        1_600
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jushuitan_orders_pass_the_conformance_suite() {
    let docs = world(900);
    let (sim, _dir, _wh) = setup(&docs, Vec::new()).await;
    let c = client(&sim);
    let stream: Arc<dyn connectors::stream::Stream> = Arc::new(JstOrders::new(Arc::clone(&c), 50));
    let state = Arc::clone(&sim.state);
    let throttle = move || state.inject([Fault::Throttle, Fault::Throttle, Fault::Throttle]);
    let report = crate::sync::conformance::check(&crate::sync::conformance::Target {
        connector: "jst-conf",
        stream,
        from: day0(),
        to: day0() + chrono::Duration::days(21),
        window: Duration::from_secs(2 * 24 * 3600),
        empty_from: day0() - chrono::Duration::days(30),
        empty_to: day0() - chrono::Duration::days(20),
        throttle: &throttle,
    })
    .await
    .expect("conformance");
    assert_eq!(report.checks.len(), 6, "{:?}", report.checks);
    assert_eq!(report.rows, 900 + 1_800 + 900);
}

/// The negative of check 6: one payment whose channel no mapping knows is kept raw, and the
/// conformance suite names it instead of passing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_off_schema_channel_fails_the_conformance_suite_by_name() {
    let mut docs = world(60);
    docs[17]["pays"][0]["payment"] = json!("PayPal");
    let (sim, _dir, _wh) = setup(&docs, Vec::new()).await;
    let stream: Arc<dyn connectors::stream::Stream> = Arc::new(JstOrders::new(client(&sim), 50));
    let err = crate::sync::conformance::check(&crate::sync::conformance::Target {
        connector: "jst-conf-bad",
        stream,
        from: day0(),
        to: day0() + chrono::Duration::days(21),
        window: Duration::from_secs(2 * 24 * 3600),
        empty_from: day0() - chrono::Duration::days(30),
        empty_to: day0() - chrono::Duration::days(20),
        throttle: &|| {},
    })
    .await
    .expect_err("an off-schema channel must fail the suite")
    .to_string();
    assert!(err.contains("canonical values"), "{err}");
    assert!(err.contains("payments.channel = \"PayPal\""), "{err}");
    assert!(
        !err.contains("alipay"),
        "only the off-list value is named: {err}"
    );
}

mod owners;
mod quarantine;
