//! The engine with a declarative manifest: `examples/connectors/minishop.toml` (the real file,
//! common keys stripped as the registry does) against the MiniShop simulator gives the lake
//! exactly the simulated world, with faults, late changes and the rate limit on.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{Array, AsArray, Decimal128Array, Int64Array};
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use connectors::manifest::{HttpSettings, build_streams};
use connectors::minishop_sim::{
    DEFAULT_APP_SECRET, Fault, MsConfig, MsState, MsStatus, RunningMiniShop, generate,
};
use connectors::stream::{NoTokenSink, Secrets, Stream};
use warehouse::{LakeConfig, Warehouse};

use super::engine::{SyncOptions, cursor, sync_stream};

const EXAMPLE: &str = include_str!("../../../examples/connectors/minishop.toml");
const CONNECTOR: &str = "minishop";

fn day0() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).expect("date")
}

fn at(days: i64) -> NaiveDateTime {
    day0().and_hms_opt(0, 0, 0).expect("midnight") + chrono::Duration::days(days)
}

/// Unix seconds of a Shanghai wall-clock time (fixed +08:00, no DST).
fn unix(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp() - 8 * 3600
}

/// The example's stream against `base_url`; the registry's part done by hand.
fn stream(base_url: &str, paced: bool) -> Arc<dyn Stream> {
    let mut doc: toml::Table = toml::from_str(EXAMPLE).expect("example parses");
    let mut secrets = Secrets::default();
    let declared = doc.remove("secrets").expect("[secrets]");
    assert_eq!(
        declared["api_secret"]["env"].as_str(),
        Some("ZHONGTAI_SECRET_MINISHOP")
    );
    secrets.insert("api_secret", DEFAULT_APP_SECRET);
    for k in ["name", "kind", "description", "schedule", "start_date"] {
        assert!(doc.remove(k).is_some(), "the example has `{k}`");
    }
    let mut settings: HttpSettings = doc.try_into().expect("settings");
    settings.validate().expect("valid");
    settings.requester.base_url = base_url.to_string();
    settings.requester.backoff_ms = 20;
    settings.requester.timeout_secs = 1;
    if !paced {
        settings.rate_limit = Default::default();
    }
    build_streams(&settings, &secrets, Arc::new(NoTokenSink), &[])
        .expect("streams")
        .remove(0)
}

async fn setup(n: u64, config: MsConfig) -> (RunningMiniShop, tempfile::TempDir, Warehouse) {
    let state = MsState::new(config, generate(n, 2026, day0(), 10));
    let sim = RunningMiniShop::start(state, 0).await.expect("sim");
    let dir = tempfile::tempdir().expect("tmp");
    let wh = Warehouse::open(&LakeConfig {
        url: dir.path().display().to_string(),
        ..Default::default()
    })
    .await
    .expect("lake");
    (sim, dir, wh)
}

fn opts(to_day: i64) -> SyncOptions {
    SyncOptions::new(at(0), at(to_day))
}

type Totals = BTreeMap<(String, String), (i64, i64)>;

/// `(shop, Shanghai day of creation) -> (orders, pay fen)` straight from the world's numbers.
fn expected(sim: &RunningMiniShop) -> Totals {
    let mut out = Totals::new();
    for o in sim.state.world.orders() {
        let day = DateTime::from_timestamp(o.created + 8 * 3600, 0)
            .expect("t")
            .format("%Y-%m-%d")
            .to_string();
        let e = out
            .entry((format!("ms:wx-shop-{}", o.shop), day))
            .or_insert((0, 0));
        e.0 += 1;
        e.1 += o.total();
    }
    out
}

/// (order lines, payments) in the world.
fn world_children(sim: &RunningMiniShop) -> (i64, i64) {
    let all = sim.state.world.orders();
    (
        all.iter().map(|o| o.items.len() as i64).sum(),
        all.iter().filter(|o| o.paid.is_some()).count() as i64,
    )
}

