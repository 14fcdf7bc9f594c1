//! The manifest HTTP client: builds, signs and sends requests, paced under the manifest's rate
//! limit, and reads the response envelope.
//!
//! Recovery, in order:
//! - HTTP 429 or a throttle code: wait (the `Retry-After` header, or the back-off if longer)
//!   and retry;
//! - HTTP 5xx, timeouts, connection errors, unreadable bodies and retry codes: retry with
//!   exponential back-off, up to `max_retries`, then [`StreamError::Unavailable`];
//! - HTTP 401/403 or an auth code: [`StreamError::Auth`] at once;
//! - any other refusal: [`StreamError::Refused`] at once, with the platform's message.
//!
//! Errors never contain URLs (an API key may travel in the query) or secrets.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;

use super::path::JsonPath;
use super::settings::{HttpSettings, Method};
use super::signer::{Outgoing, Signer, sorted_query};
use crate::pace::{Budget, Limits, LocalBudget};
use crate::stream::{Secrets, StreamError, StreamStats};

/// The response envelope's check, with paths parsed.
#[derive(Debug, Clone)]
struct Envelope {
    code: Option<JsonPath>,
    ok: Vec<String>,
    message: Option<JsonPath>,
    auth: Vec<String>,
    throttle: Vec<String>,
    retry: Vec<String>,
}

#[derive(Debug, Default)]
struct Stats {
    requests: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
    throttle_ms: AtomicU64,
}

/// One connector's client, shared by its streams (and so their rate budget).
#[derive(Debug)]
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    base_path: String,
    method: Method,
    params: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    timeout: Duration,
    max_retries: u32,
    backoff: Duration,
    signer: Signer,
    envelope: Envelope,
    budget: LocalBudget,
    stats: Stats,
}

/// What one attempt ended in.
enum Attempt {
    Done(Value),
    /// Retry after at least this long (throttled: `true`).
    Retry(String, Option<Duration>, bool),
    Fail(StreamError),
}

fn path(text: &Option<String>) -> Result<Option<JsonPath>, StreamError> {
    text.as_deref()
        .map(JsonPath::parse)
        .transpose()
        .map_err(|e| StreamError::Settings(format!("response: {e}")))
}

impl Client {
    /// A client for `settings` with its signer's secret resolved from `secrets`.
    pub(crate) fn new(settings: &HttpSettings, secrets: &Secrets) -> Result<Self, StreamError> {
        let r = &settings.requester;
        let url = url::Url::parse(&r.base_url).map_err(|e| {
            StreamError::Settings(format!("requester.base_url `{}`: {e}", r.base_url))
        })?;
        let base_path = url.path().trim_end_matches('/').to_string();
        let base = r.base_url.trim_end_matches('/').to_string();
        if !base.ends_with(&base_path) {
            return Err(StreamError::Settings(format!(
                "requester.base_url `{}`: write its path in normal form ({base_path})",
                r.base_url
            )));
        }
        let resp = &settings.response;
        let codes = |v: &[super::settings::Code]| v.iter().map(|c| c.text()).collect::<Vec<_>>();
        let ok = if resp.ok_codes.is_empty() {
            vec!["0".to_string()]
        } else {
            codes(&resp.ok_codes)
        };
        Ok(Self {
            http: reqwest::Client::new(),
            base: base[..base.len() - base_path.len()].to_string(),
            base_path,
            method: r.method,
            params: r.params.clone().into_iter().collect(),
            headers: r.headers.clone().into_iter().collect(),
            timeout: Duration::from_secs(r.timeout_secs.max(1)),
            max_retries: r.max_retries,
            backoff: Duration::from_millis(r.backoff_ms),
            signer: Signer::new(&settings.signer, secrets)?,
            envelope: Envelope {
                code: path(&resp.code)?,
                ok,
                message: path(&resp.message)?,
                auth: codes(&resp.auth_codes),
                throttle: codes(&resp.throttle_codes),
                retry: codes(&resp.retry_codes),
            },
            budget: LocalBudget::new(Limits::new(
                Some(settings.rate_limit.per_second),
                Some(settings.rate_limit.per_minute),
            )),
            stats: Stats::default(),
        })
    }

    /// The client's counters.
    pub(crate) fn stats(&self) -> StreamStats {
        StreamStats {
            requests: self.stats.requests.load(Ordering::Relaxed),
            retries: self.stats.retries.load(Ordering::Relaxed),
            throttle_wait: Duration::from_millis(self.stats.throttle_ms.load(Ordering::Relaxed)),
            throttled: self.stats.throttled.load(Ordering::Relaxed),
            token_refreshes: 0,
        }
    }

