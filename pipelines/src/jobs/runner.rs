//! Running one attempt: take the target's lease (or learn who holds it), do the work while
//! renewing the lease and watching for a cancel, then record the outcome and, for a
//! retryable failure, queue the next attempt after an exponential back-off with jitter.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use warehouse::Warehouse;

use super::JobError;
use super::queue::Queue;
use super::spec::{JobArgs, JobSpec, Trigger};
use super::state::{JobState, Lease, now_ms};

/// Looks up a secret by its environment name (the API's secret store, then the process env).
/// A connector's secret by `(connector, environment variable)`: values stored for that
/// connector, else the variable, within the secret policy.
pub type SecretLookup = Arc<dyn Fn(&str, &str) -> Option<String> + Send + Sync>;

/// Runs read-only SQL as a principal (by its id, `token:…` / `user:…`), within that
/// principal's role and shops and under the query limits; `Err` says why not (a revoked
/// token, a table it may not read, a limit).
pub type SqlAs = Arc<
    dyn Fn(
            String,
            String,
        ) -> futures::future::BoxFuture<
            'static,
            std::result::Result<Vec<arrow::record_batch::RecordBatch>, String>,
        > + Send
        + Sync,
>;

/// When and how often failed attempts are tried again.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay before the second attempt; doubles each time (±50 % jitter), up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(30 * 60),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt `attempt` (1-based): `base · 2^(attempt-1)`, capped, then a
    /// uniformly random point between half and all of it, so retries of many runs spread out.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.max_delay);
        let half = exp / 2;
        let jitter = half.mul_f64(rand::random::<f64>());
        half + jitter
    }
}

/// Everything a worker needs to run jobs.
pub struct JobEnv {
    pub wh: Warehouse,
    pub data_dir: PathBuf,
    pub queue: Queue,
    pub state: JobState,
    pub secrets: SecretLookup,
    pub retry: RetryPolicy,
    /// How long a target's lease lasts without renewal; renewed every third of it.
    pub lease_ttl: Duration,
    /// Alert evaluation (rules, channels); `None` when no rules are configured.
    pub alerts: Option<Arc<crate::alerts::AlertRuntime>>,
    /// How stored rules run as the principal who defined them (set by the API's process).
    pub sql_as: Option<SqlAs>,
}

impl std::fmt::Debug for JobEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobEnv")
            .field("data_dir", &self.data_dir)
            .field("queue", &self.queue)
            .field("retry", &self.retry)
            .field("lease_ttl", &self.lease_ttl)
            .finish_non_exhaustive()
    }
}

/// What a successful run reports.
#[derive(Debug, Clone, Default)]
pub struct Output {
    pub rows: i64,
    pub result: Value,
}

enum Interrupt {
    Cancelled,
    LeaseLost,
}

