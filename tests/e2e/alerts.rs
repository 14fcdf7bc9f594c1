//! Alerts end to end, as separate processes: `zhongtai simulate robots` (WeCom, DingTalk and
//! Feishu receivers that verify signatures, an SMTP sink) and `zhongtai serve` with a config
//! file naming them as channels, a low-stock rule and a schedule evaluating it every 2 s.
//!
//! An operator enters a product with a low-stock watermark and stock movements through the
//! API; no job is started by hand. The rule fires once to all four receivers when stock falls
//! under the watermark, stays quiet while it stays low, and resolves when stock is back.

use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::{Value, json};

use crate::support::{Lake, spawn};

async fn get(http: &Client, url: &str) -> Value {
    let t = http
        .get(url)
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    serde_json::from_str(&t).expect("json")
}

async fn post(http: &Client, base: &str, token: &str, path: &str, body: Value) -> Value {
    let r = http
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("post");
    let st = r.status();
    let t = r.text().await.expect("body");
    assert!(st.is_success(), "POST {path}: {st} {t}");
    serde_json::from_str(&t).expect("json")
}

/// (accepted per robot channel, refused, mails) as the receivers saw them.
async fn received(http: &Client, sim: &str) -> (Vec<(String, String)>, usize, Vec<Value>) {
    let log = get(http, &format!("{sim}/_sim/log")).await;
    let log = log.as_array().expect("log").clone();
    let accepted = log
        .iter()
        .filter(|r| r["code"] == 0 || r["code"] == 200)
        .map(|r| {
            (
                r["channel"].as_str().unwrap_or("").to_string(),
                r["body"].to_string(),
            )
        })
        .collect();
    let refused = log
        .iter()
        .filter(|r| r["code"] != 0 && r["code"] != 200)
        .count();
    let mails = get(http, &format!("{sim}/_sim/mails")).await;
    (accepted, refused, mails.as_array().expect("mails").clone())
}

