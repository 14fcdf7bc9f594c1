//! Local stand-ins for the robots and an SMTP server, faithful where it matters to a sender:
//! they check the robot's token and **signature** (DingTalk, Feishu, the generic webhook) and
//! refuse wrong ones with the platform's own codes, enforce the rate limits (WeCom and DingTalk
//! 20/minute per robot, Feishu 5/second and 100/minute), validate the message shape, and record
//! everything they accepted or refused. `fail_next(n)` answers the next `n` requests with
//! HTTP 502 to exercise retries. [`SmtpSink`] speaks enough SMTP for lettre and keeps the mails.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::loopback::Loopback;
use crate::sign;

/// Which robots exist and their secrets.
#[derive(Debug, Clone, Default)]
pub struct ImSimConfig {
    /// WeCom robot keys.
    pub wecom_keys: Vec<String>,
    /// DingTalk robots: (access_token, signing secret).
    pub dingtalk: Vec<(String, String)>,
    /// Feishu bots: (hook token, signing secret).
    pub feishu: Vec<(String, String)>,
    /// Secret of the generic webhook (`/hook/{name}`); unsigned requests are refused when set.
    pub webhook_secret: Option<String>,
}

/// A request the receivers accepted or refused.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Received {
    /// `wecom`, `dingtalk`, `feishu` or `webhook`.
    pub channel: &'static str,
    /// The robot's token or key, or the webhook name.
    pub robot: String,
    /// The platform's code in the answer (0 = accepted; HTTP status for the webhook).
    pub code: i64,
    /// The answer's message (`ok`, `sign not match`, …).
    pub reason: String,
    /// The JSON body as received.
    pub body: Value,
}

impl Received {
    /// Whether the receiver accepted it.
    pub fn accepted(&self) -> bool {
        self.code == 0 || self.code == 200
    }
}

#[derive(Debug, Default)]
struct SimState {
    cfg: ImSimConfig,
    smtp: Option<Arc<SmtpSink>>,
    log: Mutex<Vec<Received>>,
    windows: Mutex<HashMap<String, VecDeque<Instant>>>,
    fail_next: AtomicUsize,
}

