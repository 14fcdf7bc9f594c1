//! The gateway's routes and the checks every call goes through.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use super::endpoints::{self, ENDPOINTS, Endpoint};
use super::{Fault, SimState};
use crate::sign;

type Shared = Arc<SimState>;
type Params = HashMap<String, String>;

pub(crate) fn router(state: Shared) -> Router {
    let mut r = Router::new();
    for ep in ENDPOINTS {
        r = r.route(
            ep.path,
            post(
                move |State(s): State<Shared>,
                      headers: HeaderMap,
                      RawQuery(q): RawQuery,
                      body: Bytes| { business(s, headers, q, body, ep) },
            ),
        );
    }
    r.route("/openWeb/auth/getInitToken", post(init_token))
        .route("/openWeb/auth/refreshToken", post(refresh_token))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"code": -1, "msg": "接口不存在"})),
            )
        })
        .with_state(state)
}

fn reply(code: i64, msg: &str, data: Value) -> Response {
    axum::Json(json!({"code": code, "msg": msg, "data": data})).into_response()
}

fn refuse(code: i64, msg: &str) -> Response {
    reply(code, msg, Value::Null)
}

/// A refused call: the platform's code and message.
struct Refusal(i64, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        refuse(self.0, &self.1)
    }
}

fn refusal(code: i64, msg: &str) -> Refusal {
    Refusal(code, msg.to_string())
}

/// Reads a form-encoded body plus query parameters; anything else is refused.
fn params(headers: &HeaderMap, query: Option<String>, body: &[u8]) -> Result<Params, Refusal> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return Err(refusal(
            -1,
            "Content-Type必须为application/x-www-form-urlencoded",
        ));
    }
    let mut p: Params = url::form_urlencoded::parse(body).into_owned().collect();
    if let Some(q) = query {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()).into_owned() {
            p.entry(k).or_insert(v);
        }
    }
    Ok(p)
}

