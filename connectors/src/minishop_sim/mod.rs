//! MiniShop: a simulator of a WeChat mini-program shop's (小程序商城) REST backend, for tests,
//! benchmarks and `zhongtai simulate minishop`.
//!
//! MiniShop is a *representative* API, not a copy of any vendor's: it has what such backends
//! commonly have, deliberately different from Jushuitan and TOP, so a declarative manifest
//! (`examples/connectors/minishop.toml`) can be proven against it:
//! - `GET /api/v2/orders?updated_from=&updated_to=&limit=&cursor=`: orders with
//!   `updated_from <= updated_at < updated_to` (RFC 3339), in `(updated_at, order_no)` order,
//!   paged by an opaque keyset `cursor`; the JSON envelope is
//!   `{code, message, data: {orders: [...], next_cursor, has_more}}`;
//! - amounts are yuan strings (`"19.90"`), times RFC 3339 with `+08:00`; orders carry nested
//!   `items` and a `payment` object (null when unpaid);
//! - every request is signed: headers `X-App-Key`, `X-Timestamp` (Unix seconds) and
//!   `X-Signature` = lower-hex HMAC-SHA256 under the app secret of
//!   `GET\n<path>\n<sorted query>\n<timestamp>`, where the sorted query is the parameters
//!   sorted by name and form-urlencoded (`k=v&…`).
//!
//! It is strict: an unknown key (HTTP 401, code 40100), a bad signature (401, 40101), a
//! timestamp off by more than the skew (401, 40102), a window wider than the maximum (400,
//! 40001), a `limit` over the maximum (400, 40002), a bad cursor or time (400, 40003), and more
//! requests than the rate limit (429, code 42900, with `Retry-After`). Faults on demand
//! ([`Fault`]): 503, garbage bodies, slow answers, throttling, and a change to an order while
//! a sync is paging. [`MsStats`] counts everything.
//!
//! Defaults: app key [`DEFAULT_APP_KEY`], secret [`DEFAULT_APP_SECRET`].

mod handlers;
mod limits;
mod world;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use world::{MiniShopWorld, MsItem, MsOrder, MsStatus, generate};

/// The simulator's default app key (sent as `X-App-Key`).
pub const DEFAULT_APP_KEY: &str = "minishop-demo-key";
/// The simulator's default app secret (the HMAC key; `ZHONGTAI_SECRET_MINISHOP` in the example).
pub const DEFAULT_APP_SECRET: &str = "minishop-demo-secret";

/// Backend rules. [`MsConfig::default`] is the documented behaviour.
#[derive(Debug, Clone)]
pub struct MsConfig {
    pub app_key: String,
    pub app_secret: String,
    /// Allowed clock skew of `X-Timestamp`.
    pub max_skew: Duration,
    /// Widest `updated_from..updated_to`.
    pub max_window: Duration,
    pub max_limit: usize,
    /// Requests per second per key before HTTP 429 (`None`: unlimited).
    pub per_second: Option<usize>,
    /// Requests per minute per key before HTTP 429 (`None`: unlimited).
    pub per_minute: Option<usize>,
}

impl Default for MsConfig {
    fn default() -> Self {
        Self {
            app_key: DEFAULT_APP_KEY.into(),
            app_secret: DEFAULT_APP_SECRET.into(),
            max_skew: Duration::from_secs(300),
            max_window: Duration::from_secs(24 * 3600),
            max_limit: 100,
            per_second: Some(10),
            per_minute: Some(300),
        }
    }
}

impl MsConfig {
    /// The same rules with the rate limits off (benchmarks).
    pub fn unlimited(mut self) -> Self {
        self.per_second = None;
        self.per_minute = None;
        self
    }
}

/// A fault to inject into the next order request(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 503 with an HTML body.
    ServerError,
    /// HTTP 200 with a body that is not JSON.
    Garbage,
    /// Answer after this delay (a client timeout should fire first).
    Slow(Duration),
    /// HTTP 429 with `Retry-After: 1`, as if over the limit.
    Throttle,
    /// Before answering, order `id` changes: a line is dropped (if it has two or more), and it
    /// is updated at `updated` (Unix seconds), as a seller editing it mid-sync.
    Modify { id: u64, updated: i64 },
}

/// Request counters.
#[derive(Debug, Default)]
pub struct MsStats {
    pub requests: AtomicU64,
    pub ok: AtomicU64,
    pub rows_served: AtomicU64,
    pub bad_key: AtomicU64,
    pub bad_sign: AtomicU64,
    pub bad_timestamp: AtomicU64,
    pub bad_request: AtomicU64,
    pub rate_limited: AtomicU64,
    pub faults: AtomicU64,
}

impl MsStats {
    /// A counter's value.
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// Shared state of a running simulator.
#[derive(Debug)]
pub struct MsState {
    pub config: MsConfig,
    pub world: MiniShopWorld,
    pub stats: MsStats,
    pub(crate) faults: Mutex<VecDeque<Fault>>,
    pub(crate) limiter: Mutex<limits::Limiter>,
}

impl MsState {
    /// A simulator state serving `world` under `config`.
    pub fn new(config: MsConfig, world: MiniShopWorld) -> Arc<Self> {
        Arc::new(Self {
            limiter: Mutex::new(limits::Limiter::new(config.per_second, config.per_minute)),
            faults: Mutex::new(VecDeque::new()),
            stats: MsStats::default(),
            world,
            config,
        })
    }

    /// Queues faults for the next order requests, in order.
    pub fn inject(&self, faults: impl IntoIterator<Item = Fault>) {
        self.faults
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(faults);
    }
}

/// A MiniShop backend listening on loopback; it stops when dropped.
#[derive(Debug)]
pub struct RunningMiniShop {
    pub addr: SocketAddr,
    pub state: Arc<MsState>,
    server: crate::loopback::Loopback,
}

impl RunningMiniShop {
    /// Binds `127.0.0.1:port` (0 for any free port) and serves `state` in the background.
    pub async fn start(state: Arc<MsState>, port: u16) -> std::io::Result<Self> {
        let server =
            crate::loopback::Loopback::serve(handlers::router(Arc::clone(&state)), port).await?;
        Ok(Self {
            addr: server.addr,
            state,
            server,
        })
    }

    /// The backend's base URL (`requester.base_url` of a manifest).
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }
}

#[cfg(test)]
mod tests;
