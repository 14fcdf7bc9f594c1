//! The job runtime as the server (and `zhongtai worker`) runs it: the queue and run history in
//! the job backend (`jobs.db` in the data dir, or PostgreSQL), workers and the scheduler in
//! this process unless told otherwise, and connector secrets from the API's store.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use pipelines::alerts::{AlertConfig, AlertRuntime};
use pipelines::jobs::{
    JobEnv, Queue, QueueTuning, RetryPolicy, ScheduleDef, Scheduler, SecretLookup, SqlAs,
    WorkerOptions, run_worker,
};
use pipelines::registry::SecretPolicy;
use warehouse::Warehouse;

use crate::server::state::QueryLimits;
use crate::store::Store;

/// How this process takes part in running jobs.
#[derive(Debug, Clone)]
pub struct JobsSetup {
    /// `sqlite://…` or `postgres://…`; `None`: `jobs.db` in the data dir.
    pub url: Option<String>,
    pub tuning: QueueTuning,
    /// Attempts this process runs at once; 0: none (queue only).
    pub workers: usize,
    /// Queue scheduled runs from this process.
    pub scheduler: bool,
    pub retry: RetryPolicy,
    pub lease_ttl: Duration,
    pub schedules: Vec<ScheduleDef>,
    pub alerts: Option<AlertConfig>,
}

impl Default for JobsSetup {
    fn default() -> Self {
        Self {
            url: None,
            tuning: QueueTuning::default(),
            workers: 2,
            scheduler: true,
            retry: RetryPolicy::default(),
            lease_ttl: Duration::from_secs(30),
            schedules: Vec::new(),
            alerts: None,
        }
    }
}

impl JobsSetup {
    /// The backend URL in force.
    pub fn url_for(&self, data_dir: &Path) -> String {
        self.url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("jobs.db").display()))
    }
}

/// Connector secrets set through the API, bound to the connector they were stored for, and
/// the policy of which environment variables a connector may read. A connector's secret is its
/// stored value, else its variable — only when the policy allows that variable.
pub struct SecretCache {
    values: RwLock<crate::store::SecretValues>,
    policy: SecretPolicy,
}

impl Default for SecretCache {
    fn default() -> Self {
        Self::new(SecretPolicy::default())
    }
}

impl std::fmt::Debug for SecretCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.values.read().map(|v| v.len()).unwrap_or(0);
        write!(f, "SecretCache({n} secrets, values redacted)")
    }
}

impl SecretCache {
    pub fn new(policy: SecretPolicy) -> Self {
        Self {
            values: RwLock::new(HashMap::new()),
            policy,
        }
    }

    /// The policy secrets are read under.
    pub fn policy(&self) -> &SecretPolicy {
        &self.policy
    }

    /// Re-reads the stored secrets.
    pub async fn reload(&self, store: &Store) -> Result<(), crate::store::StoreError> {
        let fresh = store.connector_secrets().await?;
        if let Ok(mut v) = self.values.write() {
            *v = fresh;
        }
        Ok(())
    }

    /// Secret `env` of `connector`.
    pub fn get(&self, connector: &str, env: &str) -> Option<String> {
        if !self.policy.allows(env) {
            return None;
        }
        self.values
            .read()
            .ok()
            .and_then(|v| v.get(&(connector.to_string(), env.to_string())).cloned())
            .or_else(|| crate::config::env_var(env))
    }

    /// A lookup for the job runner.
    pub fn lookup(self: &Arc<Self>) -> SecretLookup {
        let me = Arc::clone(self);
        Arc::new(move |connector: &str, k: &str| me.get(connector, k))
    }
}

/// Errors setting the runtime up.
#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    #[error(transparent)]
    Job(#[from] pipelines::jobs::JobError),
    #[error("alerts: {0}")]
    Alerts(String),
    #[error("schedule: {0}")]
    Schedule(String),
}

/// Connects to the backend and builds the environment workers run in.
pub async fn open(
    wh: Warehouse,
    data_dir: &Path,
    setup: &JobsSetup,
    secrets: SecretLookup,
    principals: Option<(Store, QueryLimits)>,
) -> Result<Arc<JobEnv>, JobsError> {
    for s in &setup.schedules {
        s.validate()
            .map_err(|e| JobsError::Schedule(e.to_string()))?;
    }
    let url = setup.url_for(data_dir);
    let (queue, state) = Queue::connect(&url, &setup.tuning).await?;
    let alerts = match &setup.alerts {
        Some(cfg) => {
            // Channel settings come from the config file, which only the server's owner writes.
            Some(Arc::new(
                AlertRuntime::new(cfg.clone(), &crate::config::env_var)
                    .map_err(JobsError::Alerts)?,
            ))
        }
        None => None,
    };
    tracing::info!(backend = %pipelines::jobs::redact_url(&url), "job backend ready");
    let sql_as = principals.map(|(store, limits)| sql_as(&wh, store, limits));
    Ok(Arc::new(JobEnv {
        wh,
        data_dir: data_dir.to_path_buf(),
        queue,
        state,
        secrets,
        retry: setup.retry.clone(),
        lease_ttl: setup.lease_ttl,
        alerts,
        sql_as,
    }))
}

/// Stored alert rules run as the principal who stored them (`routes::query::run_as`).
fn sql_as(wh: &Warehouse, store: Store, limits: QueryLimits) -> SqlAs {
    let tables = warehouse::TableCache::new(wh.clone(), std::time::Duration::from_secs(2));
    Arc::new(move |by: String, sql: String| {
        let (tables, store, limits) = (Arc::clone(&tables), store.clone(), limits.clone());
        Box::pin(async move {
            crate::routes::query::run_as(&store, &tables, &limits, &by, &sql)
                .await
                .map_err(|e| format!("as {by}: {}", e.message()))
        })
    })
}

/// Starts this process's workers and scheduler; they stop when `stop` turns true.
pub fn spawn(
    env: &Arc<JobEnv>,
    setup: &JobsSetup,
    prefix: &str,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    if setup.workers > 0 {
        let opts = WorkerOptions::named(prefix, setup.workers, setup.tuning.clone());
        let (e, s) = (Arc::clone(env), stop.clone());
        tasks.push(tokio::spawn(async move {
            if let Err(err) = run_worker(e, opts, s).await {
                tracing::error!(error = %err, "job worker ended");
            }
        }));
    }
    if setup.scheduler {
        let sched = Scheduler::new(Arc::clone(env), setup.schedules.clone());
        tasks.push(tokio::spawn(sched.run(stop.clone())));
    }
    tasks
}