/// Checks app key, charset, timestamp and signature (and version/token for business calls).
fn verify(s: &SimState, p: &Params, business: bool) -> Result<(), Refusal> {
    let stats = &s.stats;
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    if get("app_key") != s.config.app_key || get("sign").is_empty() {
        stats.bad_sign.fetch_add(1, Ordering::Relaxed);
        return Err(refusal(10, "验证失败！无效签名"));
    }
    if get("charset") != "utf-8" || (business && get("version") != "2") {
        stats.bad_request.fetch_add(1, Ordering::Relaxed);
        return Err(refusal(10, "验证失败！charset必须为utf-8，version必须为2"));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    match get("timestamp").parse::<i64>() {
        Ok(ts) if (now - ts).unsigned_abs() <= s.config.max_skew.as_secs() => {}
        _ => {
            stats.bad_timestamp.fetch_add(1, Ordering::Relaxed);
            return Err(refusal(
                140,
                "验证失败！无效的timestamp，请求最大时间误差15分钟",
            ));
        }
    }
    let expected = sign::jushuitan(
        &s.config.app_secret,
        p.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    );
    if !sign::same_signature(&expected, get("sign")) {
        stats.bad_sign.fetch_add(1, Ordering::Relaxed);
        return Err(refusal(10, "验证失败！无效签名"));
    }
    if business {
        let valid = s
            .lock_tokens()
            .get(get("access_token"))
            .is_some_and(|t| t.expires > Instant::now());
        if !valid {
            stats.bad_token.fetch_add(1, Ordering::Relaxed);
            return Err(refusal(
                100,
                "验证失败！无效的access_token或access_token已过期",
            ));
        }
    }
    Ok(())
}

/// Parses the form and runs the common checks.
fn checked(
    s: &SimState,
    headers: &HeaderMap,
    query: Option<String>,
    body: &[u8],
    business: bool,
) -> Result<Params, Refusal> {
    let p = params(headers, query, body)?;
    verify(s, &p, business)?;
    Ok(p)
}

fn issue(s: &SimState, old: Option<&str>) -> Response {
    let n = s.issued.fetch_add(1, Ordering::Relaxed) + 1;
    let (access, refresh) = (format!("simtok{n:08}"), format!("simref{n:08}"));
    if let Some(old) = old {
        s.lock_tokens().remove(old);
    }
    s.grant(&access, &refresh);
    let ttl = s.config.token_ttl.as_secs();
    reply(
        0,
        "执行成功",
        json!({"access_token": access, "expires_in": ttl, "refresh_token": refresh, "scope": "all"}),
    )
}

async fn init_token(
    State(s): State<Shared>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, Refusal> {
    let p = checked(&s, &headers, q, &body, false)?;
    if p.get("grant_type").map(String::as_str) != Some("authorization_code")
        || p.get("code").is_none_or(String::is_empty)
    {
        return Err(refusal(-1, "grant_type或code无效"));
    }
    Ok(issue(&s, None))
}

async fn refresh_token(
    State(s): State<Shared>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, Refusal> {
    let fault = s
        .refresh_faults
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .pop_front();
    match fault {
        Some(Fault::ServerError) => {
            s.stats.faults.fetch_add(1, Ordering::Relaxed);
            return Ok((StatusCode::BAD_GATEWAY, "<html>502 Bad Gateway</html>").into_response());
        }
        Some(Fault::Garbage) => {
            s.stats.faults.fetch_add(1, Ordering::Relaxed);
            return Ok((StatusCode::OK, "<html>系统繁忙</html>").into_response());
        }
        Some(Fault::Slow(d)) => tokio::time::sleep(d).await,
        _ => {}
    }
    let p = checked(&s, &headers, q, &body, false)?;
    let given = p.get("refresh_token").cloned().unwrap_or_default();
    let old = s
        .lock_tokens()
        .iter()
        .find(|(_, t)| t.refresh == given)
        .map(|(a, _)| a.clone());
    match old {
        Some(old) if p.get("grant_type").map(String::as_str) == Some("refresh_token") => {
            s.stats.token_refreshes.fetch_add(1, Ordering::Relaxed);
            Ok(issue(&s, Some(&old)))
        }
        _ => Err(refusal(-1, "refresh_token无效")),
    }
}

/// One business call on `ep`: faults, common checks, the shared per-token limiter, then the
/// endpoint's own `biz` rules.
async fn business(
    s: Shared,
    headers: HeaderMap,
    q: Option<String>,
    body: Bytes,
    ep: &'static Endpoint,
) -> Response {
    s.stats.requests.fetch_add(1, Ordering::Relaxed);
    let fault = s
        .faults
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .pop_front();
    if let Some(f) = &fault {
        s.stats.faults.fetch_add(1, Ordering::Relaxed);
        match f {
            Fault::ServerError => {
                return (
                    StatusCode::BAD_GATEWAY,
                    "<html><body>502 Bad Gateway</body></html>",
                )
                    .into_response();
            }
            Fault::Garbage => return (StatusCode::OK, "<html>系统繁忙</html>").into_response(),
            Fault::Slow(d) => tokio::time::sleep(*d).await,
            Fault::Throttle => return refuse(199, "调用频次超过限制!请稍后再试"),
            Fault::ExpireTokens => {
                for t in s.lock_tokens().values_mut() {
                    t.expires = Instant::now() - Duration::from_secs(1);
                }
            }
        }
    }
    let p = match checked(&s, &headers, q, &body, true) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let token = if s.config.limit_by_app {
        p.get("app_key").cloned().unwrap_or_default()
    } else {
        p.get("access_token").cloned().unwrap_or_default()
    };
    let admitted = s
        .limiter
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .admit(&token, Instant::now());
    if let Err(code) = admitted {
        s.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
        return refuse(
            code,
            if code == 199 {
                "调用频次超过限制!请稍后再试"
            } else {
                "调用频次超过限制"
            },
        );
    }
    match endpoints::query(&s, ep, p.get("biz").map_or("", String::as_str)) {
        Ok(text) => {
            s.stats.ok.fetch_add(1, Ordering::Relaxed);
            ([(header::CONTENT_TYPE, "application/json")], text).into_response()
        }
        Err(msg) => {
            s.stats.bad_request.fetch_add(1, Ordering::Relaxed);
            refuse(s.config.biz_error_code, &msg)
        }
    }
}