impl SimState {
    fn record(&self, channel: &'static str, robot: &str, code: i64, reason: &str, body: Value) {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        log.push(Received {
            channel,
            robot: robot.to_string(),
            code,
            reason: reason.to_string(),
            body,
        });
    }

    /// Counts a request against `limits` ((window, max) pairs); false when over one of them.
    fn admit(&self, key: &str, limits: &[(Duration, usize)]) -> bool {
        let mut w = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let q = w.entry(key.to_string()).or_default();
        let now = Instant::now();
        let longest = limits.iter().map(|l| l.0).max().unwrap_or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) > longest) {
            q.pop_front();
        }
        for (window, max) in limits {
            let n = q
                .iter()
                .filter(|t| now.duration_since(**t) <= *window)
                .count();
            if n >= *max {
                return false;
            }
        }
        q.push_back(now);
        true
    }

    fn injected_fault(&self) -> bool {
        self.fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

const PER_MINUTE: (Duration, usize) = (Duration::from_secs(60), 20);

/// The robot receivers, served on loopback until dropped.
#[derive(Debug)]
pub struct ImSim {
    lb: Loopback,
    state: Arc<SimState>,
}

impl ImSim {
    /// Starts the receivers on `127.0.0.1:port` (0 = any free port).
    pub async fn start(cfg: ImSimConfig, port: u16) -> std::io::Result<Self> {
        Self::start_with_smtp(cfg, port, None).await
    }

    /// As [`ImSim::start`]; `GET /_sim/mails` also lists what `smtp` received. `GET /_sim/log`
    /// lists every robot request (for scripts and tests in other processes).
    pub async fn start_with_smtp(
        cfg: ImSimConfig,
        port: u16,
        smtp: Option<Arc<SmtpSink>>,
    ) -> std::io::Result<Self> {
        let state = Arc::new(SimState {
            cfg,
            smtp,
            ..SimState::default()
        });
        let app = axum::Router::new()
            .route("/cgi-bin/webhook/send", post(wecom))
            .route("/robot/send", post(dingtalk))
            .route("/open-apis/bot/v2/hook/{token}", post(feishu))
            .route("/hook/{name}", post(webhook))
            .route("/_sim/log", axum::routing::get(sim_log))
            .route("/_sim/mails", axum::routing::get(sim_mails))
            .with_state(Arc::clone(&state));
        let lb = Loopback::serve(app, port).await?;
        Ok(Self { lb, state })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        self.lb.base_url()
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.lb.addr
    }

    /// The WeCom robot URL for `key`.
    pub fn wecom_url(&self, key: &str) -> String {
        format!("{}/cgi-bin/webhook/send?key={key}", self.base_url())
    }

    /// The DingTalk robot URL for `token`.
    pub fn dingtalk_url(&self, token: &str) -> String {
        format!("{}/robot/send?access_token={token}", self.base_url())
    }

    /// The Feishu bot URL for `token`.
    pub fn feishu_url(&self, token: &str) -> String {
        format!("{}/open-apis/bot/v2/hook/{token}", self.base_url())
    }

    /// The generic webhook URL named `name`.
    pub fn webhook_url(&self, name: &str) -> String {
        format!("{}/hook/{name}", self.base_url())
    }

    /// Everything received so far, accepted or refused, in order.
    pub fn log(&self) -> Vec<Received> {
        self.state
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The accepted messages of `channel`.
    pub fn accepted(&self, channel: &str) -> Vec<Received> {
        self.log()
            .into_iter()
            .filter(|r| r.channel == channel && r.accepted())
            .collect()
    }

    /// Answers the next `n` requests with HTTP 502.
    pub fn fail_next(&self, n: usize) {
        self.state.fail_next.store(n, Ordering::SeqCst);
    }
}

type Sim = State<Arc<SimState>>;

async fn sim_log(State(s): Sim) -> Response {
    let log = s.log.lock().unwrap_or_else(|p| p.into_inner()).clone();
    axum::Json(log).into_response()
}

async fn sim_mails(State(s): Sim) -> Response {
    let mails: Vec<Value> = s
        .smtp
        .as_ref()
        .map(|m| m.mails())
        .unwrap_or_default()
        .iter()
        .map(|m| {
            json!({"from": m.from, "to": m.to, "subject": m.header("subject"), "body": m.body_text()})
        })
        .collect();
    axum::Json(mails).into_response()
}
type Params = Query<HashMap<String, String>>;

fn bad_gateway() -> Response {
    (StatusCode::BAD_GATEWAY, "injected fault").into_response()
}

fn errcode(code: i64, msg: &str) -> Response {
    axum::Json(json!({"errcode": code, "errmsg": msg})).into_response()
}

/// Checks the `msgtype` body shape shared by WeCom and DingTalk; `Err((code, msg))`.
fn check_msg(v: &Value, markdown_field: &str, max: usize) -> Result<(), (i64, &'static str)> {
    let content = match v.get("msgtype").and_then(Value::as_str) {
        Some("text") => v.pointer("/text/content"),
        Some("markdown") => v.pointer(&format!("/markdown/{markdown_field}")),
        _ => return Err((40008, "invalid message type")),
    };
    let content = content.and_then(Value::as_str).unwrap_or_default();
    if content.is_empty() {
        return Err((44004, "empty content"));
    }
    if content.len() > max {
        return Err((40058, "markdown.content exceed max length 4096"));
    }
    Ok(())
}

async fn wecom(State(s): Sim, Query(q): Params, body: Bytes) -> Response {
    if s.injected_fault() {
        return bad_gateway();
    }
    let key = q.get("key").cloned().unwrap_or_default();
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (code, msg) = if !s.cfg.wecom_keys.contains(&key) {
        (93000, "invalid webhook url")
    } else if let Err(e) = check_msg(&v, "content", 4096) {
        e
    } else if !s.admit(&format!("wecom:{key}"), &[PER_MINUTE]) {
        (45009, "api freq out of limit")
    } else {
        (0, "ok")
    };
    s.record("wecom", &key, code, msg, v);
    errcode(code, msg)
}

async fn dingtalk(State(s): Sim, Query(q): Params, body: Bytes) -> Response {
    if s.injected_fault() {
        return bad_gateway();
    }
    let token = q.get("access_token").cloned().unwrap_or_default();
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let robot = s.cfg.dingtalk.iter().find(|(t, _)| *t == token);
    let now_ms = chrono::Utc::now().timestamp_millis();
    let (code, msg) = match robot {
        None => (300001, "token is not exist"),
        Some((_, secret)) => {
            let ts = q.get("timestamp").and_then(|t| t.parse::<i64>().ok());
            let sign = q.get("sign").map(String::as_str).unwrap_or_default();
            match ts {
                None => (310000, "invalid timestamp"),
                Some(ts) if (now_ms - ts).abs() > 3_600_000 => (310000, "invalid timestamp"),
                Some(ts) if !sign::same_signature(sign, &sign::dingtalk(secret, ts)) => {
                    (310000, "sign not match")
                }
                Some(_) => match check_msg(&v, "text", 20_000) {
                    Err(e) => e,
                    Ok(()) if !s.admit(&format!("dingtalk:{token}"), &[PER_MINUTE]) => {
                        (130101, "send too fast, exceed 20 times per minute")
                    }
                    Ok(()) => (0, "ok"),
                },
            }
        }
    };
    s.record("dingtalk", &token, code, msg, v);
    errcode(code, msg)
}

async fn feishu(State(s): Sim, Path(token): Path<String>, body: Bytes) -> Response {
    if s.injected_fault() {
        return bad_gateway();
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        s.record("feishu", &token, 9499, "Bad Request", Value::Null);
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"code": 9499, "msg": "Bad Request", "data": {}})),
        )
            .into_response();
    };
    let robot = s.cfg.feishu.iter().find(|(t, _)| *t == token);
    let now = chrono::Utc::now().timestamp();
    let ts = match v.get("timestamp") {
        Some(Value::String(t)) => t.parse::<i64>().ok(),
        Some(Value::Number(n)) => n.as_i64(),
        _ => None,
    };
    let sign = v.get("sign").and_then(Value::as_str).unwrap_or_default();
    let shape_ok = matches!(
        v.get("msg_type").and_then(Value::as_str),
        Some("text" | "post" | "interactive" | "image" | "share_chat")
    );
    let (code, msg) = match robot {
        None => (
            19001,
            "param invalid: incoming webhook access token invalid",
        ),
        Some((_, secret)) => match ts {
            Some(ts)
                if (now - ts).abs() <= 3600
                    && sign::same_signature(sign, &sign::feishu(secret, ts)) =>
            {
                if !shape_ok {
                    (9499, "Bad Request")
                } else if !s.admit(
                    &format!("feishu:{token}"),
                    &[(Duration::from_secs(1), 5), (Duration::from_secs(60), 100)],
                ) {
                    (11232, "frequency limited")
                } else {
                    (0, "success")
                }
            }
            _ => (
                19021,
                "sign match fail or timestamp is not within one hour from current time",
            ),
        },
    };
    s.record("feishu", &token, code, msg, v);
    axum::Json(json!({"code": code, "msg": msg, "data": {}})).into_response()
}

