//! The Jushuitan HTTP client: signed calls, paced under the platform's limits, with the
//! documented recovery for each failure.
//!
//! - Pacing: at most `per_second` calls in any second and `per_minute` in any minute (5 and
//!   100 on the real platform), with a small margin so the gateway never counts more.
//! - Code 100: refresh the access token once (the new token is kept) and retry.
//! - Codes 199/200, 140, HTTP 5xx, unreadable bodies, timeouts and connection errors: retry
//!   with exponential back-off and jitter, up to `max_retries`.
//! - Anything else (bad signature, missing permission, bad request): fail at once, with the
//!   platform's message.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::envelope::{JstError, Page, parse_data, parse_page};
use super::request::{Credentials, biz_body, token_body};
use crate::pace::Pacer;
use crate::stream::{NoTokenSink, TokenSink};
use crate::tolerant;

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub base_url: String,
    pub timeout: Duration,
    pub max_retries: u32,
    pub per_second: Option<usize>,
    pub per_minute: Option<usize>,
    /// First back-off delay; doubles with each retry.
    pub backoff: Duration,
}

impl ClientConfig {
    /// The real platform's limits against `base_url`.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            timeout: Duration::from_secs(30),
            max_retries: 6,
            per_second: Some(5),
            per_minute: Some(100),
            backoff: Duration::from_secs(1),
        }
    }
}

/// What a client did, for sync summaries.
#[derive(Debug, Default)]
pub struct ClientStats {
    pub calls: AtomicU64,
    pub retries: AtomicU64,
    pub refreshes: AtomicU64,
    /// Times the pacer held a call back to stay under the limits, and for how long in total.
    pub paced: AtomicU64,
    pub paced_ms: AtomicU64,
}

/// Why a call failed for good.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    #[error(transparent)]
    Platform(#[from] JstError),
    #[error("Jushuitan {path}: gave up after {attempts} attempts; last error: {last}")]
    GaveUp {
        path: String,
        attempts: u32,
        last: String,
    },
    #[error(
        "Jushuitan: the access token expired and there is no refresh token; authorise the app again"
    )]
    NoRefreshToken,
}

/// A Jushuitan client for one merchant.
#[derive(Debug)]
pub struct JstClient {
    http: reqwest::Client,
    config: ClientConfig,
    creds: Mutex<Credentials>,
    refresh_token: Mutex<Option<String>>,
    pacer: Mutex<Pacer>,
    tokens: Arc<dyn TokenSink>,
    pub stats: ClientStats,
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

const FORM: &str = "application/x-www-form-urlencoded;charset=UTF-8";

impl JstClient {
    pub fn new(config: ClientConfig, creds: Credentials, refresh_token: Option<String>) -> Self {
        let pacer = Pacer::new(config.per_second, config.per_minute);
        Self {
            http: reqwest::Client::new(),
            config,
            creds: Mutex::new(creds),
            refresh_token: Mutex::new(refresh_token),
            pacer: Mutex::new(pacer),
            tokens: Arc::new(NoTokenSink),
            stats: ClientStats::default(),
        }
    }

    /// Stores rotated tokens in `sink` as soon as a refresh returns them.
    #[must_use]
    pub fn with_token_sink(mut self, sink: Arc<dyn TokenSink>) -> Self {
        self.tokens = sink;
        self
    }

    /// The current access token (it changes when refreshed; store it).
    pub async fn access_token(&self) -> String {
        self.creds.lock().await.access_token.clone()
    }

    async fn pace(&self) {
        let mut p = self.pacer.lock().await;
        loop {
            let wait = p.delay(Instant::now());
            if wait.is_zero() {
                p.sent(Instant::now());
                return;
            }
            self.stats.paced.fetch_add(1, Ordering::Relaxed);
            self.stats
                .paced_ms
                .fetch_add(wait.as_millis() as u64, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
        }
    }

    async fn post(&self, path: &str, body: String) -> Result<Vec<u8>, String> {
        self.pace().await;
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        let url = format!("{}{path}", self.config.base_url.trim_end_matches('/'));
        let res = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, FORM)
            .timeout(self.config.timeout)
            .body(body)
            .send()
            .await
            .map_err(|e| format!("request failed: {}", e.without_url()))?;
        let status = res.status();
        let bytes = res
            .bytes()
            .await
            .map_err(|e| format!("reading the response: {}", e.without_url()))?;
        if !status.is_success() {
            return Err(format!("HTTP {status}"));
        }
        Ok(bytes.to_vec())
    }

