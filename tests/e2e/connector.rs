//! Connectors end to end, as separate processes: `zhongtai simulate jushuitan` serves a
//! generated world on loopback; `zhongtai connector add/sync` pulls it into the lake. The sync
//! process is killed with SIGKILL at random points and re-run: the lake must end with exactly
//! the world's orders, none lost, none doubled.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use pipelines::demo::{DemoConfig, jushuitan_orders};
use serde_json::Value;

use crate::support::{BIN, Lake, fen, int, s};

const ORDERS: u64 = 3_000;
const DAYS: u32 = 10;
const SEED: u64 = 7;

fn end_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).expect("date")
}

/// A running simulator process; killed when dropped.
pub(crate) struct Sim {
    child: Child,
    pub(crate) doc: std::path::PathBuf,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start_sim(lake: &Lake, extra: &[&str]) -> Sim {
    let doc = lake.path().join("jst-sim.toml");
    let mut child = Command::new(BIN)
        .args([
            "simulate",
            "jushuitan",
            "--port",
            "0",
            "--seed",
            &SEED.to_string(),
        ])
        .args(["--orders", &ORDERS.to_string(), "--days", &DAYS.to_string()])
        .args(["--end-date", &end_date().to_string(), "--write-connector"])
        .arg(&doc)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the simulator");
    let out = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "the simulator did not start");
        match lines.next() {
            Some(Ok(l)) if l.starts_with("listening on ") => break,
            Some(Ok(_)) => {}
            _ => panic!("the simulator exited before listening"),
        }
    }
    Sim { child, doc }
}

pub(crate) fn with_secrets(lake: &mut Lake) {
    for (k, v) in [
        ("JST_APP_SECRET", "sim-app-secret"),
        ("JST_ACCESS_TOKEN", "sim-access-token"),
        ("JST_REFRESH_TOKEN", "sim-refresh-token"),
    ] {
        lake.env.push((k.into(), v.into()));
    }
}

/// `(shop, day) -> (orders, pay fen)` from the world's documents, independently of the
/// connector's mapping: every order modified before `to`.
fn expected(to: &str) -> BTreeMap<(String, String), (i64, i64)> {
    let cfg = DemoConfig {
        orders: ORDERS,
        skus: 3_000,
        days: DAYS,
        end_date: end_date(),
        seed: SEED,
    };
    let mut out = BTreeMap::new();
    jushuitan_orders(&cfg, &mut |doc: Value| {
        if s(&doc["modified"]).as_str() < to {
            let key = (
                format!("jst:{}", doc["shop_id"]),
                s(&doc["created"])[..10].to_string(),
            );
            let e = out.entry(key).or_insert((0, 0));
            e.0 += 1;
            e.1 += fen(&doc["pay_amount"]);
        }
    })
    .expect("world");
    out
}

fn lake_totals(lake: &Lake) -> BTreeMap<(String, String), (i64, i64)> {
    lake.query(
        "select shop_id, cast(order_date as varchar) as d, count(*) as n, sum(pay_amount) as s \
         from orders group by 1, 2",
    )
    .iter()
    .map(|r| ((s(&r["shop_id"]), s(&r["d"])), (int(&r["n"]), fen(&r["s"]))))
    .collect()
}

pub(crate) fn no_duplicates(lake: &Lake) {
    for (table, key) in [
        ("orders", "order_id"),
        ("order_items", "order_item_id"),
        ("payments", "payment_id"),
    ] {
        let r = lake.query(&format!(
            "select count(*) as n, count(distinct {key}) as d from {table}"
        ));
        assert_eq!(r[0]["n"], r[0]["d"], "{table} has duplicate keys");
        assert!(int(&r[0]["n"]) > 0, "{table} is empty");
    }
}

pub(crate) const FROM: &str = "2026-11-11";
pub(crate) const TO: &str = "2026-11-21";

#[test]
fn a_sync_killed_with_sigkill_again_and_again_ends_with_exactly_the_world() {
    let mut lake = Lake::new();
    with_secrets(&mut lake);
    let sim = start_sim(&lake, &["--unlimited"]);
    lake.ok(&["connector", "add", sim.doc.to_str().expect("path")]);

    let sync_args = [
        "connector",
        "sync",
        "jst-sim",
        "--from",
        FROM,
        "--to",
        TO,
        "--window-hours",
        "12",
    ];
    // Deterministic pseudo-random kill points; every third run is a --full re-read so kills
    // also land while existing rows are being rewritten.
    let mut seed: u64 = 0x6b69_6c6c;
    let (mut interrupted, mut attempts) = (0, 0);
    while interrupted < 20 {
        attempts += 1;
        assert!(
            attempts <= 80,
            "only {interrupted} of {attempts} runs could be interrupted"
        );
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let delay = Duration::from_millis(150 + (seed >> 33) % 1_500);
        let mut cmd = Command::new(BIN);
        cmd.arg("--data-dir").arg(lake.path()).args(sync_args);
        if attempts % 3 == 0 {
            cmd.arg("--full");
        }
        for (k, v) in &lake.env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sync");
        std::thread::sleep(delay);
        if child.try_wait().expect("poll").is_none() {
            interrupted += 1;
            child.kill().expect("SIGKILL");
        }
        let _ = child.wait();
    }
    let out = lake.ok(&sync_args);
    assert!(out.contains("rows written"), "{out}");
    assert_eq!(lake_totals(&lake), expected("2026-11-21"));
    no_duplicates(&lake);

    // A run with nothing new changes nothing.
    let before = lake.tables();
    lake.ok(&sync_args);
    assert_eq!(lake_totals(&lake), expected("2026-11-21"));
    assert_eq!(before["orders"].0, lake.tables()["orders"].0);
}

#[test]
fn a_wrong_secret_is_reported_with_the_platforms_message_and_writes_nothing() {
    let mut lake = Lake::new();
    with_secrets(&mut lake);
    let sim = start_sim(&lake, &["--unlimited"]);
    lake.ok(&["connector", "add", sim.doc.to_str().expect("path")]);
    lake.env.retain(|(k, _)| k != "JST_APP_SECRET");
    lake.env
        .push(("JST_APP_SECRET".into(), "not-the-secret".into()));
    let err = lake.fails(&["connector", "sync", "jst-sim", "--from", FROM, "--to", TO]);
    assert!(
        err.contains("refused the credentials") && err.contains("code 10"),
        "{err}"
    );
    assert!(!err.contains("not-the-secret"), "the secret leaked: {err}");
    let test = lake.run(&["connector", "test", "jst-sim"]);
    assert!(!test.status.success());
    assert!(String::from_utf8_lossy(&test.stdout).contains("FAIL"));
    assert_eq!(lake.tables()["orders"].0, 0, "nothing was written");
    // A missing secret names the variable.
    lake.env.retain(|(k, _)| k != "JST_APP_SECRET");
    let err = lake.fails(&["connector", "sync", "jst-sim"]);
    assert!(err.contains("JST_APP_SECRET"), "{err}");
}