async fn lake_totals(wh: &Warehouse) -> Totals {
    let sql = "select shop_id, cast(order_date as varchar) as d, count(*) as n, sum(pay_amount) as s from orders group by 1, 2";
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

async fn scalar(wh: &Warehouse, sql: &str) -> i64 {
    let b = wh.query(sql).await.expect(sql);
    let c = b[0].column(0);
    assert!(c.is_valid(0), "{sql}");
    c.as_any()
        .downcast_ref::<Int64Array>()
        .expect("int")
        .value(0)
}

async fn counts(wh: &Warehouse) -> (i64, i64, i64) {
    (
        scalar(wh, "select count(*) from orders").await,
        scalar(wh, "select count(*) from order_items").await,
        scalar(wh, "select count(*) from payments").await,
    )
}

async fn assert_lake_is_the_world(wh: &Warehouse, sim: &RunningMiniShop) {
    assert_eq!(lake_totals(wh).await, expected(sim));
    let (items, pays) = world_children(sim);
    let n = sim.state.world.len() as i64;
    assert_eq!(counts(wh).await, (n, items, pays));
    assert_eq!(
        scalar(wh, "select count(distinct order_id) from orders").await,
        n,
        "no duplicates"
    );
    // Payments: the same money as the paid orders, from the world.
    let paid: i64 = sim
        .state
        .world
        .orders()
        .iter()
        .filter(|o| o.paid.is_some())
        .map(|o| o.total())
        .sum();
    let lake_paid = wh
        .query("select sum(amount) from payments")
        .await
        .expect("sum");
    let s = lake_paid[0]
        .column(0)
        .as_any()
        .downcast_ref::<Decimal128Array>()
        .expect("money")
        .value(0) as i64;
    assert_eq!(s, paid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_manifest_syncs_exactly_the_world_and_late_changes_arrive() {
    let (sim, _dir, wh) = setup(3_000, MsConfig::default().unlimited()).await;
    let s = stream(&sim.base_url(), false);
    let r = sync_stream(&wh, CONNECTOR, &s, &opts(11), &|_| {})
        .await
        .expect("sync");
    assert_eq!(r.windows, 11, "24-hour windows");
    assert_lake_is_the_world(&wh, &sim).await;
    assert_eq!(
        cursor(&wh, CONNECTOR, s.as_ref()).await.expect("cursor"),
        Some(at(11))
    );
    let sources = wh
        .query("select distinct source from orders")
        .await
        .expect("q");
    assert_eq!(sources[0].num_rows(), 1);
    let source = arrow::compute::cast(sources[0].column(0), &arrow::datatypes::DataType::Utf8)
        .expect("text");
    assert_eq!(source.as_string::<i32>().value(0), "minishop");

    // Old orders change after the sync: refunded, and one loses a line.
    let later = unix(at(11) + chrono::Duration::hours(3));
    let all = sim.state.world.orders();
    let two_lines = all
        .iter()
        .find(|o| o.items.len() >= 2)
        .expect("an order with 2 lines");
    for o in [&all[3], &all[1_500], &all[2_999]] {
        assert!(
            sim.state
                .world
                .modify(o.id, later, |o| o.status = MsStatus::Refunded)
        );
    }
    assert!(sim.state.world.modify(two_lines.id, later, |o| {
        o.items = o.items[..o.items.len() - 1].into();
    }));
    let refunded_before =
        scalar(&wh, "select count(*) from orders where status = 'refunded'").await;
    let r = sync_stream(&wh, CONNECTOR, &s, &opts(12), &|_| {})
        .await
        .expect("incremental");
    assert_eq!(r.started_at, Some(at(11) - chrono::Duration::minutes(10)));
    assert_lake_is_the_world(&wh, &sim).await;
    let refunded = scalar(&wh, "select count(*) from orders where status = 'refunded'").await;
    let newly = [&all[3], &all[1_500], &all[2_999]]
        .iter()
        .filter(|o| o.status != MsStatus::Refunded)
        .count() as i64;
    assert_eq!(refunded, refunded_before + newly);
    let gone = format!(
        "select count(*) from order_items where order_item_id = 'ms:{}-{}'",
        two_lines.wire_id(),
        two_lines.items.len()
    );
    assert_eq!(
        scalar(&wh, &gone).await,
        0,
        "the removed line left the lake"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_on_the_platform_still_give_exactly_the_world() {
    let (sim, _dir, wh) = setup(2_000, MsConfig::default().unlimited()).await;
    // A change while the sync pages: the order moves into the last window and is read there.
    let moved = sim.state.world.orders()[100].clone();
    sim.state.inject([
        Fault::ServerError,
        Fault::Garbage,
        Fault::Throttle,
        Fault::Modify {
            id: moved.id,
            updated: unix(at(10) + chrono::Duration::hours(20)),
        },
        Fault::Slow(Duration::from_secs(2)),
        Fault::ServerError,
    ]);
    let s = stream(&sim.base_url(), false);
    let r = sync_stream(&wh, CONNECTOR, &s, &opts(11), &|_| {})
        .await
        .expect("sync");
    assert!(r.client.retries >= 5, "{:?}", r.client);
    assert_ne!(
        sim.state.world.get(moved.id),
        Some(moved),
        "the order did change"
    );
    assert_lake_is_the_world(&wh, &sim).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paced_by_the_manifest_the_rate_limit_is_never_hit() {
    let (sim, _dir, wh) = setup(2_500, MsConfig::default()).await;
    let s = stream(&sim.base_url(), true);
    let r = sync_stream(&wh, CONNECTOR, &s, &opts(11), &|_| {})
        .await
        .expect("sync");
    assert!(r.client.requests > 8, "enough requests to need pacing");
    assert_eq!(
        connectors::minishop_sim::MsStats::get(&sim.state.stats.rate_limited),
        0
    );
    assert_lake_is_the_world(&wh, &sim).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_manifest_passes_the_conformance_suite() {
    let (sim, _dir, _wh) = setup(1_500, MsConfig::default().unlimited()).await;
    let s = stream(&sim.base_url(), false);
    let state = Arc::clone(&sim.state);
    let throttle = move || state.inject([Fault::Throttle, Fault::Throttle]);
    let report = super::conformance::check(&super::conformance::Target {
        connector: "manifest-conformance",
        stream: Arc::clone(&s),
        from: at(0),
        to: at(10),
        window: Duration::from_secs(24 * 3600),
        empty_from: at(-30),
        empty_to: at(-28),
        throttle: &throttle,
    })
    .await
    .expect("conformance");
    assert_eq!(report.checks.len(), 6, "{:?}", report.checks);
}
