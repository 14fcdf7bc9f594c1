//! Windows read while the rows in them change (issue 16, item 1): the simulator modifies the
//! rows a page has just served, which moves them out of the window and shifts every row
//! behind them one place forward.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use serde_json::{Value, json};

use super::*;
use crate::jushuitan::{ClientConfig, Credentials, JstClient, JstInventory, JstOrders, JstStream};
use crate::stream::Stream;

const DAY0: &str = "2026-11-10 00:00:00";

fn at(minute: i64) -> String {
    (t(DAY0) + chrono::Duration::minutes(minute))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn t(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("time")
}

/// 187 orders and 187 purchase orders modified across one week, one warehouse of 187 SKUs.
fn world() -> SimWorld {
    let w = SimWorld::new((1..=187).map(
        |i| json!({"o_id": i, "so_id": format!("T{i}"), "modified": at(i * 50), "status": "Sent"}),
    ));
    for i in 1..=187 {
        w.upsert_in(PURCHASES, json!({"po_id": i, "modified": at(i * 50)}));
        w.upsert_in(
            &inventory(7),
            json!({"sku_id": format!("S{i}"), "qty": i, "modified": at(i)}),
        );
    }
    w.upsert_in(WAREHOUSES, json!({"wms_co_id": 7, "name": "主仓"}));
    w
}

async fn start() -> RunningSim {
    let state = SimState::new(SimConfig::default().unlimited(), world(), "tok0", "ref0");
    RunningSim::start(state, 0).await.expect("start simulator")
}

fn client(sim: &RunningSim) -> Arc<JstClient> {
    let mut cfg = ClientConfig::new(sim.base_url());
    cfg.backoff = Duration::from_millis(20);
    cfg.per_second = None;
    cfg.per_minute = None;
    let creds = Credentials {
        app_key: sim.state.config.app_key.clone(),
        app_secret: sim.state.config.app_secret.clone(),
        access_token: "tok0".into(),
    };
    Arc::new(JstClient::new(cfg, creds, Some("ref0".into())))
}

/// Every page of the week as the engine reads it: the keys of the rows received.
async fn read_week(s: &dyn Stream) -> Result<Vec<String>, crate::stream::StreamError> {
    let (begin, end) = (t(DAY0), t(DAY0) + chrono::Duration::days(7));
    let mut keys = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = s.page(begin, end, next.as_deref()).await?;
        keys.extend(page.rows.iter().filter_map(|r| s.record_key(r)));
        match page.next {
            Some(n) => next = Some(n),
            None => return Ok(keys),
        }
    }
}

fn distinct(keys: &[String]) -> BTreeSet<String> {
    keys.iter().cloned().collect()
}

#[tokio::test]
async fn paging_by_page_index_skips_rows_behind_changed_ones() {
    // The control: the simulator's churn does what the gateway did, and offsets lose rows.
    let sim = start().await;
    let c = client(&sim);
    sim.state.churn_after("/open/orders/single/query", 1, 3);
    let mut seen = BTreeSet::new();
    for page in 1.. {
        let p = c
            .orders_page(DAY0, "2026-11-16 23:59:59", page, 20)
            .await
            .expect("page");
        seen.extend(
            p.rows
                .iter()
                .filter_map(|o| o.get("o_id").and_then(Value::as_i64)),
        );
        if !p.has_next {
            break;
        }
    }
    assert_eq!(SimStats::get(&sim.state.stats.churned), 3);
    let missed: Vec<i64> = (1..=187).filter(|i| !seen.contains(i)).collect();
    assert_eq!(
        missed,
        vec![21, 22, 23],
        "the rows that crossed the page boundary"
    );
}

#[tokio::test]
async fn orders_by_rowversion_read_every_row_while_earlier_rows_change() {
    let sim = start().await;
    let orders = JstOrders::new(client(&sim), 20);
    sim.state.churn_after("/open/orders/single/query", 1, 3);
    sim.state.churn_after("/open/orders/single/query", 4, 5);
    let keys = read_week(&orders).await.expect("window");
    assert_eq!(SimStats::get(&sim.state.stats.churned), 8);
    let want: BTreeSet<String> = (1..=187).map(|i| i.to_string()).collect();
    assert_eq!(distinct(&keys), want, "every order of the week");
    assert_eq!(keys.len(), 187, "no page re-read: rowversions are unique");
    assert_eq!(
        SimStats::get(&sim.state.stats.ts_with_totals),
        0,
        "start_ts pages send is_get_total=false"
    );
}

#[tokio::test]
async fn purchases_are_read_again_until_a_pass_is_steady() {
    let sim = start().await;
    let purchases = JstStream::new("purchases", client(&sim), 20).expect("stream");
    sim.state.churn_after("/open/purchase/query", 1, 3);
    let keys = read_week(&purchases).await.expect("window");
    let want: BTreeSet<String> = (1..=187).map(|i| i.to_string()).collect();
    assert_eq!(distinct(&keys), want, "every purchase order of the week");
    // Pass 1 saw the count drop; pass 2 (184 rows left in the window) was steady.
    assert_eq!(keys.len(), 187 - 3 + 184, "two passes, the second complete");
}

#[tokio::test]
async fn a_steady_window_is_read_once_and_endless_change_is_refused() {
    let sim = start().await;
    let purchases = JstStream::new("purchases", client(&sim), 20).expect("stream");
    let keys = read_week(&purchases).await.expect("window");
    assert_eq!(keys.len(), 187, "nothing changed: one pass");
    // Every pass loses rows: the window is refused rather than its cursor moved.
    // A pass is 10 pages; each churn fires on the first page of the next pass.
    sim.state.churn_after("/open/purchase/query", 1, 1);
    for _ in 1..crate::jushuitan::paging::MAX_PASSES {
        sim.state.churn_after("/open/purchase/query", 10, 1);
    }
    let err = read_week(&purchases).await.expect_err("never steady");
    assert!(err.to_string().contains("passes"), "{err}");
}

#[tokio::test]
async fn inventory_pages_by_rowversion_while_stock_moves() {
    let sim = start().await;
    let inv = JstInventory::new(client(&sim), 20);
    sim.state.churn_after("/open/inventory/query", 1, 4);
    let keys = read_week(&inv).await.expect("inventory");
    let want: BTreeSet<String> = (1..=187).map(|i| format!("7:S{i}")).collect();
    assert_eq!(distinct(&keys), want);
    assert_eq!(
        keys.len(),
        187 + 4,
        "the 4 moved rows are read again, newer"
    );
}
