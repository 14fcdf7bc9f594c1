//! The MiniShop simulator is strict: requests signed by hand here are accepted, and each kind
//! of mistake is refused with its documented status and code.

use std::sync::atomic::AtomicU64;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::NaiveDate;
use serde_json::Value;

use super::*;
use crate::manifest::hmac_sha256;
use crate::manifest::settings::Encoding;

fn start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).expect("date")
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A GET signed as documented: `GET\n<path>\n<sorted query>\n<timestamp>` (query written here
/// already sorted), with `secret` and `ts`.
async fn call(
    sim: &RunningMiniShop,
    query: &str,
    secret: &str,
    ts: i64,
) -> (u16, Value, Option<String>) {
    let path = "/api/v2/orders";
    let text = format!("GET\n{path}\n{query}\n{ts}");
    let sig = hmac_sha256(secret, &text, Encoding::Hex);
    let res = reqwest::Client::new()
        .get(format!("{}{path}?{query}", sim.base_url()))
        .header("X-App-Key", DEFAULT_APP_KEY)
        .header("X-Timestamp", ts.to_string())
        .header("X-Signature", sig)
        .send()
        .await
        .expect("send");
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = res.bytes().await.expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        retry,
    )
}

const DAY1: &str = "limit=100&updated_from=2026-11-01T00%3A00%3A00%2B08%3A00&updated_to=2026-11-02T00%3A00%3A00%2B08%3A00";

async fn sim(config: MsConfig, n: u64) -> RunningMiniShop {
    RunningMiniShop::start(MsState::new(config, generate(n, 42, start(), 2)), 0)
        .await
        .expect("sim")
}

fn count(c: &AtomicU64) -> u64 {
    MsStats::get(c)
}

#[tokio::test]
async fn a_correctly_signed_request_pages_by_cursor() {
    let sim = sim(MsConfig::default().unlimited(), 500).await;
    let (status, body, _) = call(&sim, DAY1, DEFAULT_APP_SECRET, now()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["code"], 0);
    let first = body["data"]["orders"].as_array().expect("orders").len();
    assert_eq!(first, 100);
    assert_eq!(body["data"]["has_more"], true);
    let cursor = body["data"]["next_cursor"]
        .as_str()
        .expect("cursor")
        .to_string();
    let q = format!("cursor={cursor}&{DAY1}");
    let (status, body, _) = call(&sim, &q, DEFAULT_APP_SECRET, now()).await;
    assert_eq!(status, 200, "{body}");
    let o = &body["data"]["orders"][0];
    assert!(
        o["amounts"]["total"]
            .as_str()
            .expect("yuan text")
            .contains('.')
    );
    assert!(o["updated_at"].as_str().expect("time").ends_with("+08:00"));
}

#[tokio::test]
async fn bad_signatures_stale_timestamps_wide_windows_and_big_limits_are_refused() {
    let sim = sim(MsConfig::default().unlimited(), 50).await;
    let s = &sim.state.stats;
    let (status, body, _) = call(&sim, DAY1, "wrong-secret", now()).await;
    assert_eq!((status, body["code"].as_i64()), (401, Some(40101)));
    // A request signed by a good client but sent with a changed parameter.
    let tampered = DAY1.replace("limit=100", "limit=10");
    let text = format!("GET\n/api/v2/orders\n{DAY1}\n{}", now());
    let res = reqwest::Client::new()
        .get(format!("{}/api/v2/orders?{tampered}", sim.base_url()))
        .header("X-App-Key", DEFAULT_APP_KEY)
        .header("X-Timestamp", now().to_string())
        .header(
            "X-Signature",
            hmac_sha256(DEFAULT_APP_SECRET, &text, Encoding::Hex),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(res.status().as_u16(), 401);
    assert_eq!(count(&s.bad_sign), 2);

    let (status, body, _) = call(&sim, DAY1, DEFAULT_APP_SECRET, now() - 301).await;
    assert_eq!((status, body["code"].as_i64()), (401, Some(40102)));
    assert_eq!(count(&s.bad_timestamp), 1);

    let wide = "limit=100&updated_from=2026-11-01T00%3A00%3A00%2B08%3A00&updated_to=2026-11-02T00%3A00%3A01%2B08%3A00";
    let (status, body, _) = call(&sim, wide, DEFAULT_APP_SECRET, now()).await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (400, Some(40001)),
        "{body}"
    );

    let big = DAY1.replace("limit=100", "limit=101");
    let (status, body, _) = call(&sim, &big, DEFAULT_APP_SECRET, now()).await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (400, Some(40002)),
        "{body}"
    );
    assert_eq!(count(&s.bad_request), 2);
    assert_eq!(count(&s.ok), 0);
}

