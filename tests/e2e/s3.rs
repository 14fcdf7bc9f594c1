//! The lake on S3: the same demo against a real S3-compatible server (s3s-fs) on loopback.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::support::{Lake, fen, int};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn s3s_fs() -> PathBuf {
    if let Ok(p) = std::env::var("ZHONGTAI_S3S_FS") {
        return PathBuf::from(p);
    }
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo")
        });
    home.join("bin").join("s3s-fs")
}

#[test]
fn demo_on_s3_reads_back_the_same_totals() {
    let bin = s3s_fs();
    assert!(
        bin.exists(),
        "{} is missing: run scripts/setup-test-tools.sh (it installs s3s-fs)",
        bin.display()
    );
    let root = tempfile::tempdir().expect("s3 root");
    std::fs::create_dir_all(root.path().join("zhongtai")).expect("bucket");
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let child = Command::new(&bin)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--access-key",
            "ak",
            "--secret-key",
            "sk",
        ])
        .arg(root.path())
        .spawn()
        .expect("start s3s-fs");
    let _server = Server(child);
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "s3s-fs did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let mut lake = Lake::new();
    lake.lake_url = Some("s3://zhongtai/lake".into());
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "ak".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "sk".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
        ("AWS_ALLOW_HTTP", "true".to_string()),
    ] {
        lake.env.push((k.to_string(), v));
    }
    lake.ok(&[
        "demo",
        "--orders",
        "2000",
        "--skus",
        "100",
        "--days",
        "30",
        "--end-date",
        "2026-11-24",
    ]);
    let ledger: serde_json::Value = serde_json::from_slice(
        &std::fs::read(lake.path().join("demo-ledger.json")).expect("ledger"),
    )
    .expect("json");
    let r = lake.query("select count(*) as n, sum(pay_amount) as paid from orders");
    assert_eq!(int(&r[0]["n"]), 2000);
    assert_eq!(
        fen(&r[0]["paid"]),
        int(&ledger["money"]["orders.pay_amount"])
    );
    assert!(
        root.path().join("zhongtai/lake/orders/_delta_log").is_dir(),
        "the Delta log is in the bucket"
    );
    assert!(
        !lake.path().join("lake").exists(),
        "nothing was written to the local default lake"
    );
}
