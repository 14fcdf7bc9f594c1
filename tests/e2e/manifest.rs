//! An integrator's declarative manifest, with no Rust: the repository's example
//! `examples/connectors/minishop.toml` is registered as is (only its base URL points at the
//! simulator's port) and synced from `zhongtai simulate minishop` into the lake.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use chrono::NaiveDate;

use crate::support::{BIN, Lake, fen, int, s};

struct Sim(Child);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const ORDERS: u64 = 2_000;
const SEED: u64 = 11;
const DAYS: u32 = 5;

fn start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 10).expect("date")
}

#[test]
fn the_example_manifest_syncs_the_third_platform_exactly() {
    let mut lake = Lake::new();
    lake.env.push((
        "ZHONGTAI_SECRET_MINISHOP".into(),
        "minishop-demo-secret".into(),
    ));
    let mut child = Command::new(BIN)
        .args([
            "simulate",
            "minishop",
            "--port",
            "0",
            "--orders",
            &ORDERS.to_string(),
        ])
        .args(["--seed", &SEED.to_string(), "--days", &DAYS.to_string()])
        .args(["--end-date", "2026-11-14"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("simulator");
    let out = child.stdout.take().expect("stdout");
    let sim = Sim(child);
    let url = BufReader::new(out)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("listening on ").map(str::to_string))
        .expect("the simulator listens");

    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/connectors/minishop.toml"),
    )
    .expect("the example manifest");
    assert!(example.contains("http://127.0.0.1:7302"));
    let doc = lake.file(
        "minishop.toml",
        &example.replace("http://127.0.0.1:7302", &url),
    );
    let added = lake.ok(&["connector", "add", doc.to_str().expect("path")]);
    assert!(added.contains("registered connector minishop"), "{added}");
    let tested = lake.ok(&["connector", "test", "minishop"]);
    assert!(tested.contains("ok"), "{tested}");
    let summary = lake.ok(&[
        "connector",
        "sync",
        "minishop",
        "--from",
        "2026-11-09",
        "--to",
        "2026-11-16",
    ]);
    assert!(summary.contains("orders="), "{summary}");

    // The world, computed from the simulator's own generator (not from the mapping).
    let world = connectors::minishop_sim::generate(ORDERS, SEED, start(), DAYS);
    let mut expected: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for o in world.orders() {
        let day = chrono::DateTime::from_timestamp(o.created + 8 * 3600, 0)
            .expect("t")
            .format("%Y-%m-%d")
            .to_string();
        let e = expected
            .entry((format!("ms:wx-shop-{}", o.shop), day))
            .or_insert((0, 0));
        e.0 += 1;
        e.1 += o.total();
    }
    let got: BTreeMap<(String, String), (i64, i64)> = lake
        .query(
            "select shop_id, cast(order_date as varchar) as d, count(*) as n, sum(pay_amount) as s \
             from orders group by 1, 2",
        )
        .iter()
        .map(|r| ((s(&r["shop_id"]), s(&r["d"])), (int(&r["n"]), fen(&r["s"]))))
        .collect();
    assert_eq!(got, expected);
    let lines: i64 = world.orders().iter().map(|o| o.items.len() as i64).sum();
    let r = lake.query("select count(*) as n, count(distinct order_item_id) as d from order_items");
    assert_eq!((int(&r[0]["n"]), int(&r[0]["d"])), (lines, lines));
    drop(sim);
}
