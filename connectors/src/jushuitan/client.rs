//! The Jushuitan HTTP client: signed calls, paced under the platform's limits, with the
//! documented recovery for each failure.
//!
//! - Pacing: at most `per_second` calls in any second and `per_minute` in any minute (5 and
//!   100 on the real platform), with a small margin so the gateway never counts more.
//! - Code 100: refresh the access token and retry. A refresh is single-flight (fetchers
//!   sharing the client wait for the one running, then use its token), retried on transient
//!   failures, and made again if the new token expires inside the same call (twice at most).
//! - Codes 199/200, 140, HTTP 5xx/408/429, unreadable bodies, timeouts and connection errors:
//!   retry with exponential back-off and jitter, up to `max_retries`.
//! - Anything else (bad signature, missing permission, HTTP 4xx such as a 404 from a wrong
//!   base URL): fail at once, with the platform's message.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::envelope::{JstError, Page, parse_data, parse_page};
use super::request::{Credentials, biz_body, token_body};
use crate::pace::{Budget, Limits, LocalBudget};
use crate::stream::{NoTokenSink, TokenSink};
use crate::tolerant;
use crate::transport::{PostError, refused};

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
    /// The gateway refused the request itself (404: a wrong base URL or path; 401/403…);
    /// not retried.
    #[error("Jushuitan {path}: HTTP {status} (not retried: asking again cannot help)")]
    Http { path: String, status: u16 },
}

