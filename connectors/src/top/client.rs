//! The TOP HTTP client: signed calls, paced under a budget, with the documented recovery for
//! each failure (spec sheet §2.7).
//!
//! - Pacing: at most `per_second` / `per_minute` calls ([`crate::pace`]); `None` turns a
//!   limit off.
//! - Code 7 and the other call limits: wait the ban the platform states in `sub_msg` plus one
//!   second (capped by `max_ban_wait`), or back off when it states none. Every caller of the
//!   client waits out the ban, not only the one that met it.
//! - `isp.*`, code 10, HTTP errors, unreadable bodies, timeouts and connection errors: retry
//!   with exponential back-off and jitter, up to `max_retries`.
//! - Bad signature or app key, invalid session, `isv.*` and argument errors: fail at once with
//!   the platform's message (retrying cannot help).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use std::sync::Arc;

use super::envelope::{TopError, parse_response};
use super::request::{Credentials, form_body, timestamp_text};
use crate::pace::{Budget, Limits, LocalBudget};
use crate::sign::TopSignMethod;
use crate::stream::StreamStats;
use crate::transport::{PostError, refused};

/// Client settings.
#[derive(Debug, Clone)]
pub struct TopClientConfig {
    /// The full gateway URL, e.g. `https://eco.taobao.com/router/rest`.
    pub gateway_url: String,
    pub sign_method: TopSignMethod,
    pub timeout: Duration,
    pub max_retries: u32,
    pub per_second: Option<u32>,
    pub per_minute: Option<u32>,
    /// First back-off delay; doubles with each retry.
    pub backoff: Duration,
    /// The longest a throttled call waits for a ban to end before trying again.
    pub max_ban_wait: Duration,
}

impl TopClientConfig {
    /// Defaults against `gateway_url`: hmac-sha256, 10 calls/s and 400/min (the platform's
    /// quotas are per app and UNCONFIRMED; set them from the app's console).
    pub fn new(gateway_url: impl Into<String>) -> Self {
        Self {
            gateway_url: gateway_url.into(),
            sign_method: TopSignMethod::HmacSha256,
            timeout: Duration::from_secs(30),
            max_retries: 6,
            per_second: Some(10),
            per_minute: Some(400),
            backoff: Duration::from_secs(1),
            max_ban_wait: Duration::from_secs(120),
        }
    }
}

/// What a client did.
#[derive(Debug, Default)]
pub struct ClientStats {
    pub calls: AtomicU64,
    pub retries: AtomicU64,
    /// Times the pacer held a call back, and for how long in total.
    pub paced: AtomicU64,
    pub paced_ms: AtomicU64,
    /// Call-limit answers from the platform, and the time spent waiting out bans.
    pub throttled: AtomicU64,
    pub banned_ms: AtomicU64,
}

/// Why a call failed for good.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    #[error("{method}: {error}")]
    Top { method: String, error: TopError },
    #[error("{method}: gave up after {attempts} attempts; last error: {last}")]
    GaveUp {
        method: String,
        attempts: u32,
        last: String,
    },
    /// The gateway refused the request itself (404: a wrong gateway URL); not retried.
    #[error("{method}: HTTP {status} (not retried: asking again cannot help)")]
    Http { method: String, status: u16 },
}

/// A TOP client for one seller (one `session`).
#[derive(Debug)]
pub struct TopClient {
    http: reqwest::Client,
    config: TopClientConfig,
    creds: Credentials,
    /// The app's call budget (TOP counts calls per app: shared by every shop's connector).
    budget: Arc<dyn Budget>,
    pub stats: ClientStats,
}

const FORM: &str = "application/x-www-form-urlencoded;charset=utf-8";

enum Failure {
    Top(TopError),
    Transport(String),
}

impl TopClient {
    pub fn new(config: TopClientConfig, creds: Credentials) -> Self {
        Self {
            http: reqwest::Client::new(),
            budget: Arc::new(LocalBudget::new(Self::limits(&config))),
            config,
            creds,
            stats: ClientStats::default(),
        }
    }

    /// The client's counters in the sync engine's terms.
    pub fn stream_stats(&self) -> StreamStats {
        let s = &self.stats;
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StreamStats {
            requests: get(&s.calls),
            retries: get(&s.retries),
            throttle_wait: Duration::from_millis(get(&s.paced_ms) + get(&s.banned_ms)),
            throttled: get(&s.paced) + get(&s.throttled),
            token_refreshes: 0,
        }
    }

    fn limits(config: &TopClientConfig) -> Limits {
        Limits::new(
            config.per_second.map(|n| n as usize),
            config.per_minute.map(|n| n as usize),
        )
    }

    /// Takes call slots from `budget` (see [`crate::pace`]) instead of the client's own.
    #[must_use]
    pub fn with_budget(mut self, budget: Arc<dyn Budget>) -> Self {
        self.budget = budget;
        self
    }

    /// The limits this client's budget was made for.
    pub fn budget_limits(&self) -> Limits {
        Self::limits(&self.config)
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

    async fn post(&self, body: String) -> Result<Vec<u8>, PostError> {
        self.pace().await;
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        let res = self
            .http
            .post(&self.config.gateway_url)
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

    /// Calls `method` with its API parameters and returns the response object (the inside of
    /// `<method>_response`), recovering as the module doc says.
    pub async fn call(&self, method: &str, params: &[(&str, &str)]) -> Result<Value, ClientError> {
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let stamp = timestamp_text(chrono::Utc::now());
            let body = form_body(&self.creds, self.config.sign_method, method, &stamp, params);
            let outcome = match self.post(body).await {
                Ok(bytes) => parse_response(&bytes, method).map_err(Failure::Top),
                Err(PostError::Transient(t)) => Err(Failure::Transport(t)),
                Err(PostError::Permanent(status)) => {
                    return Err(ClientError::Http {
                        method: method.to_string(),
                        status,
                    });
                }
            };
            let (last, wait) = match outcome {
                Ok(v) => return Ok(v),
                Err(Failure::Top(error)) if !error.is_retryable() => {
                    return Err(ClientError::Top {
                        method: method.to_string(),
                        error,
                    });
                }
                Err(Failure::Top(e @ TopError::Throttled(_, ban))) => {
                    self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                    let wait = ban
                        .map_or_else(|| self.backoff(attempts), |b| b + Duration::from_secs(1))
                        .min(self.config.max_ban_wait);
                    // The ban is the app's: every client of the app waits it out.
                    self.budget.hold(wait);
                    self.stats
                        .banned_ms
                        .fetch_add(wait.as_millis() as u64, Ordering::Relaxed);
                    (e.to_string(), Duration::ZERO)
                }
                Err(Failure::Top(e)) => (e.to_string(), self.backoff(attempts)),
                Err(Failure::Transport(t)) => (t, self.backoff(attempts)),
            };
            if attempts > self.config.max_retries {
                return Err(ClientError::GaveUp {
                    method: method.to_string(),
                    attempts,
                    last,
                });
            }
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .config
            .backoff
            .saturating_mul(1 << attempt.min(6).saturating_sub(1));
        // Jitter without an RNG: up to a quarter of the delay, from the clock's nanoseconds.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        base + base.mul_f64(f64::from(nanos % 1000) / 4000.0)
    }
}
