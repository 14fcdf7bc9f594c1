//! Scale-out jobs on a real PostgreSQL (started by `scripts/pg-test.sh`), as separate
//! processes: `zhongtai simulate minishop` ×2, `zhongtai worker` ×3, the CLI.
//!
//! - a worker killed with `kill -9` in the middle of a sync: the run is delivered again to
//!   another worker, waits for the dead attempt's lease, resumes and completes; every order
//!   is in the lake exactly once;
//! - two workers on the shared backend split the queued runs, and runs of one connector's
//!   sync never overlap in time (a second one queued meanwhile is skipped or waits).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{BIN, Lake, int};

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Pg {
    url: String,
    dir: String,
}

fn script(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scripts")
        .join(name)
}

impl Pg {
    fn start() -> Self {
        let out = Command::new(script("pg-test.sh"))
            .arg("start")
            .output()
            .expect("pg-test.sh");
        assert!(
            out.status.success(),
            "starting PostgreSQL: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = String::from_utf8(out.stdout).expect("utf-8");
        let (url, dir) = line.trim().split_once(' ').expect("URL DIR");
        Pg {
            url: url.into(),
            dir: dir.into(),
        }
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let _ = Command::new(script("pg-test.sh"))
            .args(["stop", &self.dir])
            .output();
    }
}

/// A MiniShop simulator with `orders` orders over five days (rate limits on: a sync takes
/// seconds, long enough to be killed in the middle).
fn sim(orders: u64, seed: u64) -> (Proc, String) {
    let mut child = Command::new(BIN)
        .args(["simulate", "minishop", "--port", "0", "--orders"])
        .arg(orders.to_string())
        .args([
            "--seed",
            &seed.to_string(),
            "--days",
            "5",
            "--end-date",
            "2026-11-14",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("simulator");
    let out = child.stdout.take().expect("stdout");
    let p = Proc(child);
    let url = BufReader::new(out)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("listening on ").map(str::to_string))
        .expect("the simulator listens");
    (p, url)
}

/// Registers the example manifest as `name`, its order ids prefixed `prefix`, against `url`.
fn register(lake: &Lake, name: &str, prefix: &str, url: &str) {
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/connectors/minishop.toml"),
    )
    .expect("the example manifest");
    let doc = example
        .replace("name = \"minishop\"", &format!("name = \"{name}\""))
        .replace("\"ms:\"", &format!("\"{prefix}\""))
        .replace("http://127.0.0.1:7302", url)
        .replace("schedule = \"*/15 * * * *\"\n", "")
        .replace("start_date = \"2026-11-01\"", "start_date = \"2026-11-09\"");
    let f = lake.file(&format!("{name}.toml"), &doc);
    lake.ok(&["connector", "add", f.to_str().expect("path")]);
}

fn worker(lake: &Lake, config: &str) -> (Proc, u32) {
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(lake.path())
        .args([
            "--config",
            config,
            "worker",
            "--concurrency",
            "2",
            "--no-scheduler",
        ])
        .env("ZHONGTAI_SECRET_MINISHOP", "minishop-demo-secret")
        .env_remove("ZHONGTAI_JOBS_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("worker");
    let pid = child.id();
    let out = child.stdout.take().expect("stdout");
    let p = Proc(child);
    let ready = BufReader::new(out)
        .lines()
        .map_while(Result::ok)
        .any(|l| l.starts_with("worker ready"));
    assert!(ready, "the worker did not start");
    (p, pid)
}

fn runs(lake: &Lake, config: &str) -> Vec<Value> {
    lake.ok(&[
        "--config", config, "jobs", "list", "--json", "--limit", "500",
    ])
    .lines()
    .map(|l| serde_json::from_str(l).expect("json line"))
    .collect()
}

fn run(lake: &Lake, config: &str, id: &str) -> Value {
    serde_json::from_str(&lake.ok(&["--config", config, "jobs", "show", id])).expect("json")
}

fn queue(lake: &Lake, config: &str, args: &[&str]) -> String {
    let mut a = vec!["--config", config, "jobs", "run"];
    a.extend_from_slice(args);
    lake.ok(&a).trim().to_string()
}

const FINAL: &[&str] = &["succeeded", "failed", "skipped", "cancelled"];

fn worker_pid(r: &Value) -> Option<u32> {
    r["worker"].as_str()?.split('-').nth(1)?.parse().ok()
}

#[test]
fn workers_share_postgres_split_the_runs_and_a_killed_workers_sync_completes_once() {
    let pg = Pg::start();
    let mut lake = Lake::new();
    lake.env.push((
        "ZHONGTAI_SECRET_MINISHOP".into(),
        "minishop-demo-secret".into(),
    ));
    let config = lake
        .file(
            "zhongtai.toml",
            &format!(
                "[jobs]\nurl = \"{}\"\nheartbeat_secs = 1\nlease_secs = 4\nretry_base_secs = 1\nmax_attempts = 6\n",
                pg.url
            ),
        )
        .display()
        .to_string();
    let (orders_a, orders_b) = (1_500u64, 6_000u64);
    let (_sim_a, url_a) = sim(orders_a, 5);
    let (_sim_b, url_b) = sim(orders_b, 9);
    register(&lake, "msa", "ma:", &url_a);
    register(&lake, "msb", "mb:", &url_b);

    // 1. One worker takes the big sync; it is killed while the sync runs.
    let (w1, pid1) = worker(&lake, &config);
    let killed = queue(&lake, &config, &["sync", "--connector", "msb"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = run(&lake, &config, &killed);
        if r["status"] == "running" {
            assert_eq!(worker_pid(&r), Some(pid1));
            break;
        }
        assert!(
            !FINAL.contains(&r["status"].as_str().unwrap_or("")),
            "the sync ended before it could be killed: {r}"
        );
        assert!(Instant::now() < deadline, "the sync never started: {r}");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1500));
    drop(w1); // SIGKILL: no goodbye, the lease and the apalis row are left behind

    // 2. Two other workers; more runs queued at once than either takes.
    let (_w2, pid2) = worker(&lake, &config);
    let (_w3, pid3) = worker(&lake, &config);
    let mut queued = Vec::new();
    for _ in 0..3 {
        queued.push(queue(&lake, &config, &["sync", "--connector", "msa"]));
    }
    for _ in 0..2 {
        queued.push(queue(&lake, &config, &["reconcile"]));
        queued.push(queue(&lake, &config, &["alerts"]));
    }
    let deadline = Instant::now() + Duration::from_secs(240);
    let all = loop {
        let all = runs(&lake, &config);
        let open = all
            .iter()
            .filter(|r| !FINAL.contains(&r["status"].as_str().unwrap_or("")))
            .count();
        if open == 0 && all.iter().any(|r| r["run_id"] == killed.as_str()) {
            break all;
        }
        assert!(
            Instant::now() < deadline,
            "runs still open after 240 s: {:#?}",
            all.iter()
                .filter(|r| !FINAL.contains(&r["status"].as_str().unwrap_or("")))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(500));
    };

    // The killed run was delivered again and finished on a live worker.
    let k = all
        .iter()
        .find(|r| r["run_id"] == killed.as_str())
        .expect("killed run");
    assert_eq!(k["status"], "succeeded", "{k}");
    assert!(
        matches!(worker_pid(k), Some(p) if p == pid2 || p == pid3),
        "finished by a live worker: {k}"
    );
    // Exactly once in effect: every simulated order once, none twice.
    for (prefix, n) in [("mb:", orders_b), ("ma:", orders_a)] {
        let r = lake.query(&format!(
            "select count(*) as n, count(distinct order_id) as d from orders where order_id like '{prefix}%'"
        ));
        assert_eq!(
            (int(&r[0]["n"]), int(&r[0]["d"])),
            (n as i64, n as i64),
            "{prefix}"
        );
    }
    // Both live workers did work.
    let mine: Vec<&Value> = all
        .iter()
        .filter(|r| queued.contains(&r["run_id"].as_str().unwrap_or("").to_string()))
        .collect();
    let pids: std::collections::BTreeSet<u32> = all
        .iter()
        .filter(|r| r["status"] != "skipped")
        .filter_map(worker_pid)
        .collect();
    assert!(
        pids.contains(&pid2) && pids.contains(&pid3),
        "the runs were not split: {pids:?} (workers {pid2}, {pid3})"
    );
    assert_eq!(mine.len(), queued.len());
    // One connector's syncs never overlapped.
    for target in ["sync:msa", "sync:msb", "marts", "reconcile", "alerts"] {
        let mut spans: Vec<(i64, i64)> = all
            .iter()
            .filter(|r| r["target"] == target && r["status"] == "succeeded")
            .map(|r| {
                (
                    r["started_at"].as_i64().expect("started"),
                    r["finished_at"].as_i64().expect("finished"),
                )
            })
            .collect();
        spans.sort();
        for w in spans.windows(2) {
            assert!(w[0].1 <= w[1].0, "{target}: runs overlapped: {spans:?}");
        }
    }
    let msa: Vec<&Value> = all.iter().filter(|r| r["target"] == "sync:msa").collect();
    assert!(msa.iter().any(|r| r["status"] == "succeeded"), "{msa:#?}");
    assert!(
        msa.iter()
            .all(|r| r["status"] == "succeeded" || r["status"] == "skipped"),
        "{msa:#?}"
    );
}
