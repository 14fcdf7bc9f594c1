//! The client and streams against the simulator: strict refusals with the platform's codes,
//! exact pages, faults, pacing under the real limit, and bans waited out.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use serde_json::Value;

use super::*;
use crate::sign::TopSignMethod;
use crate::stream::{NoTokenSink, Secrets, Stream, StreamError};
use crate::top::{
    Credentials, TopClient, TopClientConfig, TopError, TopSettings, build_streams, form_body, list,
    parse_response, timestamp_text,
};

fn t(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").expect("time")
}

fn start_day() -> NaiveDateTime {
    t("2026-11-01 00:00:00")
}

async fn start(config: TopSimConfig, n: usize) -> RunningTopSim {
    let state = TopSimState::new(config, generate(n, 42, start_day(), 3));
    RunningTopSim::start(state, 0)
        .await
        .expect("start simulator")
}

fn settings(sim: &RunningTopSim, limits: bool) -> TopSettings {
    TopSettings {
        gateway_url: sim.gateway_url(),
        app_key: sim.state.config.app_key.clone(),
        shop_id: "shop-tmall".into(),
        platform: None,
        sign_method: "hmac-sha256".into(),
        page_size: 40,
        per_second: if limits { 10 } else { 0 },
        per_minute: if limits { 400 } else { 0 },
        timeout_secs: 1,
        max_retries: 6,
        backoff_ms: 10,
        max_ban_secs: 10,
        reverse_paging: true,
    }
}

fn secrets(secret: &str, session: &str) -> Secrets {
    let mut s = Secrets::default();
    s.insert("app_secret", secret);
    s.insert("session", session);
    s
}

fn stream(settings: &TopSettings, secret: &str, name: &str) -> Arc<dyn Stream> {
    build_streams(
        settings,
        &secrets(secret, &session_for(0)),
        Arc::new(NoTokenSink),
        &[name.to_string()],
    )
    .expect("streams")
    .remove(0)
}

/// Every record of `[begin, end)` through the stream's pages.
async fn read_all(
    s: &dyn Stream,
    begin: NaiveDateTime,
    end: NaiveDateTime,
) -> Result<Vec<Value>, StreamError> {
    let mut rows = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = s.page(begin, end, next.as_deref()).await?;
        rows.extend(page.rows);
        match page.next {
            Some(n) => next = Some(n),
            None => return Ok(rows),
        }
    }
}

fn tids(rows: &[Value]) -> BTreeSet<i64> {
    rows.iter()
        .filter_map(|r| crate::tolerant::int(r.get("tid")))
        .collect()
}

/// The world's trades of seller 0 modified in `[begin, end]`.
fn world_tids(sim: &RunningTopSim, begin: NaiveDateTime, end: NaiveDateTime) -> BTreeSet<i64> {
    sim.state
        .world
        .trades()
        .iter()
        .filter(|t| t.seller == 0 && t.modified >= begin && t.modified <= end)
        .map(|t| t.tid)
        .collect()
}

/// A hand-made call: `secret`, `session`, `timestamp` and `params` as given.
async fn raw(
    sim: &RunningTopSim,
    sign_method: TopSignMethod,
    secret: &str,
    session: &str,
    timestamp: &str,
    method: &str,
    params: &[(&str, &str)],
) -> Result<Value, TopError> {
    let creds = Credentials {
        app_key: sim.state.config.app_key.clone(),
        app_secret: secret.into(),
        session: session.into(),
    };
    let body = form_body(&creds, sign_method, method, timestamp, params);
    let bytes = reqwest::Client::new()
        .post(sim.gateway_url())
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded;charset=utf-8",
        )
        .body(body)
        .send()
        .await
        .expect("post")
        .bytes()
        .await
        .expect("body");
    parse_response(&bytes, method)
}

const INC: &str = "taobao.trades.sold.increment.get";

fn code(r: Result<Value, TopError>) -> (i64, Option<String>) {
    let body = match r {
        Err(
            TopError::Throttled(b, _)
            | TopError::InvalidSession(b)
            | TopError::BadCredentials(b)
            | TopError::Platform(b)
            | TopError::Refused(b),
        ) => b,
        other => panic!("expected a platform error, got {other:?}"),
    };
    (body.code, body.sub_code)
}