#[tokio::test]
async fn over_the_rate_limit_is_http_429_with_retry_after() {
    let config = MsConfig {
        per_second: None,
        per_minute: Some(3),
        ..MsConfig::default()
    };
    let sim = sim(config, 10).await;
    let mut answers = Vec::new();
    for _ in 0..4 {
        let (status, body, retry) = call(&sim, DAY1, DEFAULT_APP_SECRET, now()).await;
        answers.push((status, body["code"].as_i64(), retry));
    }
    assert!(answers[..3].iter().all(|a| a.0 == 200), "{answers:?}");
    let (status, code, retry) = &answers[3];
    assert_eq!((*status, *code), (429, Some(42900)));
    let wait: u64 = retry
        .as_deref()
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!(
        (50..=60).contains(&wait),
        "wait {wait} s for the minute to pass"
    );
    assert_eq!(count(&sim.state.stats.rate_limited), 1);
}

#[tokio::test]
async fn faults_answer_as_documented() {
    let sim = sim(MsConfig::default().unlimited(), 10).await;
    sim.state
        .inject([Fault::ServerError, Fault::Garbage, Fault::Throttle]);
    assert_eq!(call(&sim, DAY1, DEFAULT_APP_SECRET, now()).await.0, 503);
    let (status, body, _) = call(&sim, DAY1, DEFAULT_APP_SECRET, now()).await;
    assert_eq!((status, body), (200, Value::Null), "not JSON");
    let (status, _, retry) = call(&sim, DAY1, DEFAULT_APP_SECRET, now()).await;
    assert_eq!((status, retry.as_deref()), (429, Some("1")));
    assert_eq!(call(&sim, DAY1, DEFAULT_APP_SECRET, now()).await.0, 200);
    assert_eq!(count(&sim.state.stats.faults), 3);
}

#[test]
fn generate_is_deterministic_and_modify_moves_an_order() {
    let a = generate(2_000, 9, start(), 5);
    let b = generate(2_000, 9, start(), 5);
    assert_eq!(a.orders(), b.orders());
    assert_ne!(a.orders(), generate(2_000, 10, start(), 5).orders());
    let all = a.orders();
    assert_eq!(all.len(), 2_000);
    let first = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00+08:00")
        .expect("t")
        .timestamp();
    assert!(
        all.iter()
            .all(|o| o.created >= first && o.created < first + 5 * 86_400)
    );
    assert!(
        all.iter()
            .all(|o| o.paid.is_some()
                == !matches!(o.status, MsStatus::Pending | MsStatus::Cancelled))
    );
    assert!(
        all.iter()
            .all(|o| o.total() == o.goods() - o.discount() + o.freight && o.total() > 0)
    );
    let o = &all[10];
    let later = first + 30 * 86_400;
    assert!(a.modify(o.id, later, |o| o.status = MsStatus::Refunded));
    let m = a.get(o.id).expect("still there");
    assert!(m.version > o.version);
    assert_eq!(a.page(later, later + 1, None, 10).0, vec![m]);
    assert!(!a.modify(99_999, later, |_| {}));
}
