//! A faithful TOP gateway on loopback, for tests, benchmarks and `zhongtai simulate taobao`.
//!
//! It serves a [`TopWorld`] through the real protocol (spec sheet §2.11) and is strict enough
//! that a client bug fails a test:
//! - `POST /router/rest`, form-encoded, query and body merged; `format=json` required (23);
//! - `method` present (21) and known (22); `app_key` present (28) and known (29);
//!   `timestamp` present (30), GMT+8 `yyyy-MM-dd HH:mm:ss` or epoch ms, within 10 min (31);
//!   `v=2.0` (32/34); `sign_method` md5 | hmac | hmac-sha256 and `sign` verified (24/25);
//!   `session` present (26), known and unexpired (27, `invalid-sessionkey`);
//! - per-app flow control: over the budget, code 7 `accesscontrol.limited-by-app-access-count`
//!   with "This ban will last for N more seconds", and every call refused until the ban ends;
//! - API arguments: `fields` required and known, `start_modified`/`end_modified` required for
//!   the increment API with `end - start <= 1 day` (41 `isv.invalid-parameter`), `page_size`
//!   1–100 (41), trade `type` filtered with the platform's default when absent;
//! - deterministic pages ordered by `modified` descending, `total_results` or `has_next`
//!   (`use_has_next`), wrapped responses, or flat ones under `simplify=true`; `request_id`;
//! - faults on demand ([`TopFault`]); late changes through [`TopWorld::modify`].
//!
//! Counters in [`TopSimStats`] let tests assert, for example, that a client never hit a limit.

mod generate;
mod handlers;
mod limits;
mod render;
mod world;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

pub use generate::{TAOBAO_SELLER, TMALL_SELLER, generate};
pub use world::{
    Line, PLACES, Refund, RefundStatus, Seller, SellerType, TopWorld, Trade, TradeStatus, TradeType,
};

/// Gateway rules. [`TopSimConfig::default`] is the real platform's where the sheet states it;
/// UNCONFIRMED points (quotas, ban length, expired-session sub-code) are fields.
#[derive(Debug, Clone)]
pub struct TopSimConfig {
    pub app_key: String,
    pub app_secret: String,
    /// Allowed clock skew of `timestamp` (10 min).
    pub max_skew: Duration,
    /// Largest `page_size` (100).
    pub max_page_size: i64,
    /// Longest `end_modified - start_modified` of the increment API (1 day).
    pub max_window: Duration,
    /// Calls per second / per minute per app before code 7 (`None`: unlimited).
    pub per_second: Option<usize>,
    pub per_minute: Option<usize>,
    /// How long going over the budget bans the app.
    pub ban: Duration,
    /// Lifetime of a granted session.
    pub session_ttl: Duration,
    /// `sub_code` of code 27 for an expired session.
    pub expired_sub_code: String,
    /// Trade fields the increment API leaves out even when asked (then only
    /// `taobao.trade.fullinfo.get` gives them). Empty by default.
    pub increment_omits: Vec<String>,
    /// Send ids as strings (`"tid":"123"`), as some response samples show.
    pub ids_as_strings: bool,
}

impl Default for TopSimConfig {
    fn default() -> Self {
        Self {
            app_key: "sim-top-app-key".into(),
            app_secret: "sim-top-app-secret".into(),
            max_skew: Duration::from_secs(600),
            max_page_size: 100,
            max_window: Duration::from_secs(24 * 3600),
            per_second: Some(10),
            per_minute: Some(400),
            ban: Duration::from_secs(1),
            session_ttl: Duration::from_secs(365 * 24 * 3600),
            expired_sub_code: "invalid-sessionkey".into(),
            increment_omits: Vec::new(),
            ids_as_strings: false,
        }
    }
}

impl TopSimConfig {
    /// The same rules with flow control off (benchmarks).
    pub fn unlimited(mut self) -> Self {
        self.per_second = None;
        self.per_minute = None;
        self
    }
}

