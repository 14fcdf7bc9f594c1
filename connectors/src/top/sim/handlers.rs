//! The gateway's one route, `POST /router/rest`, and the checks every call goes through, in
//! the platform's order: format, method, app key, timestamp, version, signature, session,
//! flow control, then the API's own arguments.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{NaiveDateTime, TimeZone};
use serde_json::{Value, json};

use super::render::{self, Fields, REFUND_FIELDS, Style, TRADE_FIELDS};
use super::world::TradeType;
use super::{TopFault, TopSimState, lock};
use crate::sign::{self, TopSignMethod};
use crate::top::envelope::response_key;

type Shared = Arc<TopSimState>;
type Params = HashMap<String, String>;

const INCREMENT: &str = "taobao.trades.sold.increment.get";
const FULLINFO: &str = "taobao.trade.fullinfo.get";
const REFUNDS: &str = "taobao.refunds.receive.get";
const METHODS: &[&str] = &[INCREMENT, FULLINFO, REFUNDS];
const TIME: &str = "%Y-%m-%d %H:%M:%S";
/// Trade types returned when a call gives no `type` (§2.8).
const DEFAULT_TYPES: &[&str] = &["guarantee_trade", "auto_delivery", "ec", "cod", "step"];

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/router/rest", post(rest))
        .fallback(|| async { (StatusCode::NOT_FOUND, "<html>404 Not Found</html>") })
        .with_state(state)
}

/// A refused call: code, msg and optional sub-code / sub-message.
struct Refusal {
    code: i64,
    msg: &'static str,
    sub: Option<(String, String)>,
}

fn refusal(code: i64, msg: &'static str) -> Refusal {
    Refusal {
        code,
        msg,
        sub: None,
    }
}

fn invalid(sub_msg: String) -> Refusal {
    Refusal {
        code: 41,
        msg: "Invalid arguments",
        sub: Some(("isv.invalid-parameter".into(), sub_msg)),
    }
}

fn missing(name: &str) -> Refusal {
    Refusal {
        code: 40,
        msg: "Missing required arguments",
        sub: Some((
            format!("isv.missing-parameter:{name}"),
            format!("Missing required arguments:{name}"),
        )),
    }
}

impl Refusal {
    fn into_response(self, s: &TopSimState) -> Response {
        let mut e = json!({"code": self.code, "msg": self.msg, "request_id": request_id(s)});
        if let Some((code, msg)) = self.sub {
            e["sub_code"] = json!(code);
            e["sub_msg"] = json!(msg);
        }
        axum::Json(json!({ "error_response": e })).into_response()
    }
}

fn request_id(s: &TopSimState) -> String {
    format!(
        "sim{:010x}",
        s.request_ids.fetch_add(1, Ordering::Relaxed) + 1
    )
}

fn count(c: &std::sync::atomic::AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

async fn rest(
    State(s): State<Shared>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    count(&s.stats.requests);
    let fault = lock(&s.faults).pop_front();
    if let Some(f) = fault {
        count(&s.stats.faults);
        match f {
            TopFault::ServerError => {
                return (
                    StatusCode::BAD_GATEWAY,
                    "<html><body>502 Bad Gateway</body></html>",
                )
                    .into_response();
            }
            TopFault::Garbage => return (StatusCode::OK, "<html>系统繁忙</html>").into_response(),
            TopFault::Slow(d) => tokio::time::sleep(d).await,
            TopFault::IspError => {
                return Refusal {
                    code: 15,
                    msg: "Remote service error",
                    sub: Some((
                        "isp.top-remote-connection-timeout".into(),
                        "调用后端服务超时".into(),
                    )),
                }
                .into_response(&s);
            }
            TopFault::ThrottleBurst(d) => lock(&s.limiter).ban(Instant::now(), d),
            TopFault::ExpireSessions => {
                for v in lock(&s.sessions).values_mut() {
                    v.expires = Instant::now() - Duration::from_secs(1);
                }
            }
        }
    }
    match serve(&s, &headers, q, &body) {
        Ok(r) => {
            count(&s.stats.ok);
            r
        }
        Err(r) => r.into_response(&s),
    }
}

fn params(headers: &HeaderMap, query: Option<String>, body: &[u8]) -> Result<Params, Refusal> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return Err(refusal(9, "Http Action Not Allowed"));
    }
    let mut p: Params = url::form_urlencoded::parse(body).into_owned().collect();
    if let Some(q) = query {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()).into_owned() {
            p.entry(k).or_insert(v);
        }
    }
    Ok(p)
}

/// `timestamp` as GMT+8 text or epoch milliseconds, to Unix seconds.
fn timestamp(text: &str) -> Option<i64> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<i64>().ok().map(|ms| ms / 1000);
    }
    let naive = NaiveDateTime::parse_from_str(text, TIME).ok()?;
    Some(
        vocab::BUSINESS_TZ
            .from_local_datetime(&naive)
            .single()?
            .timestamp(),
    )
}