/// Runs one queued attempt on worker `worker`. Errors are only the backend's own (the run's
/// outcome, good or bad, is recorded in the run history).
pub async fn run_attempt(env: &JobEnv, args: &JobArgs, worker: &str) -> Result<(), JobError> {
    let run_id = args.run_id.as_str();
    if env.state.cancel_requested(run_id).await? {
        env.state
            .finish(
                run_id,
                "cancelled",
                None,
                None,
                Some("cancelled before it started"),
                None,
            )
            .await?;
        return Ok(());
    }
    let target = args.spec.target();
    let holder = format!("{worker}/{run_id}#{}", args.attempt);
    let ttl = env.lease_ttl.as_millis() as i64;
    let mut waited_for_self_until: Option<i64> = None;
    loop {
        match env.state.try_lease(&target, run_id, &holder, ttl).await? {
            Lease::Acquired => break,
            Lease::Held {
                run_id: other,
                expires_at,
                ..
            } if other == run_id => {
                // An earlier delivery of this very run holds it: a worker that died (its lease
                // lapses soon) or one still alive (a duplicate delivery, which we drop).
                let deadline = *waited_for_self_until.get_or_insert(expires_at + ttl);
                if now_ms() > deadline {
                    tracing::warn!(run_id, %target, "dropping a duplicate delivery of a run still in progress");
                    return Ok(());
                }
                let wait = (expires_at - now_ms()).clamp(50, 1000) as u64;
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            Lease::Held { run_id: other, .. } => {
                let why =
                    format!("{target} is already running (run {other}); this run was skipped");
                env.state
                    .finish(run_id, "skipped", None, None, Some(&why), None)
                    .await?;
                tracing::info!(run_id, %target, other = %other, "skipped: target busy");
                return Ok(());
            }
        }
    }
    env.state.start(run_id, args.attempt, worker).await?;
    tracing::info!(run_id, %target, attempt = args.attempt, worker, "job started");
    let renew = async {
        loop {
            tokio::time::sleep(env.lease_ttl / 3).await;
            match env.state.renew(&target, &holder, ttl).await {
                Ok(true) => {}
                Ok(false) => return Interrupt::LeaseLost,
                Err(e) => tracing::warn!(error = %e, "renewing a job lease"),
            }
            if env.state.cancel_requested(run_id).await.unwrap_or(false) {
                return Interrupt::Cancelled;
            }
        }
    };
    let outcome = tokio::select! {
        r = execute(env, &args.spec) => Ok(r),
        i = renew => Err(i),
    };
    if let Err(e) = env.state.release(&target, &holder).await {
        tracing::warn!(error = %e, "releasing a job lease (it will lapse)");
    }
    match outcome {
        Ok(Ok(out)) => {
            env.state
                .finish(
                    run_id,
                    "succeeded",
                    Some(out.rows),
                    Some(&out.result),
                    None,
                    None,
                )
                .await?;
            tracing::info!(run_id, %target, rows = out.rows, "job succeeded");
            if matches!(args.spec, JobSpec::Sync { .. }) {
                // The marts and the alerts follow as their own runs: each target is leased, so
                // syncs of several connectors on several workers never rebuild a mart at once.
                let mut follow = vec![("marts", JobSpec::Marts {})];
                if env.alerts.is_some() {
                    follow.push(("alerts", JobSpec::Alerts { rules: Vec::new() }));
                }
                for (suffix, spec) in follow {
                    let next = JobArgs {
                        run_id: format!("{run_id}-{suffix}"),
                        spec,
                        trigger: Trigger::AfterSync,
                        requested_by: format!("after {run_id}"),
                        attempt: 1,
                    };
                    super::submit(&env.queue, &env.state, &next).await?;
                }
            }
        }
        Ok(Err(e)) if e.retryable() && args.attempt < env.retry.max_attempts => {
            let delay = env.retry.delay(args.attempt);
            let at = now_ms() + delay.as_millis() as i64;
            env.state
                .finish(
                    run_id,
                    "retrying",
                    None,
                    None,
                    Some(&e.to_string()),
                    Some(at),
                )
                .await?;
            tracing::warn!(run_id, %target, attempt = args.attempt, delay_s = delay.as_secs(), error = %e, "job failed; will retry");
            let next = JobArgs {
                attempt: args.attempt + 1,
                ..args.clone()
            };
            env.queue.push(&next, Some(delay)).await?;
        }
        Ok(Err(e)) => {
            env.state
                .finish(run_id, "failed", None, None, Some(&e.to_string()), None)
                .await?;
            tracing::error!(run_id, %target, error = %e, "job failed");
        }
        Err(Interrupt::Cancelled) => {
            env.state
                .finish(
                    run_id,
                    "cancelled",
                    None,
                    None,
                    Some("cancelled while running"),
                    None,
                )
                .await?;
        }
        Err(Interrupt::LeaseLost) => {
            env.state
                .finish(
                    run_id,
                    "failed",
                    None,
                    None,
                    Some("lost the target's lease (the backend was unreachable for too long)"),
                    None,
                )
                .await?;
        }
    }
    Ok(())
}

fn failed(e: crate::PipelineError) -> JobError {
    let retryable = e.is_retryable();
    JobError::Failed {
        message: e.to_string(),
        retryable,
    }
}

/// Does the work of `spec`.
pub async fn execute(env: &JobEnv, spec: &JobSpec) -> Result<Output, JobError> {
    match spec {
        JobSpec::Sync { connector, days } => sync(env, connector, days.unwrap_or(30)).await,
        JobSpec::Marts {} => {
            let r = crate::marts::refresh_all(&env.wh).await.map_err(failed)?;
            Ok(Output {
                rows: r.len() as i64,
                result: json!({"marts": r.len()}),
            })
        }
        JobSpec::Reconcile { checks, period } => {
            let specs =
                crate::recon::load_checks(Some(&env.data_dir.join("checks"))).map_err(failed)?;
            let period = period
                .as_deref()
                .map(crate::recon::Period::parse)
                .transpose()
                .map_err(|e| JobError::Failed {
                    message: format!("period: {e}"),
                    retryable: false,
                })?;
            let opts = crate::recon::RunOptions {
                checks: checks.clone(),
                period,
                as_of: chrono::Utc::now()
                    .with_timezone(&vocab::BUSINESS_TZ)
                    .date_naive(),
            };
            let rep = crate::recon::run(&env.wh, &specs, &opts, &|_| {})
                .await
                .map_err(failed)?;
            let open: u64 = rep.checks.iter().map(|c| c.open_after).sum();
            Ok(Output {
                rows: open as i64,
                result: json!({"recon_run": rep.run_id, "checks": rep.checks.len(), "open_breaks": open}),
            })
        }
        JobSpec::Alerts { rules } => match &env.alerts {
            None => Ok(Output {
                rows: 0,
                result: json!({"rules": 0, "note": "no alert rules configured"}),
            }),
            Some(a) => {
                let rep = a.evaluate(env, rules).await?;
                Ok(Output {
                    rows: rep.deliveries as i64,
                    result: serde_json::to_value(&rep).unwrap_or_default(),
                })
            }
        },
    }
}

/// An incremental sync of one registered connector (the marts follow as their own run).
/// Every stream runs; a stream that fails fails the run, naming it, while the others' rows
/// and cursors stay committed. The run is retried when a failure may pass (an attempt
/// reads the streams that succeeded again from their cursors, which changes nothing).
async fn sync(env: &JobEnv, name: &str, days: i64) -> Result<Output, JobError> {
    use crate::registry::{self, Registry};
    use crate::sync::{SyncOptions, failed_streams, sync_streams};
    let reg = Registry::new(&env.data_dir);
    let doc = reg.get(name).map_err(failed)?;
    // Also excludes a `zhongtai sync` started by hand on this machine.
    let _lock = reg.lock(&doc.name).map_err(failed)?;
    let lookup = Arc::clone(&env.secrets);
    let connector = doc.name.clone();
    let streams = registry::build(
        &doc,
        &move |k: &str| lookup(&connector, k),
        reg.tokens(&doc.name),
        &[],
    )
    .map_err(failed)?;
    let to = chrono::Utc::now()
        .with_timezone(&vocab::BUSINESS_TZ)
        .naive_local();
    let from = doc
        .start_date
        .map(|d| d.and_time(chrono::NaiveTime::MIN))
        .unwrap_or(to - chrono::Duration::days(days));
    let opts = SyncOptions::new(from, to);
    let outcomes = sync_streams(&env.wh, &doc.name, &streams, &opts, &|_| {}).await;
    let bad = failed_streams(&outcomes);
    if !bad.is_empty() {
        let retryable = bad.iter().any(|(_, e)| e.is_retryable());
        let errors: Vec<String> = bad.iter().map(|(s, e)| format!("{s}: {e}")).collect();
        return Err(JobError::Failed {
            message: format!(
                "connector {name}: {} of {} stream(s) failed ({}); the other streams' rows and cursors are committed: {}",
                bad.len(),
                outcomes.len(),
                bad.iter().map(|(s, _)| *s).collect::<Vec<_>>().join(", "),
                errors.join("; ")
            ),
            retryable,
        });
    }
    let mut out = Vec::new();
    let mut rows = 0i64;
    for rep in outcomes.into_iter().filter_map(|(_, r)| r.ok()) {
        rows += (rep.appended + rep.merged) as i64;
        out.push(json!({"stream": rep.stream, "records": rep.records, "appended": rep.appended, "upserted": rep.merged, "skipped": rep.skipped, "quarantined": rep.quarantined, "quarantine_samples": rep.quarantine_samples, "windows": rep.windows}));
    }
    Ok(Output {
        rows,
        result: json!({"connector": name, "streams": out}),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_with_jitter_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(60),
        };
        for _ in 0..200 {
            let d1 = p.delay(1);
            assert!(
                d1 >= Duration::from_secs(5) && d1 <= Duration::from_secs(10),
                "{d1:?}"
            );
            let d3 = p.delay(3);
            assert!(
                d3 >= Duration::from_secs(20) && d3 <= Duration::from_secs(40),
                "{d3:?}"
            );
            let d9 = p.delay(9);
            assert!(
                d9 >= Duration::from_secs(30) && d9 <= Duration::from_secs(60),
                "{d9:?}"
            );
        }
        // Jitter: not every delay is the same.
        let many: std::collections::BTreeSet<u128> =
            (0..50).map(|_| p.delay(2).as_millis()).collect();
        assert!(many.len() > 10);
    }
}
