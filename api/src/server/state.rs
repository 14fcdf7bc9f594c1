//! What every handler shares.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::Semaphore;
use warehouse::{TableCache, Warehouse};

use super::flush::Flusher;
use super::jobs::{JobsSetup, SecretCache};
use super::telemetry::Telemetry;
use crate::store::Store;
use crate::store::journal::Journal;
use pipelines::forms::lookup::Pending;
use pipelines::forms::refs::Refs;

/// Limits of the read-only SQL endpoint.
#[derive(Debug, Clone)]
pub struct QueryLimits {
    /// Memory one query may use (DataFusion memory pool), bytes.
    pub memory_bytes: usize,
    /// Wall-clock time one query may run.
    pub timeout: std::time::Duration,
    /// Rows one answer may hold.
    pub max_rows: usize,
    /// Queries running at once; more wait.
    pub concurrent: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 512 << 20,
            timeout: std::time::Duration::from_secs(30),
            max_rows: 1_000_000,
            concurrent: 2,
        }
    }
}

/// Shared server state (cheap to clone).
#[derive(Debug, Clone)]
pub struct AppState {
    pub wh: Arc<Warehouse>,
    /// Loaded tables kept between requests (queries, metrics, break lists).
    pub tables: Arc<TableCache>,
    pub store: Store,
    pub journal: Journal,
    pub pending: Arc<Pending>,
    pub refs: Arc<Refs>,
    pub flush: Arc<Flusher>,
    pub data_dir: PathBuf,
    pub limits: QueryLimits,
    pub query_slots: Arc<Semaphore>,
    pub telemetry: Arc<Telemetry>,
    /// The job runtime: queue, run history, alerts.
    pub jobs: Arc<pipelines::jobs::JobEnv>,
    pub jobs_setup: Arc<JobsSetup>,
    /// Connector secrets set through the API, for syncs run here.
    pub secrets: Arc<SecretCache>,
    pub openapi: Arc<serde_json::Value>,
    /// Company name, logo and colours for the UI and every export.
    pub branding: Arc<dashboards::Branding>,
    /// Dashboard responses by table versions.
    pub dash_cache: Arc<crate::routes::dashboards::DashCache>,
    /// Failed logins by username and address.
    pub login_throttle: Arc<crate::auth::throttle::LoginThrottle>,
}