#[tokio::test]
async fn the_gateway_refuses_what_the_platform_refuses_with_its_codes() {
    let sim = start(TopSimConfig::default().unlimited(), 50).await;
    let secret = sim.state.config.app_secret.clone();
    let now = timestamp_text(chrono::Utc::now());
    let good = [
        ("fields", "tid,modified"),
        ("type", "fixed,cod,step,tmall_i18n"),
        ("start_modified", "2026-11-01 00:00:00"),
        ("end_modified", "2026-11-02 00:00:00"),
    ];
    let s0 = session_for(0);
    for m in [
        TopSignMethod::Md5,
        TopSignMethod::Hmac,
        TopSignMethod::HmacSha256,
    ] {
        let ok = raw(&sim, m, &secret, &s0, &now, INC, &good)
            .await
            .expect("each sign method");
        assert!(ok.get("total_results").is_some(), "{ok}");
    }
    let wrong = raw(
        &sim,
        TopSignMethod::HmacSha256,
        "not-the-secret",
        &s0,
        &now,
        INC,
        &good,
    )
    .await;
    assert_eq!(code(wrong), (25, None));
    let stale = timestamp_text(chrono::Utc::now() - chrono::Duration::minutes(11));
    assert_eq!(
        code(raw(&sim, TopSignMethod::Md5, &secret, &s0, &stale, INC, &good).await).0,
        31
    );
    let ms = (chrono::Utc::now().timestamp_millis()).to_string();
    assert!(
        raw(&sim, TopSignMethod::Md5, &secret, &s0, &ms, INC, &good)
            .await
            .is_ok(),
        "epoch ms accepted"
    );
    let unknown = raw(
        &sim,
        TopSignMethod::Md5,
        &secret,
        "no-such-session",
        &now,
        INC,
        &good,
    )
    .await;
    assert_eq!(code(unknown), (27, Some("invalid-sessionkey".into())));
    assert_eq!(
        code(raw(&sim, TopSignMethod::Md5, &secret, "", &now, INC, &good).await).0,
        26
    );
    let long = [
        ("fields", "tid"),
        ("start_modified", "2026-11-01 00:00:00"),
        ("end_modified", "2026-11-02 00:00:01"),
    ];
    let e = code(raw(&sim, TopSignMethod::Md5, &secret, &s0, &now, INC, &long).await);
    assert_eq!(
        e,
        (41, Some("isv.invalid-parameter".into())),
        "a window over one day"
    );
    let mut big = good.to_vec();
    big.push(("page_size", "101"));
    assert_eq!(
        code(raw(&sim, TopSignMethod::Md5, &secret, &s0, &now, INC, &big).await).0,
        41
    );
    let no_window = [("fields", "tid")];
    assert_eq!(
        code(
            raw(
                &sim,
                TopSignMethod::Md5,
                &secret,
                &s0,
                &now,
                INC,
                &no_window
            )
            .await
        )
        .0,
        40
    );
    let bad_field = [("fields", "tid,not_a_field"), good[2], good[3]];
    assert_eq!(
        code(
            raw(
                &sim,
                TopSignMethod::Md5,
                &secret,
                &s0,
                &now,
                INC,
                &bad_field
            )
            .await
        )
        .0,
        41
    );
    assert_eq!(
        code(
            raw(
                &sim,
                TopSignMethod::Md5,
                &secret,
                &s0,
                &now,
                "taobao.no.such",
                &good
            )
            .await
        )
        .0,
        22
    );
    assert!(TopSimStats::get(&sim.state.stats.bad_sign) >= 1);
    assert!(TopSimStats::get(&sim.state.stats.bad_timestamp) >= 1);
}