    /// One page of orders modified in `[begin, end]` (`yyyy-MM-dd HH:mm:ss`, Asia/Shanghai).
    pub async fn orders_page(
        &self,
        begin: &str,
        end: &str,
        page_index: i64,
        page_size: i64,
    ) -> Result<Page, ClientError> {
        let biz = json!({"modified_begin": begin, "modified_end": end, "page_index": page_index, "page_size": page_size});
        self.call("/open/orders/single/query", &biz.to_string(), "orders")
            .await
    }

    /// A business call with recovery; `biz` is the JSON text to send.
    pub async fn call(&self, path: &str, biz: &str, list_key: &str) -> Result<Page, ClientError> {
        let mut attempts = 0u32;
        let mut refreshed = false;
        loop {
            attempts += 1;
            let body = biz_body(&*self.creds.lock().await, biz, now_secs());
            let outcome = match self.post(path, body).await {
                Ok(bytes) => parse_page(&bytes, list_key).map_err(Outcome::Platform),
                Err(transport) => Err(Outcome::Transport(transport)),
            };
            let last = match outcome {
                Ok(page) => return Ok(page),
                Err(Outcome::Platform(JstError::TokenExpired(_))) if !refreshed => {
                    refreshed = true;
                    self.refresh().await?;
                    continue;
                }
                Err(Outcome::Platform(e))
                    if !e.is_retryable() && !matches!(e, JstError::Malformed(_)) =>
                {
                    return Err(e.into());
                }
                Err(Outcome::Platform(e)) => e.to_string(),
                Err(Outcome::Transport(t)) => t,
            };
            if attempts > self.config.max_retries {
                return Err(ClientError::GaveUp {
                    path: path.into(),
                    attempts,
                    last,
                });
            }
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(self.backoff(attempts)).await;
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .config
            .backoff
            .saturating_mul(1 << attempt.min(6).saturating_sub(1));
        // Deterministic-enough jitter without an RNG: up to a quarter of the delay.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        base + base.mul_f64(f64::from(nanos % 1000) / 4000.0)
    }

    /// Exchanges the refresh token for a new access token (and refresh token).
    pub async fn refresh(&self) -> Result<(), ClientError> {
        let rt = self
            .refresh_token
            .lock()
            .await
            .clone()
            .ok_or(ClientError::NoRefreshToken)?;
        let (key, secret) = {
            let c = self.creds.lock().await;
            (c.app_key.clone(), c.app_secret.clone())
        };
        let extra = [
            ("grant_type", "refresh_token"),
            ("refresh_token", rt.as_str()),
            ("scope", "all"),
        ];
        let body = token_body(&key, &secret, &extra, now_secs());
        let bytes = self
            .post("/openWeb/auth/refreshToken", body)
            .await
            .map_err(|last| ClientError::GaveUp {
                path: "/openWeb/auth/refreshToken".into(),
                attempts: 1,
                last,
            })?;
        let data: Value = parse_data(&bytes)?;
        let access = tolerant::text(data.get("access_token"))
            .ok_or_else(|| JstError::Malformed("no access_token".into()))?;
        self.tokens.save("access_token", &access);
        self.creds.lock().await.access_token = access;
        if let Some(new_rt) = tolerant::text(data.get("refresh_token")) {
            self.tokens.save("refresh_token", &new_rt);
            *self.refresh_token.lock().await = Some(new_rt);
        }
        self.stats.refreshes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

enum Outcome {
    Platform(JstError),
    Transport(String),
}
