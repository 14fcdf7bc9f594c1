//! A faithful Jushuitan gateway on loopback, for tests, benchmarks and `zhongtai simulate`.
//!
//! It serves a [`SimWorld`] (orders, refunds, refund payments, outbound, shipping info,
//! inventory per warehouse, purchases, SKUs, shops, warehouses) through the real protocol and
//! is strict enough that a client bug fails a test (spec sheet §1.11):
//! - only form-encoded POSTs on known paths;
//! - `sign` verified (code 10), `timestamp` within the allowed skew (code 140), `version=2`
//!   and `charset=utf-8` required, the access token known and unexpired (code 100);
//! - a per-token (or per-app, [`SimConfig::limit_by_app`]) limiter shared by every endpoint: 5 requests per second (code 199) and 100
//!   per minute (code 200);
//! - `biz` validated per endpoint (`endpoints.rs`): both window ends present, the endpoint's
//!   longest span (7 days; 6 months for refund payments), its `page_size` maximum, id-list
//!   sizes (code `biz_error_code`, -1 by default);
//! - deterministic paging by `modified` window, by `start_ts`, or whole (master data);
//! - faults on demand ([`Fault`]): HTTP 5xx, garbage bodies, slow answers, throttling bursts,
//!   token expiry; late modifications of old orders through [`SimWorld::modify`].
//!
//! Counters in [`SimStats`] let tests assert, for example, that a client never hit a limit.

mod endpoints;
pub mod generate;
mod handlers;
mod limits;
mod world;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use world::{
    LOGISTICS, ORDERS, OUTBOUND, PURCHASES, REFUND_PAYS, REFUNDS, SHOPS, SKUS, SimDoc, SimWorld,
    WAREHOUSES, inventory, key_field,
};

/// Gateway rules. [`SimConfig::default`] is the real platform's.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub app_key: String,
    pub app_secret: String,
    /// Allowed clock skew of `timestamp`.
    pub max_skew: Duration,
    /// Orders' `page_size` maximum (100 per the SDK doc; 50 in client practice: UNCONFIRMED).
    pub max_page_size: i64,
    /// Refund payments' `page_size` maximum ("max 1000": UNCONFIRMED).
    pub refund_pay_max_page_size: i64,
    /// The shops list key: `datas` (Java SDK) or `shops` (one client): UNCONFIRMED.
    pub shops_list_key: String,
    /// Whether inventory pages report `data_count`/`page_count` (UNCONFIRMED).
    pub inventory_totals: bool,
    /// The code of a refused `biz` (UNCONFIRMED; -1 by default).
    pub biz_error_code: i64,
    pub max_window: Duration,
    /// Requests per second per token before code 199 (`None`: unlimited).
    pub per_second: Option<usize>,
    /// Requests per minute per token before code 200 (`None`: unlimited).
    pub per_minute: Option<usize>,
    /// Lifetime of an access token.
    pub token_ttl: Duration,
    /// Whether the limits count per app rather than per token (the sheet leaves it open:
    /// UNCONFIRMED; per app is the stricter reading).
    pub limit_by_app: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            app_key: "sim-app-key".into(),
            app_secret: "sim-app-secret".into(),
            max_skew: Duration::from_secs(600),
            max_page_size: 100,
            refund_pay_max_page_size: 1000,
            shops_list_key: "datas".into(),
            inventory_totals: false,
            biz_error_code: -1,
            max_window: Duration::from_secs(7 * 24 * 3600),
            per_second: Some(5),
            per_minute: Some(100),
            token_ttl: Duration::from_secs(30 * 24 * 3600),
            limit_by_app: false,
        }
    }
}

impl SimConfig {
    /// The same rules with the rate limits off (benchmarks).
    pub fn unlimited(mut self) -> Self {
        self.per_second = None;
        self.per_minute = None;
        self
    }
}

/// A fault to inject into the next business call(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 502 with an HTML body.
    ServerError,
    /// HTTP 200 with a body that is not JSON.
    Garbage,
    /// Answer after this delay (a client timeout should fire first).
    Slow(Duration),
    /// Answer code 199 as if over the limit.
    Throttle,
    /// Expire every access token, then answer code 100.
    ExpireTokens,
}

/// Request counters.
#[derive(Debug, Default)]
pub struct SimStats {
    pub requests: AtomicU64,
    pub ok: AtomicU64,
    pub rows_served: AtomicU64,
    pub bad_sign: AtomicU64,
    pub bad_timestamp: AtomicU64,
    pub bad_token: AtomicU64,
    pub rate_limited: AtomicU64,
    pub bad_request: AtomicU64,
    pub faults: AtomicU64,
    pub token_refreshes: AtomicU64,
    /// `start_ts` pages asked without `is_get_total=false` (the platform asks for it).
    pub ts_with_totals: AtomicU64,
    /// Documents modified by [`SimState::churn_after`].
    pub churned: AtomicU64,
}