/// A fault for the next call(s), in queue order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopFault {
    /// HTTP 502 with an HTML body.
    ServerError,
    /// HTTP 200 with a body that is not JSON.
    Garbage,
    /// Answer after this delay.
    Slow(Duration),
    /// Code 15 with an `isp.*` sub-code (a platform-side failure).
    IspError,
    /// Ban the app for this long: this and every call until it ends get code 7.
    ThrottleBurst(Duration),
    /// Expire every session, then answer as the platform does (code 27).
    ExpireSessions,
}

/// Request counters.
#[derive(Debug, Default)]
pub struct TopSimStats {
    pub requests: AtomicU64,
    pub ok: AtomicU64,
    pub rows_served: AtomicU64,
    pub fullinfo_calls: AtomicU64,
    pub bad_sign: AtomicU64,
    pub bad_app_key: AtomicU64,
    pub bad_timestamp: AtomicU64,
    pub bad_session: AtomicU64,
    pub rate_limited: AtomicU64,
    pub bad_request: AtomicU64,
    pub faults: AtomicU64,
}

impl TopSimStats {
    /// A counter's value.
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub seller: u16,
    pub expires: Instant,
}

/// Shared state of a running simulator.
#[derive(Debug)]
pub struct TopSimState {
    pub config: TopSimConfig,
    pub world: TopWorld,
    pub stats: TopSimStats,
    pub(crate) sessions: Mutex<HashMap<String, Session>>,
    pub(crate) faults: Mutex<VecDeque<TopFault>>,
    pub(crate) limiter: Mutex<limits::Limiter>,
    pub(crate) request_ids: AtomicU64,
}

/// The session the simulator grants a seller at start: `sim-session-<index>`.
pub fn session_for(seller_index: usize) -> String {
    format!("sim-session-{seller_index}")
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl TopSimState {
    /// A simulator state where every seller of `world` has authorised the app with
    /// [`session_for`] its index.
    pub fn new(config: TopSimConfig, world: TopWorld) -> Arc<Self> {
        let limiter = limits::Limiter::new(config.per_second, config.per_minute, config.ban);
        let state = Arc::new(Self {
            world,
            stats: TopSimStats::default(),
            sessions: Mutex::new(HashMap::new()),
            faults: Mutex::new(VecDeque::new()),
            limiter: Mutex::new(limiter),
            request_ids: AtomicU64::new(0),
            config,
        });
        for i in 0..state.world.sellers().len() {
            state.grant_session(&session_for(i), i as u16);
        }
        state
    }

    /// Grants `session` for the seller with index `seller`.
    pub fn grant_session(&self, session: &str, seller: u16) {
        let expires = Instant::now() + self.config.session_ttl;
        lock(&self.sessions).insert(session.to_string(), Session { seller, expires });
    }

    /// Queues faults for the next calls, in order.
    pub fn inject(&self, faults: impl IntoIterator<Item = TopFault>) {
        lock(&self.faults).extend(faults);
    }
}

/// A simulator listening on loopback; it stops when dropped.
#[derive(Debug)]
pub struct RunningTopSim {
    pub addr: SocketAddr,
    pub state: Arc<TopSimState>,
    server: crate::loopback::Loopback,
}

impl RunningTopSim {
    /// Binds `127.0.0.1:port` (0 for any free port) and serves `state` in the background.
    pub async fn start(state: Arc<TopSimState>, port: u16) -> std::io::Result<Self> {
        let server =
            crate::loopback::Loopback::serve(handlers::router(Arc::clone(&state)), port).await?;
        Ok(Self {
            addr: server.addr,
            state,
            server,
        })
    }

    /// `http://127.0.0.1:<port>` (the host part).
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The full gateway URL to put in `TopSettings::gateway_url`: `<base_url>/router/rest`.
    pub fn gateway_url(&self) -> String {
        format!("{}/router/rest", self.base_url())
    }
}

#[cfg(test)]
mod tests;
