//! The HTTP server: `zhongtai serve`.
//!
//! Startup: open the lake and the state store, flush any journal entries a previous process
//! left (so the lake is complete before requests arrive), load reference ids, start the
//! journal writer and the flush loop, then serve until Ctrl-C / SIGTERM. Shutdown stops
//! accepting, lets requests finish, and flushes the journal one last time.
//!
//! Codemap: `state` (shared handles), `error` (JSON errors), `flush` (journal → lake),
//! `jobs` (triggered work), `telemetry` (Prometheus). Routes are in `crate::routes`.

pub mod conn;
pub mod error;
pub mod flush;
pub mod jobs;
pub mod state;
pub mod telemetry;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use warehouse::{TableCache, Warehouse};

use crate::store::Store;
use crate::store::journal::Journal;
use pipelines::forms::lookup::Pending;
use pipelines::forms::refs::Refs;
use state::{AppState, QueryLimits};

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub addr: SocketAddr,
    /// How often the journal is flushed into the lake.
    pub flush_every: Duration,
    pub limits: QueryLimits,
    /// The job runtime: backend, workers and scheduler in this process, alerts.
    pub jobs: jobs::JobsSetup,
    /// Company name, logo and colours (`[branding]`).
    pub branding: dashboards::Branding,
    /// Connection cap and timeouts.
    pub conn: conn::ConnLimits,
    /// Which environment variables connector secrets may come from.
    pub secret_policy: pipelines::registry::SecretPolicy,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            flush_every: Duration::from_millis(1000),
            limits: QueryLimits::default(),
            jobs: jobs::JobsSetup::default(),
            branding: dashboards::Branding::default(),
            conn: conn::ConnLimits::default(),
            secret_policy: pipelines::registry::SecretPolicy::default(),
        }
    }
}

/// A running server.
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), ServeError>>,
}

/// Errors starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("opening the lake: {0}")]
    Lake(#[from] warehouse::WarehouseError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("flushing the journal: {0}")]
    Flush(#[from] flush::FlushError),
    #[error("starting the job runtime: {0}")]
    Jobs(#[from] jobs::JobsError),
    #[error("listening on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("serving HTTP: {0}")]
    Serve(std::io::Error),
}

/// How stale a table may look to queries when another process (a CLI sync) wrote it; writes
/// made by the server itself are seen at once.
const TABLE_MAX_AGE: Duration = Duration::from_secs(2);

/// Starts the server; it runs until [`Running::shutdown`] or the process is signalled.
pub async fn start(
    wh: Warehouse,
    data_dir: PathBuf,
    opts: ServeOptions,
) -> Result<Running, ServeError> {
    let wh = Arc::new(wh);
    let store = Store::open(&data_dir.join("api.db")).await?;
    let pending = Arc::new(Pending::default());
    let refs = Arc::new(Refs::default());
    let flusher = Arc::new(
        flush::Flusher::start(
            Arc::clone(&wh),
            store.clone(),
            Arc::clone(&pending),
            Arc::clone(&refs),
        )
        .await?,
    );
    refs.refresh(&wh).await?;
    let journal = Journal::start(&store, Arc::clone(&pending), Arc::clone(&refs)).await?;
    let secrets = Arc::new(jobs::SecretCache::new(opts.secret_policy.clone()));
    let docs = pipelines::registry::Registry::new(&data_dir)
        .list()
        .unwrap_or_default();
    let bound = store.bind_legacy_secrets(&docs).await?;
    if bound > 0 {
        tracing::info!(
            secrets = bound,
            "bound stored connector secrets to their connectors"
        );
    }
    secrets.reload(&store).await?;
    let job_env = jobs::open(
        (*wh).clone(),
        &data_dir,
        &opts.jobs,
        secrets.lookup(),
        Some((store.clone(), opts.limits.clone())),
    )
    .await?;
    let st = AppState {
        wh: Arc::clone(&wh),
        tables: TableCache::new((*wh).clone(), TABLE_MAX_AGE),
        store: store.clone(),
        journal,
        pending: Arc::clone(&pending),
        refs: Arc::clone(&refs),
        flush: Arc::clone(&flusher),
        data_dir,
        query_slots: Arc::new(Semaphore::new(opts.limits.concurrent.max(1))),
        limits: opts.limits.clone(),
        telemetry: Arc::default(),
        jobs: Arc::clone(&job_env),
        jobs_setup: Arc::new(opts.jobs.clone()),
        secrets,
        openapi: Arc::new(crate::routes::openapi()),
        branding: Arc::new(opts.branding.clone()),
        dash_cache: Arc::default(),
        login_throttle: Arc::default(),
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let flush_loop = tokio::spawn(Arc::clone(&flusher).run(opts.flush_every, stop_rx.clone()));
    let job_tasks = jobs::spawn(&job_env, &opts.jobs, "serve", &stop_rx);
    let listener = tokio::net::TcpListener::bind(opts.addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: opts.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(ServeError::Serve)?;
    let listener = conn::GuardedListener::new(listener, opts.conn);
    let app = crate::routes::router(st.clone()).into_make_service_with_connect_info::<conn::Peer>();
    let mut stop_http = stop_rx.clone();
    let st_final = st.clone();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop_http.changed().await;
            })
            .await
            .map_err(ServeError::Serve)?;
        let _ = flush_loop.await;
        // Workers finish the attempts they hold before the process ends.
        for t in job_tasks {
            let _ = t.await;
        }
        // Everything acknowledged goes into the lake before the process ends.
        let r = st_final.flush.flush().await?;
        tracing::info!(entries = r.entries, "final flush on shutdown");
        Ok(())
    });
    Ok(Running {
        addr,
        state: st,
        stop: stop_tx,
        task,
    })
}

impl Running {
    /// Stops accepting, finishes requests, flushes, and waits.
    pub async fn shutdown(self) -> Result<(), ServeError> {
        let _ = self.stop.send(true);
        self.wait().await
    }

    /// Waits for the server to end (after a shutdown signal).
    pub async fn wait(self) -> Result<(), ServeError> {
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(ServeError::Serve(std::io::Error::other(e.to_string()))),
        }
    }

    /// A sender that stops the server when `true` is sent.
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn signalled() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