/// A Jushuitan client for one merchant.
#[derive(Debug)]
pub struct JstClient {
    http: reqwest::Client,
    config: ClientConfig,
    creds: Mutex<Credentials>,
    refresh_token: Mutex<Option<String>>,
    /// Held while a token refresh runs (single-flight).
    refreshing: Mutex<()>,
    budget: Arc<dyn Budget>,
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
        let budget = Arc::new(LocalBudget::new(Limits::new(
            config.per_second,
            config.per_minute,
        )));
        Self {
            http: reqwest::Client::new(),
            config,
            creds: Mutex::new(creds),
            refresh_token: Mutex::new(refresh_token),
            refreshing: Mutex::new(()),
            budget,
            tokens: Arc::new(NoTokenSink),
            stats: ClientStats::default(),
        }
    }

    /// Stores rotated tokens in `sink` as soon as a refresh returns them, and takes the call
    /// budget of the app from it (shared by every client of the app, see [`crate::pace`]).
    #[must_use]
    pub fn with_token_sink(mut self, sink: Arc<dyn TokenSink>) -> Self {
        let limits = Limits::new(self.config.per_second, self.config.per_minute);
        let app = format!("jushuitan-{}", self.creds.get_mut().app_key);
        self.budget = sink.budget(&app, limits);
        self.tokens = sink;
        self
    }

    /// The current access token (it changes when refreshed; store it).
    pub async fn access_token(&self) -> String {
        self.creds.lock().await.access_token.clone()
    }

    async fn pace(&self) {
        let wait = crate::pace::take(&*self.budget).await;
        if !wait.is_zero() {
            self.stats.paced.fetch_add(1, Ordering::Relaxed);
            self.stats
                .paced_ms
                .fetch_add(wait.as_millis() as u64, Ordering::Relaxed);
        }
    }

    async fn post(&self, path: &str, body: String) -> Result<Vec<u8>, PostError> {
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
            .map_err(|e| PostError::Transient(format!("request failed: {}", e.without_url())))?;
        let status = res.status();
        let bytes = res.bytes().await.map_err(|e| {
            PostError::Transient(format!("reading the response: {}", e.without_url()))
        })?;
        if !status.is_success() {
            return Err(refused(status));
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
        let mut refreshes = 0u32;
        let mut rate_limited = false;
        loop {
            attempts += 1;
            let (body, used) = {
                let c = self.creds.lock().await;
                (biz_body(&c, biz, now_secs()), c.access_token.clone())
            };
            let outcome = match self.post(path, body).await {
                Ok(bytes) => parse_page(&bytes, list_key).map_err(Outcome::Platform),
                Err(PostError::Transient(transport)) => Err(Outcome::Transport(transport)),
                Err(PostError::Permanent(status)) => {
                    return Err(ClientError::Http {
                        path: path.into(),
                        status,
                    });
                }
            };
            let last = match outcome {
                Ok(page) => return Ok(page),
                // A token can expire again inside one long call: each expiry of the token
                // this call used is refreshed (twice at most, then the error stands).
                Err(Outcome::Platform(JstError::TokenExpired(_))) if refreshes < MAX_REFRESHES => {
                    refreshes += 1;
                    self.refresh_from(&used).await?;
                    continue;
                }
                Err(Outcome::Platform(e))
                    if !e.is_retryable() && !matches!(e, JstError::Malformed(_)) =>
                {
                    return Err(e.into());
                }
                Err(Outcome::Platform(e @ JstError::RateLimited { code, .. })) => {
                    // Every client of the app waits out the platform's window: 5 a second
                    // (199) or 100 a minute (200).
                    let window = if code == 200 { 60_500 } else { 1_050 };
                    self.budget.hold(Duration::from_millis(window));
                    rate_limited = true;
                    e.to_string()
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
            if !std::mem::take(&mut rate_limited) {
                tokio::time::sleep(self.backoff(attempts)).await;
            }
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
        let current = self.creds.lock().await.access_token.clone();
        self.refresh_from(&current).await
    }

    /// Replaces the access token `stale` — single-flight: every fetcher of the connector
    /// shares this client, the first to find `stale` expired refreshes while the others wait,
    /// then see a new token and simply retry (a refresh token is used once: the platform
    /// rotates it). Transient failures of the refresh call are retried with back-off; the
    /// rotated pair is handed to the token store before it is used.
    pub async fn refresh_from(&self, stale: &str) -> Result<(), ClientError> {
        let _one = self.refreshing.lock().await;
        if self.creds.lock().await.access_token != stale {
            return Ok(());
        }
        // Another process of this connector may be refreshing, or may have done so already:
        // its rotated pair is in the store, and the refresh token this process holds is spent.
        let _across = self.lock_refresh_across_processes().await;
        if let Some(stored) = self.tokens.load("access_token")
            && stored != stale
        {
            if let Some(rt) = self.tokens.load("refresh_token") {
                *self.refresh_token.lock().await = Some(rt);
            }
            self.creds.lock().await.access_token = stored;
            return Ok(());
        }
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let last = match self.refresh_once().await {
                Ok(()) => return Ok(()),
                Err(RefreshFailure::Final(e)) => return Err(e),
                Err(RefreshFailure::Transient(last)) => last,
            };
            if attempts > self.config.max_retries {
                return Err(ClientError::GaveUp {
                    path: "/openWeb/auth/refreshToken".into(),
                    attempts,
                    last,
                });
            }
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(self.backoff(attempts)).await;
        }
    }

    /// The token store's refresh lock, waited for (a refresh takes seconds); after two
    /// minutes the holder is presumed stuck and this process goes ahead, as before the lock.
    async fn lock_refresh_across_processes(&self) -> Box<dyn Send> {
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(guard) = self.tokens.try_lock_refresh() {
                return guard;
            }
            if std::time::Instant::now() > deadline {
                tracing::warn!(
                    "another process held the token refresh lock for 2 min; refreshing anyway"
                );
                return Box::new(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn refresh_once(&self) -> Result<(), RefreshFailure> {
        let rt = self
            .refresh_token
            .lock()
            .await
            .clone()
            .ok_or(RefreshFailure::Final(ClientError::NoRefreshToken))?;
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
        let path = "/openWeb/auth/refreshToken";
        let bytes = self.post(path, body).await.map_err(|e| match e {
            PostError::Transient(t) => RefreshFailure::Transient(t),
            PostError::Permanent(status) => RefreshFailure::Final(ClientError::Http {
                path: path.into(),
                status,
            }),
        })?;
        let data: Value = match parse_data(&bytes) {
            Ok(d) => d,
            Err(e @ (JstError::Malformed(_) | JstError::RateLimited { .. })) => {
                return Err(RefreshFailure::Transient(e.to_string()));
            }
            Err(e) => return Err(RefreshFailure::Final(e.into())),
        };
        let access = tolerant::text(data.get("access_token")).ok_or_else(|| {
            RefreshFailure::Transient("the refresh answer has no access_token".into())
        })?;
        // The rotated pair reaches the token store before either is used: the old refresh
        // token is spent now, so a crash after this point must find the new one stored.
        let new_rt = tolerant::text(data.get("refresh_token"));
        if let Some(rt) = &new_rt {
            self.tokens.save("refresh_token", rt);
        }
        self.tokens.save("access_token", &access);
        if let Some(rt) = new_rt {
            *self.refresh_token.lock().await = Some(rt);
        }
        self.creds.lock().await.access_token = access;
        self.stats.refreshes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

enum Outcome {
    Platform(JstError),
    Transport(String),
}

/// Refreshes of an expired token one call may make.
const MAX_REFRESHES: u32 = 2;

enum RefreshFailure {
    /// Worth another try (network, 5xx, an unreadable or throttled answer).
    Transient(String),
    Final(ClientError),
}
