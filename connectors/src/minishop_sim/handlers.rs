//! MiniShop's route and the checks every request goes through, in order: faults, app key,
//! timestamp skew, signature, rate limit, parameters.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::DateTime;
use serde_json::{Value, json};

use super::{Fault, MsState};
use crate::manifest::hmac_sha256;
use crate::manifest::settings::Encoding;
use crate::sign::same_signature;

type Shared = Arc<MsState>;

/// The one resource this backend serves.
pub(crate) const ORDERS: &str = "/api/v2/orders";

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route(ORDERS, get(orders))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"code": 40400, "message": "not found", "data": null})),
            )
        })
        .with_state(state)
}

fn answer(status: StatusCode, code: i64, message: &str, data: Value) -> Response {
    (
        status,
        axum::Json(json!({"code": code, "message": message, "data": data})),
    )
        .into_response()
}

fn refuse(status: StatusCode, code: i64, message: &str) -> Response {
    answer(status, code, message, Value::Null)
}

fn throttled(retry_after: u64) -> Response {
    let mut r = refuse(
        StatusCode::TOO_MANY_REQUESTS,
        42900,
        "too many requests, slow down",
    );
    if let Ok(v) = retry_after.to_string().parse() {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// The canonical string MiniShop signs: `GET\n<path>\n<sorted query>\n<timestamp>`.
fn canonical(path: &str, params: &[(String, String)], timestamp: &str) -> String {
    let mut kv: Vec<&(String, String)> = params.iter().collect();
    kv.sort();
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in kv {
        q.append_pair(k, v);
    }
    format!("GET\n{path}\n{}\n{timestamp}", q.finish())
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// App key, timestamp and signature; the refusal otherwise.
fn authenticate(
    s: &MsState,
    headers: &HeaderMap,
    path: &str,
    params: &[(String, String)],
) -> Result<(), (StatusCode, i64, &'static str)> {
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    if h("x-app-key") != s.config.app_key {
        s.stats.bad_key.fetch_add(1, Ordering::Relaxed);
        return Err((StatusCode::UNAUTHORIZED, 40100, "unknown app key"));
    }
    let ts = h("x-timestamp");
    match ts.parse::<i64>() {
        Ok(t) if (now_secs() - t).unsigned_abs() <= s.config.max_skew.as_secs() => {}
        _ => {
            s.stats.bad_timestamp.fetch_add(1, Ordering::Relaxed);
            return Err((
                StatusCode::UNAUTHORIZED,
                40102,
                "X-Timestamp is missing or too far from the server clock",
            ));
        }
    }
    let expected = hmac_sha256(
        &s.config.app_secret,
        &canonical(path, params, ts),
        Encoding::Hex,
    );
    if !same_signature(&expected, h("x-signature")) {
        s.stats.bad_sign.fetch_add(1, Ordering::Relaxed);
        return Err((StatusCode::UNAUTHORIZED, 40101, "invalid signature"));
    }
    Ok(())
}

async fn orders(State(s): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    s.stats.requests.fetch_add(1, Ordering::Relaxed);
    let fault = s
        .faults
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .pop_front();
    if let Some(f) = fault {
        s.stats.faults.fetch_add(1, Ordering::Relaxed);
        match f {
            Fault::ServerError => {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "<html><body>503 Service Unavailable</body></html>",
                )
                    .into_response();
            }
            Fault::Garbage => return (StatusCode::OK, "<html>服务器繁忙</html>").into_response(),
            Fault::Slow(d) => tokio::time::sleep(d).await,
            Fault::Throttle => return throttled(1),
            Fault::Modify { id, updated } => {
                s.world.modify(id, updated, |o| {
                    if o.items.len() > 1 {
                        o.items = o.items[..o.items.len() - 1].into();
                    }
                });
            }
        }
    }
    let params: Vec<(String, String)> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    if let Err((status, code, message)) = authenticate(&s, &headers, uri.path(), &params) {
        return refuse(status, code, message);
    }
    let admitted = s
        .limiter
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .admit(&s.config.app_key, Instant::now());
    if let Err(wait) = admitted {
        s.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
        return throttled(wait);
    }
    match query(&s, &params) {
        Ok(data) => {
            s.stats.ok.fetch_add(1, Ordering::Relaxed);
            answer(StatusCode::OK, 0, "ok", data)
        }
        Err((code, msg)) => {
            s.stats.bad_request.fetch_add(1, Ordering::Relaxed);
            refuse(StatusCode::BAD_REQUEST, code, &msg)
        }
    }
}

fn cursor_text(updated: i64, id: u64) -> String {
    format!("{updated:x}-{id:x}")
}

fn parse_cursor(c: &str) -> Option<(i64, u64)> {
    let (a, b) = c.split_once('-')?;
    Some((
        i64::from_str_radix(a, 16).ok()?,
        u64::from_str_radix(b, 16).ok()?,
    ))
}

fn query(s: &MsState, params: &[(String, String)]) -> Result<Value, (i64, String)> {
    let mut names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err((40003, "a parameter is repeated".into()));
    }
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if let Some((k, _)) = params.iter().find(|(k, _)| {
        !matches!(
            k.as_str(),
            "updated_from" | "updated_to" | "limit" | "cursor"
        )
    }) {
        return Err((40003, format!("unknown parameter `{k}`")));
    }
    let time = |k: &str| {
        let v = get(k).ok_or((40003, format!("`{k}` is required")))?;
        DateTime::parse_from_rfc3339(v)
            .map(|d| d.timestamp())
            .map_err(|_| (40003, format!("`{k}` = {v:?} is not an RFC 3339 time")))
    };
    let (from, to) = (time("updated_from")?, time("updated_to")?);
    if to <= from {
        return Err((40001, "updated_to must be after updated_from".into()));
    }
    if (to - from) as u64 > s.config.max_window.as_secs() {
        return Err((
            40001,
            format!(
                "the window may span at most {} hours",
                s.config.max_window.as_secs() / 3600
            ),
        ));
    }
    let limit = match get("limit") {
        None => 20,
        Some(l) => l
            .parse::<usize>()
            .map_err(|_| (40002, format!("limit = {l:?} is not a number")))?,
    };
    if limit == 0 || limit > s.config.max_limit {
        return Err((
            40002,
            format!("limit must be between 1 and {}", s.config.max_limit),
        ));
    }
    let after = match get("cursor") {
        None | Some("") => None,
        Some(c) => Some(parse_cursor(c).ok_or((40003, format!("cursor {c:?} is not valid")))?),
    };
    let (page, more) = s.world.page(from, to, after, limit);
    s.stats
        .rows_served
        .fetch_add(page.len() as u64, Ordering::Relaxed);
    let next = page
        .last()
        .filter(|_| more)
        .map(|o| cursor_text(o.updated, o.id));
    let orders: Vec<Value> = page.iter().map(super::MsOrder::to_json).collect();
    Ok(json!({"orders": orders, "next_cursor": next, "has_more": more}))
}
