//! apalis workers: fetch attempts from the queue and run them, `concurrency` at a time, until
//! the stop signal; in-flight attempts finish first.

use std::sync::Arc;

use apalis::prelude::{
    BackendExt, BoxDynError, Data, WorkerBuilder, WorkerBuilderExt, WorkerContext,
};

use super::JobError;
use super::queue::{Queue, QueueTuning};
use super::runner::{JobEnv, run_attempt};
use super::spec::JobArgs;

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Unique among live workers (apalis refuses a second live worker of the same name).
    pub name: String,
    /// Attempts run at once by this worker.
    pub concurrency: usize,
    pub tuning: QueueTuning,
}

impl WorkerOptions {
    /// `prefix-<pid>-<random>`: unique per process even across quick restarts.
    pub fn named(prefix: &str, concurrency: usize, tuning: QueueTuning) -> Self {
        Self {
            name: format!(
                "{prefix}-{}-{:06x}",
                std::process::id(),
                rand::random::<u32>() & 0xff_ffff
            ),
            concurrency: concurrency.max(1),
            tuning,
        }
    }
}

async fn handle(
    args: JobArgs,
    env: Data<Arc<JobEnv>>,
    wrk: WorkerContext,
) -> Result<(), BoxDynError> {
    run_attempt(&env, &args, wrk.name())
        .await
        .map_err(|e| -> BoxDynError { Box::new(e) })
}

/// Runs a worker on `env.queue` until `stop` turns true.
pub async fn run_worker(
    env: Arc<JobEnv>,
    opts: WorkerOptions,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Result<(), JobError> {
    let signal = async move {
        while !*stop.borrow() {
            if stop.changed().await.is_err() {
                break;
            }
        }
        Ok::<(), std::io::Error>(())
    };
    tracing::info!(worker = %opts.name, concurrency = opts.concurrency, "job worker started");
    let poll = opts.tuning.poll;
    let r = match env.queue.clone() {
        Queue::Sqlite(s) => {
            WorkerBuilder::new(opts.name.as_str())
                .backend(s.poll_with_interval(poll))
                .data(Arc::clone(&env))
                .concurrency(opts.concurrency)
                .build(handle)
                .run_until(signal)
                .await
        }
        Queue::Postgres(s) => {
            WorkerBuilder::new(opts.name.as_str())
                .backend(s.poll_with_interval(poll))
                .data(Arc::clone(&env))
                .concurrency(opts.concurrency)
                .build(handle)
                .run_until(signal)
                .await
        }
    };
    tracing::info!(worker = %opts.name, "job worker stopped");
    r.map_err(|e| JobError::Backend(format!("worker {}: {e}", opts.name)))
}