#[tokio::test]
async fn default_type_filter_hides_fixed_trades_and_simplify_flattens() {
    let sim = start(TopSimConfig::default().unlimited(), 300).await;
    let secret = sim.state.config.app_secret.clone();
    let now = timestamp_text(chrono::Utc::now());
    let window = [
        ("fields", "tid,orders.oid"),
        ("start_modified", "2026-11-01 12:00:00"),
        ("end_modified", "2026-11-02 12:00:00"),
    ];
    let s0 = session_for(0);
    let without = raw(&sim, TopSignMethod::Md5, &secret, &s0, &now, INC, &window)
        .await
        .expect("ok");
    let mut all = window.to_vec();
    all.push(("type", "fixed,cod,step,tmall_i18n"));
    let with = raw(&sim, TopSignMethod::Md5, &secret, &s0, &now, INC, &all)
        .await
        .expect("ok");
    let n = |v: &Value| crate::tolerant::int(v.get("total_results")).expect("total");
    assert!(
        n(&without) < n(&with),
        "fixed trades are not in the default type list"
    );
    all.push(("simplify", "true"));
    all.push(("page_size", "5"));
    let flat = raw(&sim, TopSignMethod::Md5, &secret, &s0, &now, INC, &all)
        .await
        .expect("flat");
    let trades = flat
        .get("trades")
        .and_then(Value::as_array)
        .expect("a bare list");
    assert_eq!(trades.len(), 5);
    assert!(
        trades[0].get("orders").and_then(Value::as_array).is_some(),
        "{flat}"
    );
    assert!(trades[0].get("modified").is_none(), "only the asked fields");
}

#[tokio::test]
async fn streams_page_exactly_the_world_backwards_and_forwards() {
    let sim = start(TopSimConfig::default().unlimited(), 3_000).await;
    let (b, e) = (t("2026-11-02 00:00:00"), t("2026-11-03 00:00:00"));
    let expected = world_tids(&sim, b, e);
    assert!(expected.len() > 200, "several pages");
    let mut s = settings(&sim, false);
    let rows = read_all(&*stream(&s, &sim.state.config.app_secret, "orders"), b, e)
        .await
        .expect("pages");
    assert_eq!(tids(&rows), expected);
    assert_eq!(
        rows.len(),
        expected.len(),
        "no trade twice when nothing moves"
    );
    s.reverse_paging = false;
    let rows = read_all(&*stream(&s, &sim.state.config.app_secret, "orders"), b, e)
        .await
        .expect("pages");
    assert_eq!(tids(&rows), expected);
    let refunds = read_all(&*stream(&s, &sim.state.config.app_secret, "refunds"), b, e)
        .await
        .expect("refunds");
    let want: BTreeSet<String> = sim
        .state
        .world
        .refunds()
        .iter()
        .filter(|r| r.seller == 0 && r.modified >= b && r.modified <= e)
        .map(|r| r.refund_id.to_string())
        .collect();
    let got: BTreeSet<String> = refunds
        .iter()
        .filter_map(|r| crate::tolerant::id(r.get("refund_id")))
        .collect();
    assert_eq!(got, want);
}

/// Reads `[b, e)` page by page; after the first page the newest trade of the window is
/// modified (it leaves the window, and every older trade shifts one place up).
async fn read_while_the_newest_moves(
    sim: &RunningTopSim,
    reverse: bool,
) -> (BTreeSet<i64>, BTreeSet<i64>) {
    let (b, e) = (t("2026-11-02 00:00:00"), t("2026-11-03 00:00:00"));
    let mut st = settings(sim, false);
    st.reverse_paging = reverse;
    let s = stream(&st, &sim.state.config.app_secret, "orders");
    let mut rows = Vec::new();
    let first = s.page(b, e, None).await.expect("first");
    rows.extend(first.rows);
    let mut next = first.next;
    let newest = sim.state.world.trade_page(0, (b, e), |_| true, 0, 1).0[0].tid;
    let later = sim.state.world.trade(newest).expect("t").modified + chrono::Duration::days(3);
    assert!(sim.state.world.modify(newest, later, |_| {}));
    // The trades that stay in the window.
    let stayed = world_tids(sim, b, e);
    while let Some(n) = next {
        let p = s.page(b, e, Some(&n)).await.expect("page");
        rows.extend(p.rows);
        next = p.next;
    }
    let mut got = tids(&rows);
    got.remove(&newest);
    (got, stayed)
}

#[tokio::test]
async fn a_trade_modified_while_paging_backwards_is_not_missed() {
    let sim = start(TopSimConfig::default().unlimited(), 2_000).await;
    let (got, stayed) = read_while_the_newest_moves(&sim, true).await;
    assert!(
        got == stayed,
        "backwards: {} of {} read",
        got.len(),
        stayed.len()
    );
    // Forward paging loses the trade that slid from page 2 onto page 1: why the platform
    // advises paging backwards.
    let sim = start(TopSimConfig::default().unlimited(), 2_000).await;
    let (got, stayed) = read_while_the_newest_moves(&sim, false).await;
    assert_eq!(
        stayed.difference(&got).count(),
        1,
        "forward paging misses one"
    );
}

