//! The seam between a platform client and the sync engine in `pipelines`.
//!
//! A connector (Jushuitan, TOP, a declarative HTTP manifest, …) offers one [`Stream`] per kind
//! of record it can read. A stream reads raw JSON records modified inside a time window,
//! page by page, and maps a set of records to canonical rows ([`Mapped`]). The engine owns
//! everything else: cutting the range into windows, de-duplicating records that appear twice
//! (the highest [`Stream::record_version`] wins), committing rows and the cursor together, and
//! resuming after a crash. A stream never touches the lake.
//!
//! Windows are half-open `[begin, end)` in Asia/Shanghai wall-clock time; a stream converts them
//! to its platform's convention (e.g. Jushuitan's inclusive `modified_end`).

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use arrow::record_batch::RecordBatch;
use chrono::NaiveDateTime;
use serde_json::Value;

/// A boxed, sendable future (streams are used as trait objects).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One page of raw records.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawPage {
    pub rows: Vec<Value>,
    /// The token to ask for the next page with; `None` when the window is exhausted.
    pub next: Option<String>,
}

/// What went wrong while reading a stream (after the client's own retries).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// The platform refused the credentials (wrong secret, revoked or expired token).
    #[error("{stream}: the platform refused the credentials: {message}")]
    Auth { stream: String, message: String },
    /// The platform refused the request itself (bad parameters, missing permission).
    #[error("{stream}: the platform refused the request: {message}")]
    Refused { stream: String, message: String },
    /// The platform could not be reached or kept failing; retrying later may work.
    #[error("{stream}: gave up after retries: {message}")]
    Unavailable { stream: String, message: String },
    /// A record could not be read or mapped; nothing of its batch is written.
    #[error("{stream}: record {record}: {message}")]
    Record {
        stream: String,
        record: String,
        message: String,
    },
    /// The connector's settings are wrong.
    #[error("connector settings: {0}")]
    Settings(String),
}

/// Canonical rows for one table, produced from a set of records.
#[derive(Debug, Clone)]
pub struct TableRows {
    /// Canonical table name (see warehouse/SCHEMA.md).
    pub table: String,
    /// Rows with canonical column names; the warehouse fits types and fills missing columns.
    pub batch: RecordBatch,
    /// `Some((column, values))`: these rows are the complete set for each listed value of
    /// `column` (e.g. an order's lines), so rows of those groups that are not here are deleted.
    /// `None`: upsert by the table's primary key.
    pub replace: Option<(String, Vec<String>)>,
}

/// The tables a stream fills. The engine writes the `children` first (in order) and the
/// `main` table last, with the stream's cursor in the main table's commit: a crash between
/// commits leaves the cursor behind the rows, never ahead of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamTables {
    /// The table whose commit carries the cursor (e.g. `orders`).
    pub main: String,
    /// Tables written before the main one (e.g. an order's `order_items` and `payments`).
    pub children: Vec<String>,
}

impl StreamTables {
    /// `main` with `children` written before it.
    pub fn new(main: &str, children: &[&str]) -> Self {
        Self {
            main: main.to_string(),
            children: children.iter().map(|c| (*c).to_string()).collect(),
        }
    }

    /// A stream that fills one table.
    pub fn one(main: &str) -> Self {
        Self::new(main, &[])
    }

    /// Every table, in write order (children, then the main table).
    pub fn all(&self) -> Vec<String> {
        let mut v = self.children.clone();
        v.push(self.main.clone());
        v
    }

    /// Whether the stream declares `table`.
    pub fn contains(&self, table: &str) -> bool {
        self.main == table || self.children.iter().any(|c| c == table)
    }
}

/// The rows of one set of records, for tables the stream declares in [`Stream::tables`]
/// (in any order: the engine writes the children first and the main table last).
#[derive(Debug, Clone, Default)]
pub struct Mapped {
    pub tables: Vec<TableRows>,
}

impl Mapped {
    /// The rows of an order stream: each listed order's lines and payments are replaced
    /// (`order_id` groups), then the orders themselves are upserted and carry the cursor.
    pub fn orders(
        order_items: RecordBatch,
        payments: RecordBatch,
        orders: RecordBatch,
        order_ids: Vec<String>,
    ) -> Self {
        let by_order = |ids| Some(("order_id".to_string(), ids));
        let rows = |table: &str, batch, replace| TableRows {
            table: table.to_string(),
            batch,
            replace,
        };
        Mapped {
            tables: vec![
                rows("order_items", order_items, by_order(order_ids.clone())),
                rows("payments", payments, by_order(order_ids)),
                rows("orders", orders, None),
            ],
        }
    }
}

