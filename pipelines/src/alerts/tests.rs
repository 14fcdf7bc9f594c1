//! A low-stock rule against the four kinds of receiver: it fires once (not at every
//! evaluation), every receiver verifies the signature, and restocking past the clear level
//! resolves it; a wrong signing secret is refused and logged with the platform's answer.

use std::collections::BTreeMap;
use std::io::Cursor;

use connectors::notify::sim::{ImSim, ImSimConfig, SmtpSink};
use connectors::notify::{SmtpTarget, SmtpTls, Target};
use serde_json::{Value, json};
use warehouse::{Owner, Warehouse};

use super::*;

async fn put(wh: &Warehouse, table: &str, rows: &[Value]) {
    let def = wh.def(table).expect("def");
    let mut buf = Vec::new();
    for r in rows {
        serde_json::to_writer(&mut buf, r).expect("json");
        buf.push(b'\n');
    }
    let batches: Vec<_> = arrow::json::ReaderBuilder::new(def.arrow_schema())
        .build(Cursor::new(buf))
        .expect("reader")
        .collect::<Result<_, _>>()
        .expect("rows");
    wh.write(table, Owner::source("test"))
        .upsert(&batches)
        .await
        .expect("write");
}

fn movement(id: &str, qty: i64) -> Value {
    json!({"movement_id": id, "sku_id": "SKU1", "warehouse_id": "W01", "kind": if qty < 0 {"out"} else {"in"},
           "qty": qty, "unit_cost": "10.00", "moved_at": "2026-11-21T02:00:00Z", "move_date": "2026-11-21", "source": "test"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn low_stock_fires_once_to_every_channel_and_resolves_when_restocked() {
    let dir = tempfile::tempdir().expect("tmp");
    let env = crate::jobs::test_env(dir.path()).await;
    let wh = env.wh.clone();
    put(&wh, "skus", &[json!({"sku_id": "SKU1", "spu_id": "SPU1", "name": "白T恤", "is_virtual": false,
        "allow_preorder": false, "allow_backorder": false, "lifecycle": "active", "list_price": "99.00",
        "cost_price": "10.00", "low_stock": 10, "source": "test"})]).await;
    put(
        &wh,
        "stock_snapshots",
        &[
            json!({"snapshot_date": "2026-11-20", "sku_id": "SKU1", "warehouse_id": "W01",
        "on_hand": 50, "unit_cost": "10.00", "source": "test"}),
        ],
    )
    .await;
    let im = ImSim::start(
        ImSimConfig {
            wecom_keys: vec!["wk".into()],
            dingtalk: vec![("dt".into(), "SECding".into())],
            feishu: vec![("fs".into(), "feishu-secret".into())],
            webhook_secret: None,
        },
        0,
    )
    .await
    .expect("im");
    let smtp = SmtpSink::start(None).await.expect("smtp");
    let mut channels = BTreeMap::new();
    channels.insert(
        "wecom".to_string(),
        Target::Wecom {
            url: im.wecom_url("wk"),
        },
    );
    channels.insert(
        "ding".to_string(),
        Target::Dingtalk {
            url: im.dingtalk_url("dt"),
            secret: Some("${DING_SECRET}".into()),
        },
    );
    channels.insert(
        "feishu".to_string(),
        Target::Feishu {
            url: im.feishu_url("fs"),
            secret: Some("feishu-secret".into()),
        },
    );
    channels.insert(
        "mail".to_string(),
        Target::Email(SmtpTarget {
            host: "127.0.0.1".into(),
            port: smtp.port(),
            tls: SmtpTls::None,
            username: None,
            password: None,
            from: "alerts@example.com".into(),
            to: vec!["ops@example.com".into()],
        }),
    );
    // A second DingTalk channel with the wrong secret: refused, logged, not retried.
    channels.insert(
        "ding-wrong".to_string(),
        Target::Dingtalk {
            url: im.dingtalk_url("dt"),
            secret: Some("SECwrong".into()),
        },
    );
    let rule: Rule = toml::from_str(
        "name = \"low-stock\"\nbuiltin = \"low_stock\"\nchannels = [\"wecom\", \"ding\", \"feishu\", \"mail\", \"ding-wrong\"]",
    )
    .expect("rule");
    let cfg = AlertConfig {
        ui_base: Some("http://127.0.0.1:8080".into()),
        lang: Lang::Both,
        per_minute: 20,
        channels,
        rules: vec![rule],
    };
    let env_lookup = |k: &str| (k == "DING_SECRET").then(|| "SECding".to_string());
    let runtime = AlertRuntime::new(cfg, &env_lookup).expect("runtime");
    let accepted = |ch: &str| im.accepted(ch).len();
    // 50 on hand: nothing to say.
    let r = runtime.evaluate(&env, &[]).await.expect("eval");
    assert_eq!((r.fired, r.deliveries), (0, 0), "{r:?}");
    // 45 go out: 5 left, under the watermark of 10.
    put(&wh, "stock_movements", &[movement("M1", -45)]).await;
    let r = runtime.evaluate(&env, &[]).await.expect("eval");
    assert_eq!(
        (r.fired, r.deliveries, r.failed_deliveries),
        (1, 4, 1),
        "{r:?}"
    );
    for ch in ["wecom", "dingtalk", "feishu"] {
        assert_eq!(accepted(ch), 1, "{ch}");
    }
    assert_eq!(smtp.mails().len(), 1);
    let refused: Vec<_> = im.log().into_iter().filter(|r| !r.accepted()).collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(
        (refused[0].code, refused[0].reason.as_str()),
        (310000, "sign not match")
    );
    let body = im.accepted("wecom")[0].body.to_string();
    assert!(
        body.contains("白T恤 (SKU1) @ W01")
            && body.contains("当前值 5")
            && body.contains("/alerts?rule=low-stock"),
        "{body}"
    );
    // Evaluated again (and again): still low, but it already said so.
    for _ in 0..2 {
        let r = runtime.evaluate(&env, &[]).await.expect("eval");
        assert_eq!((r.fired, r.deliveries), (0, 0), "{r:?}");
    }
    // +6 → 11: above 10 but inside the hysteresis band (clears at 12): no flapping.
    put(&wh, "stock_movements", &[movement("M2", 6)]).await;
    let r = runtime.evaluate(&env, &[]).await.expect("eval");
    assert_eq!((r.resolved, r.deliveries), (0, 0), "{r:?}");
    // +20 → 31: resolved, and everyone hears so.
    put(&wh, "stock_movements", &[movement("M3", 20)]).await;
    let r = runtime.evaluate(&env, &[]).await.expect("eval");
    assert_eq!((r.resolved, r.deliveries), (1, 4), "{r:?}");
    for ch in ["wecom", "dingtalk", "feishu"] {
        assert_eq!(accepted(ch), 2, "{ch}");
    }
    let mails = smtp.mails();
    assert_eq!(mails.len(), 2);
    assert!(
        mails[1]
            .header("subject")
            .is_some_and(|s| s.contains("已恢复")),
        "{:?}",
        mails[1].header("subject")
    );
    // The delivery log keeps every answer: 8 sent, 2 refused by the platform.
    let store = store::AlertStore::of(env.state.pool());
    let log = store.deliveries(100).await.expect("log");
    assert_eq!(log.iter().filter(|d| d.status == "sent").count(), 8);
    let failed: Vec<_> = log.iter().filter(|d| d.status == "failed").collect();
    assert_eq!(failed.len(), 2);
    assert!(failed.iter().all(|d| {
        d.code == Some(310000)
            && d.response
                .as_deref()
                .is_some_and(|r| r.contains("sign not match"))
    }));
}

#[tokio::test]
async fn the_channel_budget_holds_messages_back_instead_of_dropping_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let env = crate::jobs::test_env(dir.path()).await;
    let im = ImSim::start(
        ImSimConfig {
            wecom_keys: vec!["wk".into()],
            ..Default::default()
        },
        0,
    )
    .await
    .expect("im");
    let mut channels = BTreeMap::new();
    channels.insert(
        "wecom".to_string(),
        Target::Wecom {
            url: im.wecom_url("wk"),
        },
    );
    // 30 keys breach at once; the channel takes 20 a minute.
    let rule: Rule = toml::from_str(
        "name = \"many\"\nsql = \"SELECT CAST(n AS VARCHAR) AS key, '1' AS value FROM (SELECT value AS n FROM generate_series(1, 30))\"\nop = \">\"\nthreshold = 0\nchannels = [\"wecom\"]",
    )
    .expect("rule");
    let runtime = AlertRuntime::new(
        AlertConfig {
            per_minute: 20,
            channels,
            rules: vec![rule],
            ..Default::default()
        },
        &|_: &str| None,
    )
    .expect("runtime");
    let r = runtime.evaluate(&env, &[]).await.expect("eval");
    assert_eq!((r.fired, r.deliveries), (30, 20), "{r:?}");
    assert_eq!(im.accepted("wecom").len(), 20);
    assert!(
        im.log().iter().all(|x| x.accepted()),
        "the robot's own limit was never hit"
    );
    let store = store::AlertStore::of(env.state.pool());
    assert_eq!(
        store.undelivered().await.expect("pending").len(),
        10,
        "held back, not lost"
    );
}

/// Every built-in condition runs on a realistic lake (its SQL is valid and returns keys), and a
/// failed sync and a stuck run (lease lapsed while "running") surface as alerts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_builtin_evaluates_on_a_demo_lake_and_failing_or_stuck_jobs_surface() {
    use crate::jobs::{JobArgs, JobSpec, Trigger};
    let dir = tempfile::tempdir().expect("tmp");
    let env = crate::jobs::test_env(dir.path()).await;
    let wh = env.wh.clone();
    let cfg = crate::demo::DemoConfig {
        orders: 1_500,
        skus: 40,
        days: 20,
        end_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 24).expect("date"),
        seed: 3,
    };
    crate::demo::run_demo(&wh, &cfg, false, None, &|_| {})
        .await
        .expect("demo");
    crate::marts::refresh_all(&wh).await.expect("marts");
    // One open break in the exception queue (as a reconciliation run leaves it).
    put(&wh, "recon_breaks", &[json!({"break_id": "order_payment:jst:1", "check_name": "order_payment",
        "kind": "MISSING_PAYMENT", "period": "2026-11", "break_date": "2026-11-20", "shop_id": "jst:10001",
        "key_values": "order_id=jst:1", "unit": "money", "expected": "120.00", "actual": null,
        "difference": "-120.00", "amount_at_stake": "120.00", "status": "open",
        "first_seen_at": "2026-11-21T00:00:00Z", "last_seen_at": "2026-11-21T00:00:00Z",
        "updated_by": "run-test", "source": "test"})]).await;
    // Two records a sync set aside today, and one three days ago (outside the last day).
    let ago = |h: i64| (chrono::Utc::now() - chrono::Duration::hours(h)).to_rfc3339();
    let quarantined = |key: &str, stream: &str, at: String| {
        json!({"connector": "jst-main", "stream": stream, "record_key": key, "record_version": 7,
            "fetched_at": at, "reason": format!("Jushuitan outbound {key}: field `wms_co_id`: is missing"),
            "payload": "{}", "source": "test"})
    };
    put(
        &wh,
        "quarantined_records",
        &[
            quarantined("90007", "shipments", ago(1)),
            quarantined("90014", "shipments", ago(2)),
            quarantined("5", "refunds", ago(72)),
        ],
    )
    .await;
    let im = ImSim::start(
        ImSimConfig {
            wecom_keys: vec!["wk".into()],
            ..Default::default()
        },
        0,
    )
    .await
    .expect("im");
    let mut channels = BTreeMap::new();
    channels.insert(
        "wecom".to_string(),
        Target::Wecom {
            url: im.wecom_url("wk"),
        },
    );
    let builtins = [
        ("low_stock", Some(10)),
        ("high_stock", Some(1)),
        ("stale_shipment", Some(1)),
        ("recon_breaks", Some(0)),
        ("quarantined_records", None),
        ("sales_drop", Some(100)),
        ("failing_sync", None),
        ("stuck_job", None),
    ];
    let rules: Vec<Rule> = builtins
        .iter()
        .map(|(b, t)| {
            let th = t.map(|t| format!("threshold = {t}\n")).unwrap_or_default();
            toml::from_str(&format!(
                "name = \"{b}\"\nbuiltin = \"{b}\"\n{th}channels = [\"wecom\"]\n"
            ))
            .expect("rule")
        })
        .collect();
    let runtime = AlertRuntime::new(
        AlertConfig {
            per_minute: 1000,
            channels,
            rules,
            ..Default::default()
        },
        &|_: &str| None,
    )
    .expect("runtime");
    let state = &env.state;
    // A failed sync, and a run marked running whose lease is gone (its worker died).
    let args = |id: &str, connector: &str| JobArgs {
        run_id: id.into(),
        spec: JobSpec::Sync {
            connector: connector.into(),
            days: None,
        },
        trigger: Trigger::Manual,
        requested_by: "test".into(),
        attempt: 1,
    };
    state
        .record_queued(&args("r-failed", "jst-main"))
        .await
        .expect("q");
    state.start("r-failed", 1, "w").await.expect("start");
    state
        .finish(
            "r-failed",
            "failed",
            None,
            None,
            Some("platform refused the credentials"),
            None,
        )
        .await
        .expect("finish");
    state
        .record_queued(&args("r-stuck", "top-tmall"))
        .await
        .expect("q");
    state
        .start("r-stuck", 1, "dead-worker")
        .await
        .expect("start");
    let r = runtime.evaluate(&env, &[]).await.expect("eval");
    assert!(r.errors.is_empty(), "{:#?}", r.errors);
    assert_eq!(r.rules, builtins.len());
    let store = store::AlertStore::of(env.state.pool());
    let states = store.states("").await.expect("states");
    for (b, _) in builtins {
        assert!(states.iter().any(|s| s.rule == b), "{b} returned no keys");
    }
    // Shipments still in transit days later, and the open break, fire.
    for b in ["stale_shipment", "recon_breaks"] {
        assert!(
            states.iter().any(|s| s.rule == b && s.firing),
            "{b} never fired"
        );
    }
    let firing = |rule: &str, key: &str| {
        states
            .iter()
            .any(|s| s.rule == rule && s.key == key && s.firing)
    };
    assert!(firing("failing_sync", "sync:jst-main"));
    // Quarantined records: per connector and stream, counted over the last day only.
    let q: Vec<_> = states
        .iter()
        .filter(|s| s.rule == "quarantined_records")
        .collect();
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!(
        (q[0].key.as_str(), q[0].last_value.as_deref(), q[0].firing),
        ("jst-main/shipments", Some("2"), true)
    );
    assert!(
        q[0].label
            .as_deref()
            .is_some_and(|l| l.contains("wms_co_id")),
        "{q:?}"
    );
    assert!(firing("stuck_job", "r-stuck"));
    assert!(r.deliveries > 0);
}