impl SimStats {
    /// A counter's value.
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub refresh: String,
    pub expires: std::time::Instant,
}

/// Shared state of a running simulator.
#[derive(Debug)]
pub struct SimState {
    pub config: SimConfig,
    pub world: SimWorld,
    pub stats: SimStats,
    pub(crate) tokens: Mutex<HashMap<String, Token>>,
    pub(crate) faults: Mutex<VecDeque<Fault>>,
    /// Faults for the next token refreshes (`ServerError`, `Garbage`, `Slow`).
    pub(crate) refresh_faults: Mutex<VecDeque<Fault>>,
    pub(crate) limiter: Mutex<limits::Limiter>,
    pub(crate) issued: AtomicU64,
    /// Pending [`SimState::churn_after`]s: path, calls still to answer first, rows.
    pub(crate) churns: Mutex<Vec<(String, u64, usize)>>,
}

impl SimState {
    /// A simulator state with one pre-authorised token (as after `getInitToken`).
    pub fn new(
        config: SimConfig,
        world: SimWorld,
        access_token: &str,
        refresh_token: &str,
    ) -> Arc<Self> {
        let limiter = limits::Limiter::new(config.per_second, config.per_minute);
        let state = Arc::new(Self {
            world,
            stats: SimStats::default(),
            tokens: Mutex::new(HashMap::new()),
            faults: Mutex::new(VecDeque::new()),
            refresh_faults: Mutex::new(VecDeque::new()),
            limiter: Mutex::new(limiter),
            issued: AtomicU64::new(0),
            churns: Mutex::new(Vec::new()),
            config,
        });
        state.grant(access_token, refresh_token);
        state
    }

    pub(crate) fn grant(&self, access: &str, refresh: &str) {
        let expires = std::time::Instant::now() + self.config.token_ttl;
        self.lock_tokens().insert(
            access.to_string(),
            Token {
                refresh: refresh.to_string(),
                expires,
            },
        );
    }

    pub(crate) fn lock_tokens(&self) -> std::sync::MutexGuard<'_, HashMap<String, Token>> {
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues faults for the next calls of `/openWeb/auth/refreshToken`, in order.
    pub fn inject_refresh(&self, faults: impl IntoIterator<Item = Fault>) {
        self.refresh_faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(faults);
    }

    /// After answering the `calls`-th next successful call on `path` (counted from the
    /// previous churn of that path), modifies the first `rows` documents that call served:
    /// the data moving under a client that pages.
    pub fn churn_after(&self, path: &str, calls: u64, rows: usize) {
        self.lock_churns()
            .push((path.to_string(), calls.max(1), rows));
    }

    fn lock_churns(&self) -> std::sync::MutexGuard<'_, Vec<(String, u64, usize)>> {
        self.churns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The rows to churn after this answer on `path`, if one is due. Churns of one path form
    /// a queue: each counts its calls from the one before it.
    pub(crate) fn take_churn(&self, path: &str) -> Option<usize> {
        let mut churns = self.lock_churns();
        let i = churns.iter().position(|(p, _, _)| p == path)?;
        churns[i].1 -= 1;
        (churns[i].1 == 0).then(|| churns.remove(i).2)
    }

    /// Queues faults for the next business calls, in order.
    pub fn inject(&self, faults: impl IntoIterator<Item = Fault>) {
        self.faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(faults);
    }
}

/// A simulator listening on loopback; it stops when dropped.
#[derive(Debug)]
pub struct RunningSim {
    pub addr: SocketAddr,
    pub state: Arc<SimState>,
    server: crate::loopback::Loopback,
}

impl RunningSim {
    /// Binds `127.0.0.1:port` (0 for any free port) and serves `state` in the background.
    pub async fn start(state: Arc<SimState>, port: u16) -> std::io::Result<Self> {
        let server =
            crate::loopback::Loopback::serve(handlers::router(Arc::clone(&state)), port).await?;
        Ok(Self {
            addr: server.addr,
            state,
            server,
        })
    }

    /// The gateway's base URL.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }
}

#[cfg(test)]
mod bench;
#[cfg(test)]
mod budget_tests;
#[cfg(test)]
mod paging_tests;
#[cfg(test)]
mod tests;
