//! The engine against the TOP simulator: a Tmall and a Taobao shop synced into a temporary
//! lake equal the simulated world exactly (counts and money per shop and Shanghai day,
//! computed from the world's typed trades, not through the mapping), with faults too, and a
//! late change on the platform reaches the lake on the next incremental run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{AsArray, Decimal128Array, Int64Array};
use chrono::{NaiveDate, NaiveDateTime};
use connectors::stream::{NoTokenSink, Secrets, Stream};
use connectors::top::sim::{
    RunningTopSim, TopFault, TopSimConfig, TopSimState, TopWorld, TradeStatus, generate,
    session_for,
};
use connectors::top::{TopSettings, build_streams};
use warehouse::{LakeConfig, Warehouse};

use super::*;

/// Shops by seller index: 0 is the generated Tmall shop, 1 the Taobao one.
const SHOPS: [&str; 2] = ["tb-tmall-1", "tb-taobao-2"];

fn day0() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 8)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("day0")
}

fn days(n: i64) -> NaiveDateTime {
    day0() + chrono::Duration::days(n)
}

type Totals = BTreeMap<(String, String), (i64, i64)>;

/// `(shop, Shanghai day) -> (orders, Σ pay fen)` from the world: pay = Σ line payments + freight.
fn expected_orders(world: &TopWorld) -> Totals {
    let mut out = Totals::new();
    for t in world.trades() {
        let key = (
            SHOPS[usize::from(t.seller)].to_string(),
            t.created.date().to_string(),
        );
        let e = out.entry(key).or_default();
        e.0 += 1;
        e.1 += t.lines.iter().map(|l| l.payment).sum::<i64>() + t.post_fee;
    }
    out
}

/// `(shop, Shanghai day) -> (refunds, Σ refund fen)` from the world.
fn expected_refunds(world: &TopWorld) -> Totals {
    let mut out = Totals::new();
    for r in world.refunds() {
        let key = (
            SHOPS[usize::from(r.seller)].to_string(),
            r.created.date().to_string(),
        );
        let e = out.entry(key).or_default();
        e.0 += 1;
        e.1 += r.refund_fee;
    }
    out
}

async fn totals(wh: &Warehouse, sql: &str) -> Totals {
    let mut out = Totals::new();
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
            .expect("sum");
        for r in 0..b.num_rows() {
            out.insert(
                (shop.value(r).to_string(), day.value(r).to_string()),
                (n.value(r), s.value(r) as i64),
            );
        }
    }
    out
}

async fn lake_orders(wh: &Warehouse) -> Totals {
    totals(wh, "select shop_id, cast(order_date as varchar), count(*), sum(pay_amount) from orders group by 1, 2").await
}

async fn lake_refunds(wh: &Warehouse) -> Totals {
    totals(wh, "select shop_id, cast(refund_date as varchar), count(*), sum(amount) from refunds group by 1, 2").await
}

async fn scalar(wh: &Warehouse, sql: &str) -> i64 {
    let b = wh.query(sql).await.expect("query");
    b[0].column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("int")
        .value(0)
}

/// The streams of the connector for seller `i`'s shop.
fn streams(sim: &RunningTopSim, i: usize) -> Vec<Arc<dyn Stream>> {
    let settings = TopSettings {
        gateway_url: sim.gateway_url(),
        app_key: sim.state.config.app_key.clone(),
        shop_id: SHOPS[i].into(),
        platform: None,
        sign_method: ["md5", "hmac-sha256"][i].into(),
        page_size: 50,
        per_second: 0,
        per_minute: 0,
        timeout_secs: 1,
        max_retries: 6,
        backoff_ms: 10,
        max_ban_secs: 5,
        reverse_paging: true,
    };
    let mut secrets = Secrets::default();
    secrets.insert("app_secret", sim.state.config.app_secret.clone());
    secrets.insert("session", session_for(i));
    build_streams(&settings, &secrets, Arc::new(NoTokenSink), &[]).expect("streams")
}

/// Syncs every stream of both shops over `[day0, to)`.
async fn sync_all(wh: &Warehouse, sim: &RunningTopSim, to: NaiveDateTime, full: bool) -> u64 {
    let mut windows = 0;
    for i in 0..SHOPS.len() {
        for s in streams(sim, i) {
            let opts = SyncOptions {
                full,
                ..SyncOptions::new(day0(), to)
            };
            let r = sync_stream(wh, &format!("top-{i}"), &s, &opts, &|_| {})
                .await
                .expect("sync");
            windows += r.windows;
        }
    }
    windows
}

