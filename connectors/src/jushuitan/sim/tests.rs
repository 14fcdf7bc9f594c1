//! The client against the simulator: exact pages, strict rules, faults, pacing.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::*;
use crate::jushuitan::{ClientConfig, ClientError, Credentials, JstClient, JstError};

const BEGIN: &str = "2026-11-10 00:00:00";
const END: &str = "2026-11-16 23:59:59";

fn world(n: i64) -> SimWorld {
    SimWorld::new((1..=n).map(|i| {
        let minute = i % (7 * 24 * 60);
        let t = chrono::NaiveDate::from_ymd_opt(2026, 11, 10).expect("date").and_hms_opt(0, 0, 0).expect("t")
            + chrono::Duration::minutes(minute);
        json!({"o_id": i, "so_id": format!("T{i}"), "modified": t.format("%Y-%m-%d %H:%M:%S").to_string(),
               "pay_amount": 12.3, "freight": "", "status": "Sent"})
    }))
}

async fn start(config: SimConfig, n: i64) -> RunningSim {
    let state = SimState::new(config, world(n), "tok0", "ref0");
    RunningSim::start(state, 0).await.expect("start simulator")
}

fn client(sim: &RunningSim, secret: &str, limits: bool) -> JstClient {
    let mut cfg = ClientConfig::new(sim.base_url());
    cfg.backoff = Duration::from_millis(20);
    cfg.timeout = Duration::from_millis(500);
    if !limits {
        cfg.per_second = None;
        cfg.per_minute = None;
    }
    let creds = Credentials {
        app_key: sim.state.config.app_key.clone(),
        app_secret: secret.into(),
        access_token: "tok0".into(),
    };
    JstClient::new(cfg, creds, Some("ref0".into()))
}

async fn all_ids(c: &JstClient) -> Result<Vec<i64>, ClientError> {
    let mut ids = Vec::new();
    let mut page = 1;
    loop {
        let p = c.orders_page(BEGIN, END, page, 100).await?;
        ids.extend(
            p.rows
                .iter()
                .filter_map(|o| o.get("o_id").and_then(Value::as_i64)),
        );
        if !p.has_next {
            return Ok(ids);
        }
        page += 1;
    }
}

#[tokio::test]
async fn pages_return_exactly_the_world() {
    let sim = start(SimConfig::default().unlimited(), 1234).await;
    let c = client(&sim, "sim-app-secret", false);
    let ids = all_ids(&c).await.expect("pages");
    assert_eq!(ids.len(), 1234);
    assert_eq!(
        ids.iter().copied().collect::<BTreeSet<_>>().len(),
        1234,
        "no row twice"
    );
    assert_eq!(SimStats::get(&sim.state.stats.rows_served), 1234);
}

#[tokio::test]
async fn a_wrong_secret_gets_the_platforms_error_and_is_not_retried() {
    let sim = start(SimConfig::default().unlimited(), 10).await;
    let c = client(&sim, "not-the-secret", false);
    let err = c.orders_page(BEGIN, END, 1, 50).await.unwrap_err();
    assert!(
        matches!(err, ClientError::Platform(JstError::BadSignature(_))),
        "{err}"
    );
    assert!(
        err.to_string().contains("无效签名") && err.to_string().contains("app secret"),
        "{err}"
    );
    assert_eq!(
        SimStats::get(&sim.state.stats.bad_sign),
        1,
        "one call, no retries"
    );
}

#[tokio::test]
async fn windows_over_seven_days_and_oversized_pages_are_refused() {
    let sim = start(SimConfig::default().unlimited(), 10).await;
    let c = client(&sim, "sim-app-secret", false);
    let err = c
        .orders_page("2026-11-01 00:00:00", "2026-11-09 00:00:00", 1, 50)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("七天"), "{err}");
    let err = c.orders_page(BEGIN, END, 1, 101).await.unwrap_err();
    assert!(err.to_string().contains("page_size"), "{err}");
    let err = c
        .call("/open/orders/single/query", "{}", "orders")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("modified_begin"), "{err}");
}