/// The common checks; returns the seller the session belongs to.
fn verify(s: &TopSimState, p: &Params) -> Result<u16, Refusal> {
    let st = &s.stats;
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    if get("format") != "json" {
        count(&st.bad_request);
        return Err(refusal(23, "Invalid Format"));
    }
    match get("method") {
        "" => return Err(refusal(21, "Missing Method")),
        m if !METHODS.contains(&m) => return Err(refusal(22, "Invalid Method")),
        _ => {}
    }
    match get("app_key") {
        "" => {
            count(&st.bad_app_key);
            return Err(refusal(28, "Missing App Key"));
        }
        k if k != s.config.app_key => {
            count(&st.bad_app_key);
            return Err(refusal(29, "Invalid App Key"));
        }
        _ => {}
    }
    let now = chrono::Utc::now().timestamp();
    match timestamp(get("timestamp")) {
        _ if get("timestamp").is_empty() => {
            count(&st.bad_timestamp);
            return Err(refusal(30, "Missing Timestamp"));
        }
        Some(t) if (now - t).unsigned_abs() <= s.config.max_skew.as_secs() => {}
        _ => {
            count(&st.bad_timestamp);
            return Err(refusal(31, "Invalid Timestamp"));
        }
    }
    match get("v") {
        "" => return Err(refusal(32, "Missing Version")),
        "2.0" => {}
        _ => return Err(refusal(34, "Unsupported Version")),
    }
    if get("sign").is_empty() {
        count(&st.bad_sign);
        return Err(refusal(24, "Missing Signature"));
    }
    let Some(method) = TopSignMethod::parse(get("sign_method")) else {
        count(&st.bad_sign);
        return Err(invalid(format!(
            "sign_method {:?} is not supported",
            get("sign_method")
        )));
    };
    let expected = sign::top(
        method,
        &s.config.app_secret,
        p.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    );
    if !sign::same_signature(&expected, get("sign")) {
        count(&st.bad_sign);
        return Err(refusal(25, "Invalid signature"));
    }
    if get("session").is_empty() {
        count(&st.bad_session);
        return Err(refusal(26, "Missing Session"));
    }
    let session = lock(&s.sessions).get(get("session")).cloned();
    let seller = match session {
        Some(x) if x.expires > Instant::now() => x.seller,
        found => {
            count(&st.bad_session);
            let sub = if found.is_some() {
                s.config.expired_sub_code.clone()
            } else {
                "invalid-sessionkey".to_string()
            };
            return Err(Refusal {
                code: 27,
                msg: "Invalid session",
                sub: Some((sub, "SessionKey非法".into())),
            });
        }
    };
    if let Err(secs) = lock(&s.limiter).admit(Instant::now()) {
        count(&st.rate_limited);
        return Err(Refusal {
            code: 7,
            msg: "App Call Limited",
            sub: Some((
                "accesscontrol.limited-by-app-access-count".into(),
                format!("This ban will last for {secs} more seconds"),
            )),
        });
    }
    Ok(seller)
}

fn serve(
    s: &TopSimState,
    headers: &HeaderMap,
    q: Option<String>,
    body: &[u8],
) -> Result<Response, Refusal> {
    let p = params(headers, q, body)?;
    let seller = verify(s, &p)?;
    let method = p.get("method").cloned().unwrap_or_default();
    let style = Style {
        ids_as_strings: s.config.ids_as_strings,
        simplify: p.get("simplify").is_some_and(|v| v == "true"),
    };
    let result = match method.as_str() {
        INCREMENT => increment(s, &p, seller, style),
        FULLINFO => fullinfo(s, &p, seller, style),
        _ => refunds(s, &p, seller, style),
    };
    let mut inner = result.inspect_err(|_| count(&s.stats.bad_request))?;
    inner["request_id"] = json!(request_id(s));
    let out = if style.simplify {
        inner
    } else {
        json!({ response_key(&method): inner })
    };
    Ok(axum::Json(out).into_response())
}

fn required<'a>(p: &'a Params, name: &str) -> Result<&'a str, Refusal> {
    p.get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| missing(name))
}

fn time_arg(p: &Params, name: &str) -> Result<NaiveDateTime, Refusal> {
    let text = required(p, name)?;
    NaiveDateTime::parse_from_str(text, TIME)
        .map_err(|_| invalid(format!("{name} {text:?} is not yyyy-MM-dd HH:mm:ss")))
}