async fn setup(n: usize, faults: Vec<TopFault>) -> (RunningTopSim, tempfile::TempDir, Warehouse) {
    let state = TopSimState::new(
        TopSimConfig::default().unlimited(),
        generate(n, 11, day0(), 5),
    );
    state.inject(faults);
    let sim = RunningTopSim::start(state, 0).await.expect("sim");
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
async fn top_sync_gives_the_lake_exactly_the_world_and_late_changes_arrive() {
    let (sim, _dir, wh) = setup(3_000, Vec::new()).await;
    let world = &sim.state.world;
    let windows = sync_all(&wh, &sim, days(10), false).await;
    assert_eq!(
        windows,
        2 * 2 * 10,
        "one-day windows, two streams, two shops"
    );
    assert_eq!(lake_orders(&wh).await, expected_orders(world));
    assert_eq!(lake_refunds(&wh).await, expected_refunds(world));
    let trades = world.trades();
    let lines: usize = trades.iter().map(|t| t.lines.len()).sum();
    let paid = trades.iter().filter(|t| t.pay_time.is_some()).count();
    assert_eq!(
        scalar(&wh, "select count(*) from order_items").await,
        lines as i64
    );
    assert_eq!(
        scalar(&wh, "select count(*) from payments").await,
        paid as i64
    );
    let tmall = trades.iter().filter(|t| t.seller == 0).count() as i64;
    assert_eq!(
        scalar(
            &wh,
            "select count(*) from orders where platform = 'tmall' and shop_id = 'tb-tmall-1'"
        )
        .await,
        tmall
    );
    assert_eq!(
        scalar(
            &wh,
            "select count(*) from orders where platform = 'taobao' and shop_id = 'tb-taobao-2'"
        )
        .await,
        3_000 - tmall
    );

    // Late changes: three old trades are refunded and closed, one loses its last line.
    let late = days(10) + chrono::Duration::hours(3);
    let multi = trades
        .iter()
        .find(|t| t.lines.len() > 1)
        .expect("a multi-line trade");
    let closed: Vec<i64> = trades
        .iter()
        .filter(|t| t.status == TradeStatus::Finished)
        .take(3)
        .map(|t| t.tid)
        .collect();
    for tid in &closed {
        assert!(world.modify(*tid, late, |t| t.status = TradeStatus::Closed));
    }
    assert!(world.modify(multi.tid, late, |t| {
        let mut v = t.lines.to_vec();
        v.pop();
        t.lines = v.into_boxed_slice();
    }));
    sync_all(&wh, &sim, days(11), false).await;
    assert_eq!(
        scalar(&wh, "select count(*) from orders").await,
        3_000,
        "no duplicates"
    );
    assert_eq!(
        scalar(&wh, "select count(*) from order_items").await,
        lines as i64 - 1,
        "the removed line left the lake"
    );
    let ids = closed
        .iter()
        .map(|t| format!("'tb:{t}'"))
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        scalar(
            &wh,
            &format!(
                "select count(*) from orders where status = 'refunded' and order_id in ({ids})"
            )
        )
        .await,
        3
    );
    assert_eq!(lake_orders(&wh).await, expected_orders(world));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_faults_on_the_platform_still_give_exactly_the_world() {
    let faults = vec![
        TopFault::ServerError,
        TopFault::Garbage,
        TopFault::IspError,
        TopFault::ThrottleBurst(Duration::from_secs(1)),
        TopFault::Slow(Duration::from_millis(1_500)),
        TopFault::ServerError,
    ];
    let (sim, _dir, wh) = setup(1_200, faults).await;
    sync_all(&wh, &sim, days(10), true).await;
    assert_eq!(lake_orders(&wh).await, expected_orders(&sim.state.world));
    assert_eq!(lake_refunds(&wh).await, expected_refunds(&sim.state.world));
    assert_eq!(
        connectors::top::sim::TopSimStats::get(&sim.state.stats.faults),
        6
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_orders_and_refunds_pass_the_conformance_suite() {
    let (sim, _dir, _wh) = setup(1_500, Vec::new()).await;
    for s in streams(&sim, 0) {
        let state = Arc::clone(&sim.state);
        let throttle = move || state.inject([TopFault::ThrottleBurst(Duration::from_secs(1))]);
        let report = super::conformance::check(&super::conformance::Target {
            connector: "top-conformance",
            stream: Arc::clone(&s),
            from: day0(),
            to: days(5),
            window: Duration::from_secs(12 * 3600),
            empty_from: days(-20),
            empty_to: days(-18),
            throttle: &throttle,
        })
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", s.name()));
        assert_eq!(report.checks.len(), 6, "{}: {:?}", s.name(), report.checks);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_windows_of_a_long_backfill_share_their_cursor_commits() {
    let (sim, _dir, wh) = setup(200, Vec::new()).await;
    // A year of one-day windows before the world (five days, late changes up to day ten):
    // at least 360 of them are empty.
    let from = day0() - chrono::Duration::days(360);
    let to = days(10);
    let before = wh.version("orders").await.expect("version");
    let s = streams(&sim, 0).remove(0);
    assert_eq!(s.name(), "orders");
    let r = sync_stream(&wh, "top-0", &s, &SyncOptions::new(from, to), &|_| {})
        .await
        .expect("sync");
    assert_eq!(r.windows, 370, "{r:?}");
    assert!(r.empty_windows >= 360, "{r:?}");
    let commits = wh.version("orders").await.expect("version") - before;
    // One data commit per non-empty window, plus one cursor commit per 96 empty windows in a
    // row and one at the end.
    let full = r.windows - r.empty_windows;
    let bound = full + r.empty_windows.div_ceil(EMPTY_WINDOWS_PER_COMMIT as u64) + 1;
    assert!(
        commits <= bound,
        "{commits} commits for {full} non-empty windows (bound {bound}): {r:?}"
    );
    assert!(r.cursor_commits >= 3, "{r:?}");
    // The cursor is durable at the end of the range: an incremental run re-reads only the
    // overlap.
    let c = cursor(&wh, "top-0", s.as_ref()).await.expect("cursor");
    assert_eq!(c, Some(to));
    let again = sync_stream(&wh, "top-0", &s, &SyncOptions::new(from, to), &|_| {})
        .await
        .expect("again");
    assert!(again.windows <= 2, "{again:?}");
    // Every trade of the shop arrived.
    let want: i64 = expected_orders(&sim.state.world)
        .iter()
        .filter(|((shop, _), _)| shop == SHOPS[0])
        .map(|(_, (n, _))| n)
        .sum();
    assert_eq!(
        scalar(
            &wh,
            &format!("select count(*) from orders where shop_id = '{}'", SHOPS[0])
        )
        .await,
        want
    );
}

/// `cargo test -p pipelines --lib -- --ignored top_two_year_backfill_bench --nocapture`: a
/// two-year backfill of one shop at the platform's real limits (10 a second, 400 a minute):
/// its commits and how much of the API budget it used (BENCHMARKS.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn top_two_year_backfill_bench() {
    let state = TopSimState::new(TopSimConfig::default(), generate(600, 17, day0(), 730));
    let (per_second, per_minute) = (state.config.per_second, state.config.per_minute);
    let sim = RunningTopSim::start(state, 0).await.expect("sim");
    let dir = tempfile::tempdir().expect("tmp");
    let wh = Warehouse::open(&LakeConfig {
        url: dir.path().display().to_string(),
        ..Default::default()
    })
    .await
    .expect("lake");
    let settings = TopSettings {
        gateway_url: sim.gateway_url(),
        app_key: sim.state.config.app_key.clone(),
        shop_id: SHOPS[0].into(),
        platform: None,
        sign_method: "md5".into(),
        page_size: 100,
        per_second: per_second.unwrap_or(0) as u32,
        per_minute: per_minute.unwrap_or(0) as u32,
        timeout_secs: 10,
        max_retries: 6,
        backoff_ms: 100,
        max_ban_secs: 60,
        reverse_paging: true,
    };
    let mut secrets = Secrets::default();
    secrets.insert("app_secret", sim.state.config.app_secret.clone());
    secrets.insert("session", session_for(0));
    let s = build_streams(
        &settings,
        &secrets,
        Arc::new(NoTokenSink),
        &["orders".into()],
    )
    .expect("streams")
    .remove(0);
    let before = wh.version("orders").await.expect("version");
    let to = day0() + chrono::Duration::days(730);
    let r = sync_stream(&wh, "top-0", &s, &SyncOptions::new(day0(), to), &|_| {})
        .await
        .expect("sync");
    let commits = wh.version("orders").await.expect("version") - before;
    let calls = r.client.requests;
    // The fastest compliant caller: bursts of `per_second` each second, `per_minute` a minute.
    let (ps, pm) = (
        per_second.unwrap_or(10) as u64,
        per_minute.unwrap_or(400) as u64,
    );
    let best = 60 * ((calls - 1) / pm) + ((calls - 1) % pm) / ps;
    let refused = sim
        .state
        .stats
        .rate_limited
        .load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "TOP 2-year backfill: {} windows ({} empty), {calls} calls in {:.1} s, {refused} refused; \
         {commits} commits to orders; the budget allows the calls in {best} s: {:.0} % of the budget",
        r.windows,
        r.empty_windows,
        r.elapsed.as_secs_f64(),
        100.0 * best as f64 / r.elapsed.as_secs_f64()
    );
    let full = r.windows - r.empty_windows;
    assert!(commits <= full + r.empty_windows.div_ceil(EMPTY_WINDOWS_PER_COMMIT as u64) + 1);
    assert_eq!(refused, 0);
}
