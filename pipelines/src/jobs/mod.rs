//! The job runtime: syncs, mart refreshes, reconciliation runs and alert evaluations, queued
//! durably (apalis), run by workers, on cron schedules, with retries.
//!
//! - `spec`: what a job is ([`JobSpec`]) and the queue envelope ([`JobArgs`]).
//! - `queue`: the apalis storage — SQLite `jobs.db` embedded, PostgreSQL to scale out.
//! - `state`: run history, target leases and stored schedules, beside the queue.
//! - `runner`: one attempt — lease, work, renew, record, retry with back-off and jitter.
//! - `schedule`: cron schedules from config, connector documents and the API.
//! - `worker`: apalis workers that run attempts until told to stop.
//!
//! Guarantees: a target (one connector's sync, the marts, reconciliation, alerts) never runs
//! twice at once, across processes (a lease in the shared backend, renewed while running); a
//! run killed with its worker is delivered again and completes once in effect (syncs resume
//! from their committed cursor and upsert by key); every run, attempt and outcome is recorded.

mod queue;
mod runner;
mod schedule;
mod spec;
mod state;
#[cfg(test)]
mod tests;
mod worker;

pub use queue::{QUEUE, Queue, QueueTuning, redact_url};
pub use runner::{JobEnv, Output, RetryPolicy, SecretLookup, SqlAs, execute, run_attempt};
pub use schedule::{ScheduleDef, Scheduler, parse_cron};
pub use spec::{JobArgs, JobSpec, Trigger, new_run_id};
pub use state::{FINAL, JobState, Lease, RunRecord, StateError, now_ms};
pub use worker::{WorkerOptions, run_worker};

/// Errors of the job runtime.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The queue or its database failed.
    #[error("{0}")]
    Backend(String),
    #[error(transparent)]
    State(#[from] StateError),
    /// The work itself failed; `retryable` when trying later may help.
    #[error("{message}")]
    Failed { message: String, retryable: bool },
    #[error("job: {0}")]
    Invalid(String),
}

impl JobError {
    /// Whether another attempt later may succeed.
    pub fn retryable(&self) -> bool {
        match self {
            JobError::Failed { retryable, .. } => *retryable,
            JobError::Backend(_) | JobError::State(_) => true,
            JobError::Invalid(_) => false,
        }
    }
}

/// Records and queues a run's first attempt; `false` when that run id was already queued
/// (the same schedule tick from another process, a repeated request).
pub async fn submit(queue: &Queue, state: &JobState, args: &JobArgs) -> Result<bool, JobError> {
    args.spec.validate().map_err(JobError::Invalid)?;
    if !state.record_queued(args).await? {
        return Ok(false);
    }
    queue.push(args, None).await?;
    Ok(true)
}

/// A job environment over a fresh lake and `jobs.db` in `dir` (tests).
#[cfg(test)]
pub(crate) async fn test_env(dir: &std::path::Path) -> JobEnv {
    test_env_with(dir, RetryPolicy::default(), &QueueTuning::default()).await
}

/// [`test_env`] with a retry policy and queue tuning.
#[cfg(test)]
pub(crate) async fn test_env_with(
    dir: &std::path::Path,
    retry: RetryPolicy,
    tuning: &QueueTuning,
) -> JobEnv {
    let wh = warehouse::Warehouse::open(&warehouse::LakeConfig {
        url: dir.join("lake").display().to_string(),
        ..Default::default()
    })
    .await
    .expect("lake");
    let url = format!("sqlite://{}", dir.join("jobs.db").display());
    let (queue, state) = Queue::connect(&url, tuning).await.expect("queue");
    JobEnv {
        wh,
        data_dir: dir.to_path_buf(),
        queue,
        state,
        secrets: std::sync::Arc::new(|_connector: &str, k: &str| {
            (k == "ZHONGTAI_SECRET_MINISHOP")
                .then(|| connectors::minishop_sim::DEFAULT_APP_SECRET.to_string())
        }),
        retry,
        lease_ttl: std::time::Duration::from_secs(3),
        alerts: None,
        sql_as: None,
    }
}