#[tokio::test]
async fn faults_are_survived_with_exact_results() {
    let sim = start(SimConfig::default().unlimited(), 450).await;
    sim.state.inject([
        Fault::ServerError,
        Fault::Garbage,
        Fault::Throttle,
        Fault::Slow(Duration::from_secs(2)),
        Fault::ExpireTokens,
        Fault::ServerError,
    ]);
    let c = client(&sim, "sim-app-secret", false);
    let ids = all_ids(&c).await.expect("recovers");
    assert_eq!(ids.iter().copied().collect::<BTreeSet<_>>().len(), 450);
    assert_eq!(ids.len(), 450);
    assert_eq!(SimStats::get(&sim.state.stats.faults), 6);
    assert_eq!(SimStats::get(&sim.state.stats.token_refreshes), 1);
    assert_ne!(
        c.access_token().await,
        "tok0",
        "the refreshed token is kept"
    );
    assert!(SimStats::get(&c.stats.retries) >= 5);
}

#[tokio::test]
async fn a_client_gives_up_after_its_retries_and_says_why() {
    let sim = start(SimConfig::default().unlimited(), 10).await;
    sim.state
        .inject(std::iter::repeat_n(Fault::ServerError, 20));
    let c = client(&sim, "sim-app-secret", false);
    let err = c.orders_page(BEGIN, END, 1, 50).await.unwrap_err();
    assert!(
        matches!(err, ClientError::GaveUp { attempts: 7, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("502"), "{err}");
}

#[tokio::test]
async fn late_modifications_move_an_order_into_a_later_window() {
    let sim = start(SimConfig::default().unlimited(), 5).await;
    assert!(
        sim.state
            .world
            .modify(1, "2026-11-20 10:00:00", |o| o["status"] =
                json!("Cancelled"))
    );
    let c = client(&sim, "sim-app-secret", false);
    assert_eq!(all_ids(&c).await.expect("page").len(), 4);
    let later = c
        .orders_page("2026-11-20 00:00:00", "2026-11-20 23:59:59", 1, 50)
        .await
        .expect("page");
    assert_eq!(later.rows.len(), 1);
    assert_eq!(later.rows[0]["status"], "Cancelled");
}

#[tokio::test]
async fn paced_client_never_hits_the_limit_and_uses_the_budget() {
    let sim = start(SimConfig::default(), 2_000).await;
    let c = Arc::new(client(&sim, "sim-app-secret", true));
    let started = Instant::now();
    // 15 pages with 3 callers at once: the pacer, not the gateway, must hold them back.
    let mut tasks = Vec::new();
    for w in 0..3 {
        let c = Arc::clone(&c);
        tasks.push(tokio::spawn(async move {
            for p in 0..5 {
                c.orders_page(BEGIN, END, w * 5 + p + 1, 100)
                    .await
                    .expect("page");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(
        SimStats::get(&sim.state.stats.rate_limited),
        0,
        "the gateway never refused a call"
    );
    assert_eq!(SimStats::get(&sim.state.stats.ok), 15);
    // At 5 calls per sliding second, 15 calls can finish at best after 2 s (5 at 0 s, 1 s, 2 s).
    let used = 2.0 / elapsed;
    eprintln!(
        "rate budget used: {:.1}% ({elapsed:.3}s for 15 calls)",
        used * 100.0
    );
    assert!(
        used >= 0.9,
        "used {:.0}% of the rate budget ({elapsed:.2}s)",
        used * 100.0
    );
    assert!(SimStats::get(&c.stats.paced) > 0);
}

#[tokio::test]
async fn init_token_issues_a_working_token_and_checks_its_inputs() {
    use crate::jushuitan::{parse_data, token_body};
    let sim = start(SimConfig::default().unlimited(), 3).await;
    let http = reqwest::Client::new();
    let url = format!("{}/openWeb/auth/getInitToken", sim.base_url());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let post = |body: String| {
        http.post(&url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
    };
    let good = token_body(
        "sim-app-key",
        "sim-app-secret",
        &[("grant_type", "authorization_code"), ("code", "abc123")],
        now,
    );
    let data =
        parse_data(&post(good).await.expect("post").bytes().await.expect("body")).expect("token");
    let token = data["access_token"].as_str().expect("token").to_string();
    // The new token works for business calls.
    let mut cfg = ClientConfig::new(sim.base_url());
    cfg.per_second = None;
    cfg.per_minute = None;
    let creds = Credentials {
        app_key: "sim-app-key".into(),
        app_secret: "sim-app-secret".into(),
        access_token: token,
    };
    let c = JstClient::new(cfg, creds, None);
    assert_eq!(
        c.orders_page(BEGIN, END, 1, 10)
            .await
            .expect("page")
            .rows
            .len(),
        3
    );
    // A stale timestamp and a missing code are refused; so is a JSON body.
    let stale = token_body(
        "sim-app-key",
        "sim-app-secret",
        &[("grant_type", "authorization_code"), ("code", "abc123")],
        now - 3600,
    );
    assert!(matches!(
        parse_data(&post(stale).await.expect("post").bytes().await.expect("b")),
        Err(JstError::BadTimestamp(_))
    ));
    let no_code = token_body(
        "sim-app-key",
        "sim-app-secret",
        &[("grant_type", "authorization_code")],
        now,
    );
    assert!(matches!(
        parse_data(&post(no_code).await.expect("post").bytes().await.expect("b")),
        Err(JstError::Api { code: -1, .. })
    ));
    let json = http
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(r#"{"app_key":"sim-app-key"}"#);
    assert!(matches!(
        parse_data(&json.send().await.expect("post").bytes().await.expect("b")),
        Err(JstError::Api { code: -1, .. })
    ));
}

#[tokio::test]
async fn token_refresh_survives_5xx_concurrent_and_double_expiry() {
    // The refresh call itself fails twice (502, then a garbage body): retried, one refresh.
    let sim = start(SimConfig::default().unlimited(), 120).await;
    sim.state.inject([Fault::ExpireTokens]);
    sim.state
        .inject_refresh([Fault::ServerError, Fault::Garbage]);
    let c = client(&sim, "sim-app-secret", false);
    assert_eq!(
        all_ids(&c).await.expect("survives a failing refresh").len(),
        120
    );
    assert_eq!(SimStats::get(&sim.state.stats.token_refreshes), 1);

    // Two fetchers find the token expired at once: one refresh (the platform rotates the
    // refresh token, so a second refresh with the same one would be refused), both go on.
    let sim = start(SimConfig::default().unlimited(), 120).await;
    sim.state.inject([Fault::ExpireTokens]);
    sim.state
        .inject_refresh([Fault::Slow(Duration::from_millis(200))]);
    let c = Arc::new(client(&sim, "sim-app-secret", false));
    let (a, b) = (Arc::clone(&c), Arc::clone(&c));
    let (x, y) = tokio::join!(
        async move { a.orders_page(BEGIN, END, 1, 50).await },
        async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            b.orders_page(BEGIN, END, 2, 50).await
        }
    );
    x.expect("first fetcher");
    y.expect("second fetcher");
    assert_eq!(SimStats::get(&sim.state.stats.token_refreshes), 1);

    // The new token expires too, inside the same call: refreshed again.
    let sim = start(SimConfig::default().unlimited(), 30).await;
    sim.state.inject([Fault::ExpireTokens, Fault::ExpireTokens]);
    let c = client(&sim, "sim-app-secret", false);
    c.orders_page(BEGIN, END, 1, 50)
        .await
        .expect("double expiry");
    assert_eq!(SimStats::get(&sim.state.stats.token_refreshes), 2);
}

#[tokio::test]
async fn a_wrong_path_is_not_retried() {
    let sim = start(SimConfig::default().unlimited(), 5).await;
    let c = client(&sim, "sim-app-secret", false);
    let started = Instant::now();
    let err = c
        .call("/open/no/such/api", "{}", "orders")
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Http { status: 404, .. }),
        "{err}"
    );
    assert_eq!(SimStats::get(&c.stats.retries), 0, "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
}