async fn webhook(
    State(s): Sim,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if s.injected_fault() {
        return bad_gateway();
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(secret) = &s.cfg.webhook_secret {
        let header = |k: &str| {
            headers
                .get(k)
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let ts = header("x-zhongtai-timestamp").parse::<i64>().ok();
        let fresh = ts.is_some_and(|t| (chrono::Utc::now().timestamp() - t).abs() <= 300);
        let valid = fresh
            && ts.is_some_and(|t| {
                sign::same_signature(
                    &header("x-zhongtai-signature"),
                    &sign::webhook(secret, t, &body),
                )
            });
        if !valid {
            s.record("webhook", &name, 401, "bad signature", v);
            return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
        }
    }
    s.record("webhook", &name, 200, "ok", v);
    axum::Json(json!({"ok": true})).into_response()
}

/// One mail the sink accepted.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The user that authenticated, if any.
    pub auth_user: Option<String>,
    /// The DATA section as received (headers and body, dot-unstuffed).
    pub data: String,
}

impl Mail {
    /// A header's value, unfolded, with RFC 2047 encoded words decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let mut unfolded: Vec<String> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(last) = unfolded.last_mut() {
                    last.push_str(line);
                }
            } else {
                unfolded.push(line.to_string());
            }
        }
        let prefix = format!("{}:", name.to_ascii_lowercase());
        unfolded
            .iter()
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| decode_words(l[prefix.len()..].trim()))
    }

    /// The body as text (base64 and quoted-printable transfer encodings undone).
    pub fn body_text(&self) -> String {
        let body = self
            .data
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or_default();
        let cte = self
            .header("content-transfer-encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        match cte.as_str() {
            "base64" => {
                let compact: String = body.split_whitespace().collect();
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .unwrap_or_default()
            }
            "quoted-printable" => quoted_printable(body),
            _ => body.to_string(),
        }
    }
}

/// Decodes `=?charset?B|Q?…?=` words (UTF-8 only), joining adjacent ones.
fn decode_words(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("=?") {
        let before = &rest[..start];
        if !before.trim().is_empty() {
            out.push_str(before);
        }
        let word = &rest[start + 2..];
        let parts: Vec<&str> = word.splitn(3, '?').collect();
        let Some(end) = parts.get(2).and_then(|p| p.find("?=")) else {
            out.push_str(&rest[start..]);
            return out;
        };
        let (enc, text) = (parts[1], &parts[2][..end]);
        let bytes = if enc.eq_ignore_ascii_case("b") {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap_or_default()
        } else {
            quoted_printable(&text.replace('_', " ")).into_bytes()
        };
        out.push_str(&String::from_utf8_lossy(&bytes));
        rest = &parts[2][end + 2..];
    }
    out.push_str(rest);
    out
}

