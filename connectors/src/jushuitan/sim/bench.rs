//! Size and speed of the simulator world (`#[ignore]`d; run with
//! `cargo test --workspace sim_world_million -- --ignored --nocapture`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::jushuitan::{ClientConfig, Credentials, JstClient};

/// Peak resident set of this process in MiB (Linux).
fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: 1M orders"]
async fn sim_world_million_orders_memory_and_pages_per_second() {
    let n = 1_000_000;
    let from = chrono::NaiveDate::from_ymd_opt(2026, 10, 1)
        .expect("date")
        .and_hms_opt(0, 0, 0)
        .expect("time");
    let before = peak_rss_mib();
    let t = Instant::now();
    let world = SimWorld::default();
    let bytes: usize = generate::orders(3, from, 30)
        .map(|d| d.json.len())
        .sum::<usize>()
        / 3;
    assert_eq!(
        world.load(ORDERS, generate::orders(n, from, 30)),
        n as usize
    );
    world.load(SHOPS, generate::shops());
    let loaded = t.elapsed();
    let after = peak_rss_mib();
    println!(
        "1M orders (~{bytes} B of JSON each): loaded in {loaded:.1?}, peak RSS {after} MiB (was {before} MiB before)"
    );

    // In-process: one page of 100 from a 7-day window, as the handler builds it.
    let state = SimState::new(SimConfig::default().unlimited(), world, "tok", "ref");
    let biz = |page: i64| {
        format!(
            r#"{{"modified_begin":"2026-10-08 00:00:00","modified_end":"2026-10-14 23:59:59","page_index":{page},"page_size":100}}"#
        )
    };
    let ep = endpoints::ENDPOINTS
        .iter()
        .find(|e| e.path == "/open/orders/single/query")
        .expect("orders endpoint");
    let t = Instant::now();
    let mut pages: u32 = 0;
    while t.elapsed() < Duration::from_secs(3) {
        pages += 1;
        let body = endpoints::query(&state, ep, &biz(1 + i64::from(pages % 2000))).expect("page");
        assert!(body.len() > 50_000);
    }
    println!(
        "in-process: {:.0} pages/s of 100 orders (window of ~233k orders)",
        f64::from(pages) / t.elapsed().as_secs_f64()
    );

    // Over HTTP with a real client, limits off.
    let sim = RunningSim::start(Arc::clone(&state), 0).await.expect("sim");
    let mut cfg = ClientConfig::new(sim.base_url());
    cfg.per_second = None;
    cfg.per_minute = None;
    let c = JstClient::new(
        cfg,
        Credentials {
            app_key: state.config.app_key.clone(),
            app_secret: state.config.app_secret.clone(),
            access_token: "tok".into(),
        },
        None,
    );
    let t = Instant::now();
    let mut pages: u32 = 0;
    while t.elapsed() < Duration::from_secs(5) {
        pages += 1;
        let p = c
            .call(
                "/open/orders/single/query",
                &biz(1 + i64::from(pages % 2000)),
                "orders",
            )
            .await
            .expect("page");
        assert_eq!(p.rows.len(), 100);
    }
    println!(
        "HTTP + client parse: {:.0} pages/s of 100 orders; peak RSS now {} MiB",
        f64::from(pages) / t.elapsed().as_secs_f64(),
        peak_rss_mib()
    );
}