/// `page_no`, `page_size` (1..=max) and `use_has_next`.
fn paging(s: &TopSimState, p: &Params) -> Result<(usize, usize, bool), Refusal> {
    let int = |name: &str, default: i64| -> Result<i64, Refusal> {
        p.get(name).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| invalid(format!("{name} {v:?} is not a number")))
        })
    };
    let page_no = int("page_no", 1)?.max(1);
    let size = int("page_size", 40)?;
    if !(1..=s.config.max_page_size).contains(&size) {
        return Err(invalid(format!(
            "page_size must be between 1 and {}, not {size}",
            s.config.max_page_size
        )));
    }
    let use_has_next = p.get("use_has_next").is_some_and(|v| v == "true");
    Ok((((page_no - 1) * size) as usize, size as usize, use_has_next))
}

fn fields(p: &Params, known: &[&str]) -> Result<Fields, Refusal> {
    Fields::parse(required(p, "fields")?, known)
        .map_err(|f| invalid(format!("fields: unknown field {f}")))
}

fn page_body(
    total: usize,
    skip: usize,
    rows: usize,
    use_has_next: bool,
    outer: &str,
    list: Option<Value>,
) -> Value {
    let mut v = json!({ "has_next": skip + rows < total });
    if !use_has_next {
        v["total_results"] = json!(total);
    }
    if let Some(list) = list {
        v[outer] = list;
    }
    v
}

fn increment(s: &TopSimState, p: &Params, seller: u16, style: Style) -> Result<Value, Refusal> {
    let mut fields = fields(p, TRADE_FIELDS)?;
    let (begin, end) = (time_arg(p, "start_modified")?, time_arg(p, "end_modified")?);
    if end < begin {
        return Err(invalid(
            "end_modified must not be before start_modified".into(),
        ));
    }
    if (end - begin).to_std().unwrap_or_default() > s.config.max_window {
        return Err(invalid(
            "时间跨度不能超过一天 (end_modified - start_modified > 1 day)".into(),
        ));
    }
    let (skip, take, use_has_next) = paging(s, p)?;
    let types: Vec<String> = p.get("type").map_or_else(
        || DEFAULT_TYPES.iter().map(|t| (*t).to_string()).collect(),
        |t| t.split(',').map(|x| x.trim().to_string()).collect(),
    );
    let wanted = |t: TradeType| types.iter().any(|x| x == t.as_str());
    for omitted in &s.config.increment_omits {
        fields.remove(omitted);
    }
    let (page, total) =
        s.world
            .trade_page(seller, (begin, end), |t| wanted(t.trade_type), skip, take);
    let sellers = s.world.sellers();
    let seller_row = &sellers[usize::from(seller)];
    let rows: Vec<Value> = page
        .iter()
        .map(|t| render::trade(t, seller_row, &fields, style))
        .collect();
    s.stats
        .rows_served
        .fetch_add(rows.len() as u64, Ordering::Relaxed);
    let n = rows.len();
    let list = (n > 0).then(|| style.list("trade", rows));
    Ok(page_body(total, skip, n, use_has_next, "trades", list))
}

fn fullinfo(s: &TopSimState, p: &Params, seller: u16, style: Style) -> Result<Value, Refusal> {
    count(&s.stats.fullinfo_calls);
    let fields = fields(p, TRADE_FIELDS)?;
    let tid_text = required(p, "tid")?;
    let tid: i64 = tid_text
        .parse()
        .map_err(|_| invalid(format!("tid {tid_text:?} is not a number")))?;
    let trade = s
        .world
        .trade(tid)
        .filter(|t| t.seller == seller)
        .ok_or_else(|| Refusal {
            code: 15,
            msg: "Remote service error",
            sub: Some(("isv.trade-not-exist".into(), format!("交易{tid}不存在"))),
        })?;
    let sellers = s.world.sellers();
    s.stats.rows_served.fetch_add(1, Ordering::Relaxed);
    Ok(json!({"trade": render::trade(&trade, &sellers[usize::from(seller)], &fields, style)}))
}

fn refunds(s: &TopSimState, p: &Params, seller: u16, style: Style) -> Result<Value, Refusal> {
    let fields = fields(p, REFUND_FIELDS)?;
    let window = match (p.get("start_modified"), p.get("end_modified")) {
        (None, None) => None,
        _ => {
            let (b, e) = (time_arg(p, "start_modified")?, time_arg(p, "end_modified")?);
            if e < b {
                return Err(invalid(
                    "end_modified must not be before start_modified".into(),
                ));
            }
            Some((b, e))
        }
    };
    let (skip, take, use_has_next) = paging(s, p)?;
    let (page, total) = s.world.refund_page(seller, window, skip, take);
    let sellers = s.world.sellers();
    let rows: Vec<Value> = page
        .iter()
        .map(|r| render::refund(r, &sellers[usize::from(seller)], &fields, style))
        .collect();
    s.stats
        .rows_served
        .fetch_add(rows.len() as u64, Ordering::Relaxed);
    let n = rows.len();
    let list = (n > 0).then(|| style.list("refund", rows));
    Ok(page_body(total, skip, n, use_has_next, "refunds", list))
}