fn count(acc: &[(String, String)], ch: &str) -> usize {
    acc.iter().filter(|(c, _)| c == ch).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_low_stock_rule_fires_once_to_every_receiver_and_resolves_when_restocked() {
    let mut lake = Lake::new();
    let (_robots, lines) = spawn(
        &lake,
        &["simulate", "robots", "--port", "0"],
        "listening on ",
    );
    let mut sim = String::new();
    for l in &lines {
        if let Some(kv) = l.strip_prefix("export ") {
            let (k, v) = kv.split_once('=').expect("k=v");
            lake.env.push((k.into(), v.into()));
        } else if let Some(u) = l.strip_prefix("listening on ") {
            sim = u.to_string();
        }
    }
    let smtp_port = lake
        .env
        .iter()
        .find(|(k, _)| k == "ZT_SMTP_PORT")
        .map(|(_, v)| v.clone())
        .expect("smtp port");
    lake.file(
        "zhongtai.toml",
        &format!(
            r#"
[jobs]
workers = 2

[[jobs.schedule]]
name = "alerts"
cron = "*/2 * * * * *"
job = {{ kind = "alerts" }}

[alerts]
ui_base = "http://127.0.0.1:8080"
lang = "both"

[alerts.channels.wecom]
kind = "wecom"
url = "${{ZT_WECOM_URL}}"

[alerts.channels.ding]
kind = "dingtalk"
url = "${{ZT_DING_URL}}"
secret = "${{ZT_DING_SECRET}}"

[alerts.channels.feishu]
kind = "feishu"
url = "${{ZT_FEISHU_URL}}"
secret = "${{ZT_FEISHU_SECRET}}"

[alerts.channels.mail]
kind = "email"
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
from = "zhongtai <alerts@example.com>"
to = ["boss@example.com"]

[[alerts.rules]]
name = "low-stock"
builtin = "low_stock"
channels = ["wecom", "ding", "feishu", "mail"]
"#
        ),
    );
    let csv = lake.file(
        "warehouses.csv",
        "warehouse_id,name,city\nW01,杭州仓,杭州\n",
    );
    lake.ok(&["import", "warehouses", csv.to_str().expect("path")]);
    let token = lake
        .ok(&["token", "create", "--role", "admin"])
        .trim()
        .to_string();
    let (_server, lines) = spawn(&lake, &["serve", "--addr", "127.0.0.1:0"], "listening on ");
    let base = lines
        .last()
        .and_then(|l| l.strip_prefix("listening on "))
        .expect("base")
        .to_string();
    let http = Client::new();

    // The operator's day: a category, a product whose SKU alerts under 10, 50 units in.
    post(
        &http,
        &base,
        &token,
        "/api/v1/forms/categories",
        json!({"category_id": "C-TEE", "name": "T恤"}),
    )
    .await;
    post(&http, &base, &token, "/api/v1/forms/products", json!({
        "spu_id": "SPU-TEE", "name": "白T恤", "category_id": "C-TEE",
        "skus": [{"sku_id": "SKU-TEE-L", "name": "白T恤 L", "list_price": "99.00", "cost_price": "30.00", "low_stock": 10}]
    })).await;
    let mv = |id: &str, kind: &str, qty: i64| json!({"movement_id": id, "sku_id": "SKU-TEE-L", "warehouse_id": "W01", "kind": kind, "qty": qty, "moved_at": "2026-11-30 09:00:00"});
    post(
        &http,
        &base,
        &token,
        "/api/v1/forms/stock_movements",
        mv("E2E-IN-1", "in", 50),
    )
    .await;
    // Several evaluations with 50 on hand: nothing to say.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let runs = get_auth(
            &http,
            &format!("{base}/api/v1/jobs?kind=alerts&status=succeeded"),
            &token,
        )
        .await;
        if runs["jobs"].as_array().map_or(0, Vec::len) >= 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the alerts schedule is not running: {runs}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (acc, refused, mails) = received(&http, &sim).await;
    assert!(
        acc.is_empty() && mails.is_empty() && refused == 0,
        "{acc:?} {mails:?}"
    );

    // 45 go out: 5 left. Every receiver hears it once, with its signature checked.
    post(
        &http,
        &base,
        &token,
        "/api/v1/forms/stock_movements",
        mv("E2E-OUT-1", "out", 45),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let (acc, _, mails) = loop {
        let r = received(&http, &sim).await;
        if ["wecom", "dingtalk", "feishu"]
            .iter()
            .all(|c| count(&r.0, c) >= 1)
            && !r.2.is_empty()
        {
            break r;
        }
        assert!(
            Instant::now() < deadline,
            "not every receiver was told: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let wecom = acc
        .iter()
        .find(|(c, _)| c == "wecom")
        .expect("wecom")
        .1
        .clone();
    assert!(
        wecom.contains("白T恤 L (SKU-TEE-L) @ W01") && wecom.contains("当前值 5"),
        "{wecom}"
    );
    assert!(
        mails[0]["subject"]
            .as_str()
            .is_some_and(|s| s.contains("【告警】low-stock")),
        "{mails:?}"
    );
    // More evaluations while it stays low: still one message each.
    let seen = get_auth(
        &http,
        &format!("{base}/api/v1/jobs?kind=alerts&status=succeeded&limit=1000"),
        &token,
    )
    .await["jobs"]
        .as_array()
        .map_or(0, Vec::len);
    let deadline = Instant::now() + Duration::from_secs(60);
    while get_auth(
        &http,
        &format!("{base}/api/v1/jobs?kind=alerts&status=succeeded&limit=1000"),
        &token,
    )
    .await["jobs"]
        .as_array()
        .map_or(0, Vec::len)
        < seen + 3
    {
        assert!(Instant::now() < deadline, "evaluations stopped");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (acc, refused, mails) = received(&http, &sim).await;
    for c in ["wecom", "dingtalk", "feishu"] {
        assert_eq!(count(&acc, c), 1, "{c} told more than once: {acc:?}");
    }
    assert_eq!((mails.len(), refused), (1, 0), "{mails:?}");

    // Restocked past the clear level: resolved, and everyone hears so.
    post(
        &http,
        &base,
        &token,
        "/api/v1/forms/stock_movements",
        mv("E2E-IN-2", "in", 20),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (acc, _, mails) = received(&http, &sim).await;
        if ["wecom", "dingtalk", "feishu"]
            .iter()
            .all(|c| count(&acc, c) == 2)
            && mails.len() == 2
        {
            assert!(
                mails[1]["subject"]
                    .as_str()
                    .is_some_and(|s| s.contains("已恢复")),
                "{mails:?}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the resolution was not sent: {acc:?} {mails:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let alerts = get_auth(&http, &format!("{base}/api/v1/alerts"), &token).await;
    let st = &alerts["alerts"][0];
    assert_eq!(
        (
            st["rule"].as_str(),
            st["key"].as_str(),
            st["firing"].as_bool()
        ),
        (Some("low-stock"), Some("SKU-TEE-L@W01"), Some(false)),
        "{alerts}"
    );
    let log = get_auth(&http, &format!("{base}/api/v1/alerts/deliveries"), &token).await;
    let sent = log["deliveries"]
        .as_array()
        .expect("log")
        .iter()
        .filter(|d| d["status"] == "sent")
        .count();
    assert_eq!(sent, 8, "{log}");
}

async fn get_auth(http: &Client, url: &str, token: &str) -> Value {
    let t = http
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    serde_json::from_str(&t).expect("json")
}