/// Counters a stream's client keeps, for summaries and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamStats {
    pub requests: u64,
    pub retries: u64,
    /// Time spent waiting to stay inside the rate budget, or backing off after throttling.
    pub throttle_wait: Duration,
    pub throttled: u64,
    pub token_refreshes: u64,
}

impl StreamStats {
    /// What happened since `earlier` (clients are shared by a connector's streams).
    pub fn since(&self, earlier: &StreamStats) -> StreamStats {
        StreamStats {
            requests: self.requests.saturating_sub(earlier.requests),
            retries: self.retries.saturating_sub(earlier.retries),
            throttle_wait: self.throttle_wait.saturating_sub(earlier.throttle_wait),
            throttled: self.throttled.saturating_sub(earlier.throttled),
            token_refreshes: self.token_refreshes.saturating_sub(earlier.token_refreshes),
        }
    }
}

/// A kind of record a connector reads, window by window.
pub trait Stream: Send + Sync + fmt::Debug {
    /// Stable name, e.g. `orders`; cursors are kept per connector and stream.
    fn name(&self) -> &str;
    /// The tables [`Stream::map`] fills, and which of them carries the cursor.
    fn tables(&self) -> StreamTables;
    /// The longest window the platform accepts; `None` for a snapshot stream (shops,
    /// warehouses, stock on hand) that is read whole, ignoring the window.
    fn max_window(&self) -> Option<Duration>;
    /// One page of records modified in `[begin, end)`; `next` is the previous page's token.
    fn page<'a>(
        &'a self,
        begin: NaiveDateTime,
        end: NaiveDateTime,
        next: Option<&'a str>,
    ) -> BoxFuture<'a, Result<RawPage, StreamError>>;
    /// A record's identity (the same record read twice has the same key).
    fn record_key(&self, record: &Value) -> Option<String>;
    /// A record's version: of two reads of one record, the higher version wins.
    fn record_version(&self, record: &Value) -> i64;
    /// Canonical rows for `records` (one per key, already de-duplicated).
    fn map(&self, records: &[Value]) -> Result<Mapped, StreamError>;
    /// The client's counters so far.
    fn stats(&self) -> StreamStats;
}

/// Secret values a connector needs (app secret, tokens), resolved by the registry from the
/// environment or the token store. Never printed: `Debug` shows the names only.
#[derive(Clone, Default)]
pub struct Secrets(BTreeMap<String, String>);

impl Secrets {
    /// Adds or replaces a secret.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.insert(name.into(), value.into());
    }

    /// A secret's value, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A secret's value, or a settings error naming it.
    pub fn require(&self, name: &str) -> Result<&str, StreamError> {
        self.get(name)
            .ok_or_else(|| StreamError::Settings(format!("the secret `{name}` is not set")))
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.0.keys().map(|k| format!("{k}=<redacted>")))
            .finish()
    }
}

/// A connector's state that outlives one client: credentials the platform rotates (a
/// refreshed access or refresh token), so the next run starts with them, and the call budget
/// of the platform app, shared by every connector and process of that app.
pub trait TokenSink: Send + Sync + fmt::Debug {
    /// Stores `value` under `name` (e.g. `refresh_token`), as soon as it changes.
    fn save(&self, name: &str, value: &str);

    /// The newest stored value of `name`, read again from where it is kept (another process
    /// may have rotated it). `None` when nothing is stored or the sink keeps nothing.
    fn load(&self, _name: &str) -> Option<String> {
        None
    }

    /// Tries to take the connector's cross-process refresh lock: `Some(guard)` while held,
    /// `None` when another process holds it. A sink without one always grants.
    fn try_lock_refresh(&self) -> Option<Box<dyn Send>> {
        Some(Box::new(()))
    }

    /// The call budget of `app` (e.g. `jushuitan-<app_key>`) under `limits`. This default is
    /// the calling client's own; a store shares one per app across processes.
    fn budget(&self, _app: &str, limits: crate::pace::Limits) -> Arc<dyn crate::pace::Budget> {
        Arc::new(crate::pace::LocalBudget::new(limits))
    }
}

/// A sink that forgets (tests, one-off runs).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTokenSink;

impl TokenSink for NoTokenSink {
    fn save(&self, _name: &str, _value: &str) {}
}