fn quoted_printable(s: &str) -> String {
    let mut bytes = Vec::with_capacity(s.len());
    let raw = s.replace("=\r\n", "");
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'='
            && i + 2 < b.len() + 1
            && let Some(h) = raw.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(h, 16)
        {
            bytes.push(v);
            i += 3;
            continue;
        }
        bytes.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[derive(Debug, Default)]
struct SinkState {
    mails: Mutex<Vec<Mail>>,
    /// Required AUTH PLAIN credentials, if any.
    auth: Option<(String, String)>,
    /// Answer the next n `MAIL FROM` with 451 (a transient refusal).
    defer_next: AtomicUsize,
}

/// A local SMTP server that keeps what it is sent.
#[derive(Debug)]
pub struct SmtpSink {
    addr: SocketAddr,
    state: Arc<SinkState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    /// Starts on a free loopback port; `auth` = required (user, password).
    pub async fn start(auth: Option<(String, String)>) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(SinkState {
            auth,
            ..SinkState::default()
        });
        let st = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let st = Arc::clone(&st);
                tokio::spawn(async move {
                    if let Err(e) = session(sock, st).await {
                        tracing::debug!(error = %e, "smtp sink session ended");
                    }
                });
            }
        });
        Ok(Self { addr, state, task })
    }

    /// The port it listens on (host 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The mails accepted so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.state
            .mails
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Refuses the next `n` mails with `451` (try again later).
    pub fn defer_next(&self, n: usize) {
        self.state.defer_next.store(n, Ordering::SeqCst);
    }
}

async fn session(sock: tokio::net::TcpStream, st: Arc<SinkState>) -> std::io::Result<()> {
    let (r, mut w) = sock.into_split();
    let mut lines = BufReader::new(r).lines();
    w.write_all(b"220 zhongtai-sink ESMTP\r\n").await?;
    let mut from = String::new();
    let mut to = Vec::new();
    let mut user: Option<String> = None;
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") {
            "250-zhongtai-sink\r\n250-AUTH PLAIN\r\n250-8BITMIME\r\n250 SMTPUTF8".into()
        } else if upper.starts_with("HELO") {
            "250 zhongtai-sink".into()
        } else if upper.starts_with("AUTH PLAIN") {
            let b64 = line.get(11..).unwrap_or_default().trim();
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or_default();
            let mut parts = decoded.split('\0').skip(1);
            let (u, p) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            match &st.auth {
                Some((eu, ep)) if eu == u && ep == p => {
                    user = Some(u.to_string());
                    "235 2.7.0 Authentication successful".into()
                }
                Some(_) => "535 5.7.8 Authentication credentials invalid".into(),
                None => {
                    user = Some(u.to_string());
                    "235 2.7.0 Authentication successful".into()
                }
            }
        } else if upper.starts_with("MAIL FROM:") {
            if st.auth.is_some() && user.is_none() {
                "530 5.7.0 Authentication required".into()
            } else if st
                .defer_next
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                "451 4.3.0 Try again later".into()
            } else {
                from = addr_of(&line[10..]);
                to.clear();
                "250 2.1.0 Ok".into()
            }
        } else if upper.starts_with("RCPT TO:") {
            to.push(addr_of(&line[8..]));
            "250 2.1.5 Ok".into()
        } else if upper == "DATA" {
            w.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            while let Some(l) = lines.next_line().await? {
                if l == "." {
                    break;
                }
                let l = l.strip_prefix('.').unwrap_or(&l);
                data.push_str(l);
                data.push_str("\r\n");
            }
            st.mails
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(Mail {
                    from: from.clone(),
                    to: to.clone(),
                    auth_user: user.clone(),
                    data,
                });
            "250 2.0.0 Ok: queued".into()
        } else if upper == "RSET" || upper == "NOOP" {
            "250 2.0.0 Ok".into()
        } else if upper == "QUIT" {
            w.write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(());
        } else {
            "502 5.5.2 Command not recognized".into()
        };
        w.write_all(reply.as_bytes()).await?;
        w.write_all(b"\r\n").await?;
    }
    Ok(())
}

fn addr_of(s: &str) -> String {
    let s = s.trim();
    let inner = s
        .strip_prefix('<')
        .and_then(|r| r.split_once('>'))
        .map_or(s, |(a, _)| a);
    inner.to_string()
}