    /// Builds and signs the request for `path` with `params` at `now`.
    pub(crate) fn build(
        &self,
        path: &str,
        params: &[(String, String)],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Outgoing {
        let mut req = Outgoing {
            verb: self.method.verb(),
            path: format!("{}{path}", self.base_path),
            params: self.params.iter().chain(params).cloned().collect(),
            headers: self.headers.clone(),
            body: String::new(),
        };
        self.signer.sign_params(&mut req, now);
        req.body = match self.method {
            Method::Get => String::new(),
            Method::PostForm => sorted_query(&req.params),
            Method::PostJson => {
                let map: serde_json::Map<String, Value> = req
                    .params
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                    .collect();
                Value::Object(map).to_string()
            }
        };
        self.signer.sign_headers(&mut req, now);
        req
    }

    async fn pace(&self) {
        let wait = self.budget.reserve();
        if !wait.is_zero() {
            self.wait_counted(wait).await;
        }
    }

    async fn wait_counted(&self, wait: Duration) {
        self.stats.throttled.fetch_add(1, Ordering::Relaxed);
        self.stats
            .throttle_ms
            .fetch_add(wait.as_millis() as u64, Ordering::Relaxed);
        tokio::time::sleep(wait).await;
    }

    /// The response to `path` with `params`, after the documented recovery.
    pub(crate) async fn fetch(
        &self,
        stream: &str,
        path: &str,
        params: &[(String, String)],
    ) -> Result<Value, StreamError> {
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let req = self.build(path, params, chrono::Utc::now());
            self.pace().await;
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let (last, at_least, throttled) = match self.attempt(stream, req).await {
                Attempt::Done(v) => return Ok(v),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry(why, at_least, throttled) => (why, at_least, throttled),
            };
            if attempts > self.max_retries {
                return Err(StreamError::Unavailable {
                    stream: stream.into(),
                    message: format!("{path}: {attempts} attempts; last: {last}"),
                });
            }
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            let backoff = self.backoff(attempts);
            let wait = at_least.map_or(backoff, |a| a.max(backoff));
            if throttled {
                self.wait_counted(wait).await;
            } else {
                tokio::time::sleep(wait).await;
            }
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .backoff
            .saturating_mul(1 << attempt.min(6).saturating_sub(1));
        let nanos = chrono::Utc::now().timestamp_subsec_nanos();
        base + base.mul_f64(f64::from(nanos % 1000) / 4000.0)
    }

    async fn attempt(&self, stream: &str, req: Outgoing) -> Attempt {
        let url = if req.verb == "GET" && !req.params.is_empty() {
            format!("{}{}?{}", self.base, req.path, sorted_query(&req.params))
        } else {
            format!("{}{}", self.base, req.path)
        };
        let mut b = match req.verb {
            "GET" => self.http.get(url),
            _ => self.http.post(url),
        }
        .timeout(self.timeout);
        for (k, v) in &req.headers {
            b = b.header(k, v);
        }
        b = match self.method {
            Method::Get => b,
            Method::PostForm => b
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded;charset=UTF-8",
                )
                .body(req.body),
            Method::PostJson => b
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(req.body),
        };
        let res = match b.send().await {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Retry(format!("request failed: {}", e.without_url()), None, false);
            }
        };
        let status = res.status();
        let retry_after = res
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = match res.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return Attempt::Retry(
                    format!("reading the response: {}", e.without_url()),
                    None,
                    false,
                );
            }
        };
        if status.as_u16() == 429 {
            return Attempt::Retry("HTTP 429 Too Many Requests".into(), retry_after, true);
        }
        if status.is_server_error() {
            return Attempt::Retry(format!("HTTP {status}"), retry_after, false);
        }
        let auth = status.as_u16() == 401 || status.as_u16() == 403;
        let fail = |auth: bool, message: String| {
            let stream = stream.to_string();
            Attempt::Fail(if auth {
                StreamError::Auth { stream, message }
            } else {
                StreamError::Refused { stream, message }
            })
        };
        let Ok(body) = serde_json::from_slice::<Value>(&bytes) else {
            if status.is_success() {
                return Attempt::Retry(
                    format!("HTTP {status} with a body that is not JSON"),
                    None,
                    false,
                );
            }
            return fail(auth, format!("HTTP {status}"));
        };
        let env = &self.envelope;
        let message = env
            .message
            .as_ref()
            .and_then(|p| crate::tolerant::text(p.get(&body)))
            .unwrap_or_default();
        if let Some(code_path) = &env.code {
            let Some(code) = crate::tolerant::text(code_path.get(&body)) else {
                if status.is_success() {
                    return Attempt::Retry(
                        format!("HTTP {status} without a code at `{}`", code_path.as_str()),
                        None,
                        false,
                    );
                }
                return fail(auth, format!("HTTP {status}"));
            };
            let said = format!("code {code}: {message}");
            if env.auth.contains(&code) {
                return fail(true, said);
            }
            if env.throttle.contains(&code) {
                return Attempt::Retry(said, retry_after, true);
            }
            if env.retry.contains(&code) {
                return Attempt::Retry(said, retry_after, false);
            }
            if !env.ok.contains(&code) {
                return fail(auth, format!("HTTP {status}, {said}"));
            }
        }
        if !status.is_success() {
            return fail(
                auth,
                format!("HTTP {status} {message}").trim_end().to_string(),
            );
        }
        Attempt::Done(body)
    }
}