#[tokio::test]
async fn trades_without_needed_fields_are_completed_with_fullinfo() {
    let config = TopSimConfig {
        increment_omits: vec!["orders".into()],
        ids_as_strings: true,
        ..TopSimConfig::default().unlimited()
    };
    let sim = start(config, 400).await;
    let (b, e) = (t("2026-11-01 00:00:00"), t("2026-11-02 00:00:00"));
    let s = stream(
        &settings(&sim, false),
        &sim.state.config.app_secret,
        "orders",
    );
    let rows = read_all(&*s, b, e).await.expect("pages");
    assert_eq!(tids(&rows), world_tids(&sim, b, e));
    assert!(
        rows.iter()
            .all(|r| list(r, "orders", "order").is_ok_and(|o| !o.is_empty()))
    );
    assert_eq!(
        TopSimStats::get(&sim.state.stats.fullinfo_calls),
        rows.len() as u64
    );
    s.map(&rows).expect("maps");
}

#[tokio::test]
async fn a_wrong_secret_is_a_clear_auth_error_without_retries() {
    let sim = start(TopSimConfig::default().unlimited(), 10).await;
    let s = stream(&settings(&sim, false), "not-the-secret", "orders");
    let err = s
        .page(start_day(), t("2026-11-02 00:00:00"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StreamError::Auth { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("Invalid signature") && text.contains("app_secret"),
        "{text}"
    );
    assert_eq!(
        TopSimStats::get(&sim.state.stats.bad_sign),
        1,
        "one call, no retries"
    );
    assert_eq!(s.stats().requests, 1);
}

#[tokio::test]
async fn an_expired_session_is_an_auth_error_naming_the_platform_message() {
    let config = TopSimConfig {
        expired_sub_code: "session-expired".into(),
        ..TopSimConfig::default().unlimited()
    };
    let sim = start(config, 10).await;
    sim.state.inject([TopFault::ExpireSessions]);
    let s = stream(
        &settings(&sim, false),
        &sim.state.config.app_secret,
        "refunds",
    );
    let err = s
        .page(start_day(), t("2026-11-02 00:00:00"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StreamError::Auth { .. }), "{err}");
    assert!(
        err.to_string().contains("session-expired") && err.to_string().contains("authorise"),
        "{err}"
    );
}

#[tokio::test]
async fn faults_are_survived_with_exact_results() {
    let sim = start(TopSimConfig::default().unlimited(), 800).await;
    sim.state.inject([
        TopFault::ServerError,
        TopFault::Garbage,
        TopFault::IspError,
        TopFault::Slow(Duration::from_millis(1_500)),
        TopFault::ServerError,
    ]);
    let (b, e) = (t("2026-11-01 00:00:00"), t("2026-11-02 00:00:00"));
    let mut st = settings(&sim, false);
    st.max_retries = 6;
    let s = stream(&st, &sim.state.config.app_secret, "orders");
    let rows = read_all(&*s, b, e).await.expect("recovers");
    assert_eq!(tids(&rows), world_tids(&sim, b, e));
    assert_eq!(TopSimStats::get(&sim.state.stats.faults), 5);
    assert!(s.stats().retries >= 5, "{:?}", s.stats());
}

fn client(sim: &RunningTopSim) -> TopClient {
    let creds = Credentials {
        app_key: sim.state.config.app_key.clone(),
        app_secret: sim.state.config.app_secret.clone(),
        session: session_for(0),
    };
    let mut cfg = TopClientConfig::new(sim.gateway_url());
    cfg.per_second = sim.state.config.per_second.map(|n| n as u32);
    cfg.per_minute = sim.state.config.per_minute.map(|n| n as u32);
    cfg.backoff = Duration::from_millis(20);
    TopClient::new(cfg, creds)
}

const SMALL: &[(&str, &str)] = &[
    ("fields", "tid"),
    ("start_modified", "2026-11-01 00:00:00"),
    ("end_modified", "2026-11-01 06:00:00"),
    ("page_size", "5"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paced_client_never_hits_the_real_limit_and_uses_the_budget() {
    let sim = start(TopSimConfig::default(), 200).await;
    let rate = sim.state.config.per_second.expect("a limit") as f64;
    let c = Arc::new(client(&sim));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let c = Arc::clone(&c);
        tasks.push(tokio::spawn(async move {
            let mut done = 0u32;
            while started.elapsed() < Duration::from_secs(10) {
                c.call(INC, SMALL).await.expect("call");
                done += 1;
            }
            done
        }));
    }
    let mut calls = 0;
    for task in tasks {
        calls += task.await.expect("task");
    }
    let elapsed = started.elapsed().as_secs_f64();
    // Under a sliding one-second window, the fastest compliant caller sends `rate` calls at
    // 0 s, 1 s, 2 s, …: `calls` calls need ceil(calls / rate) - 1 seconds.
    let used = ((f64::from(calls) / rate).ceil() - 1.0) / elapsed;
    eprintln!(
        "TOP pacing: {calls} calls in {elapsed:.2}s at {rate}/s: {:.1}% of the budget",
        used * 100.0
    );
    assert_eq!(
        TopSimStats::get(&sim.state.stats.rate_limited),
        0,
        "the gateway never refused a call"
    );
    assert_eq!(TopSimStats::get(&sim.state.stats.ok), u64::from(calls));
    assert!(used >= 0.9, "used {:.1}% of the budget", used * 100.0);
}

#[tokio::test]
async fn a_ban_is_waited_out_as_the_platform_states_it() {
    let sim = start(TopSimConfig::default().unlimited(), 50).await;
    sim.state
        .inject([TopFault::ThrottleBurst(Duration::from_secs(2))]);
    let c = client(&sim);
    let started = Instant::now();
    c.call(INC, SMALL).await.expect("after the ban");
    let waited = started.elapsed();
    // The first answer says 2 more seconds: the client sleeps 3 and then succeeds.
    assert!(waited >= Duration::from_secs(2), "{waited:?}");
    assert_eq!(
        TopSimStats::get(&sim.state.stats.rate_limited),
        1,
        "no hammering during the ban"
    );
    assert_eq!(TopSimStats::get(&c.stats.throttled), 1);
    assert!(c.stream_stats().throttle_wait >= Duration::from_secs(2));
    // A ban longer than the cap is waited for at most the cap per try; retries then run out.
    sim.state
        .inject([TopFault::ThrottleBurst(Duration::from_secs(30))]);
    let mut cfg = TopClientConfig::new(sim.gateway_url());
    cfg.max_ban_wait = Duration::from_millis(200);
    cfg.max_retries = 2;
    let creds = Credentials {
        app_key: sim.state.config.app_key.clone(),
        app_secret: sim.state.config.app_secret.clone(),
        session: session_for(0),
    };
    let err = TopClient::new(cfg, creds)
        .call(INC, SMALL)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("This ban will last for"), "{err}");
}

/// Two shops' connectors of one app, as two processes: `shared` gives them one budget file.
async fn two_shops_of_one_app(shared: bool) -> (u64, u64) {
    use crate::pace::{FileBudget, Limits};
    let sim = start(TopSimConfig::default(), 50).await;
    let dir = tempfile::tempdir().expect("dir");
    let clients: Vec<Arc<TopClient>> = (0..2)
        .map(|i| {
            let c = client(&sim);
            let key = if shared {
                "taobao-app".to_string()
            } else {
                format!("taobao-shop{i}")
            };
            let limits: Limits = c.budget_limits();
            Arc::new(c.with_budget(Arc::new(FileBudget::in_dir(dir.path(), &key, limits))))
        })
        .collect();
    let tasks: Vec<_> = clients
        .iter()
        .map(|c| {
            let c = Arc::clone(c);
            tokio::spawn(async move {
                for _ in 0..25 {
                    c.call(INC, SMALL).await.expect("call");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    let st = &sim.state.stats;
    (TopSimStats::get(&st.ok), TopSimStats::get(&st.rate_limited))
}

#[tokio::test]
async fn shops_of_one_app_share_its_budget_and_are_never_banned() {
    assert_eq!(two_shops_of_one_app(true).await, (50, 0));
    // The control: a budget per shop sends twice the app's rate and is banned.
    let (ok, refused) = two_shops_of_one_app(false).await;
    assert_eq!(ok, 50, "they recover from the ban");
    assert!(refused > 0, "the app's quota was exceeded");
}
