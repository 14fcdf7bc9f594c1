//! Cron schedules: from the config file (`[[jobs.schedule]]`), from connector documents
//! (`schedule = "…"` syncs that connector), and stored through the API or CLI.
//!
//! Expressions are read in Asia/Shanghai time; five fields (`*/5 * * * *`) are the usual
//! crontab form, six or seven start with seconds. Every process running a scheduler queues
//! each tick under the run id `sched-<name>-<unix seconds>`, so several processes queue it
//! once. Ticks missed while no scheduler ran are not made up (the next one comes on time).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::runner::JobEnv;
use super::spec::{JobArgs, JobSpec, Trigger};
use super::{JobError, submit};

/// A named cron schedule of one job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleDef {
    pub name: String,
    pub cron: String,
    pub job: JobSpec,
}

/// Parses a cron expression (5, 6 or 7 fields).
pub fn parse_cron(expr: &str) -> Result<cron::Schedule, String> {
    let fields = expr.split_whitespace().count();
    let full = match fields {
        5 => format!("0 {expr}"),
        6 | 7 => expr.to_string(),
        _ if expr.trim().starts_with('@') => expr.trim().to_string(),
        n => {
            return Err(format!(
                "cron {expr:?}: expected 5 fields (min hour day month weekday) or 6-7 with seconds, got {n}"
            ));
        }
    };
    cron::Schedule::from_str(&full).map_err(|e| format!("cron {expr:?}: {e}"))
}

impl ScheduleDef {
    /// Checks the name, the expression and the job.
    pub fn validate(&self) -> Result<(), JobError> {
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(JobError::Invalid(format!(
                "schedule name {:?}: use letters, digits, '-' and '_'",
                self.name
            )));
        }
        parse_cron(&self.cron).map_err(JobError::Invalid)?;
        self.job.validate().map_err(JobError::Invalid)
    }
}

/// Queues the runs schedules ask for.
#[derive(Debug)]
pub struct Scheduler {
    env: Arc<JobEnv>,
    fixed: Vec<ScheduleDef>,
}

impl Scheduler {
    /// A scheduler over the config file's schedules plus connector and stored ones.
    pub fn new(env: Arc<JobEnv>, fixed: Vec<ScheduleDef>) -> Self {
        Self { env, fixed }
    }

    /// Every schedule in force now. A broken connector document or stored row is skipped with
    /// a warning rather than stopping the others.
    pub async fn all(&self) -> Vec<ScheduleDef> {
        let mut out = self.fixed.clone();
        match crate::registry::Registry::new(&self.env.data_dir).list() {
            Ok(docs) => {
                for d in docs {
                    if let Some(cron) = d.schedule {
                        out.push(ScheduleDef {
                            name: format!("sync-{}", d.name),
                            cron,
                            job: JobSpec::Sync {
                                connector: d.name,
                                days: None,
                            },
                        });
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading connector schedules"),
        }
        match self.env.state.schedules().await {
            Ok(stored) => out.extend(stored.into_iter().map(|(name, cron, job)| ScheduleDef {
                name,
                cron,
                job,
            })),
            Err(e) => tracing::warn!(error = %e, "reading stored schedules"),
        }
        out
    }

    /// Queues every tick of `defs` in `(after, until]`; returns how many runs it queued.
    pub async fn queue_due(
        &self,
        defs: &[ScheduleDef],
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> usize {
        let mut queued = 0;
        for def in defs {
            let sched = match parse_cron(&def.cron) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(schedule = %def.name, error = %e, "skipping a schedule");
                    continue;
                }
            };
            let from = after.with_timezone(&vocab::BUSINESS_TZ);
            for tick in sched
                .after(&from)
                .take_while(|t| t.with_timezone(&Utc) <= until)
                .take(100)
            {
                let args = JobArgs {
                    run_id: format!("sched-{}-{}", def.name, tick.timestamp()),
                    spec: def.job.clone(),
                    trigger: Trigger::Schedule,
                    requested_by: format!("schedule {}", def.name),
                    attempt: 1,
                };
                match submit(&self.env.queue, &self.env.state, &args).await {
                    Ok(true) => queued += 1,
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(schedule = %def.name, error = %e, "queueing a scheduled run")
                    }
                }
            }
        }
        queued
    }

    /// Checks for due ticks every second until `stop` turns true. The schedules themselves
    /// (connector documents, stored rows) are re-read every 10 s, not at every tick.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut last = Utc::now();
        let mut defs = self.all().await;
        let mut read_at = std::time::Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                break;
            }
            if read_at.elapsed() >= Duration::from_secs(10) {
                defs = self.all().await;
                read_at = std::time::Instant::now();
            }
            let now = Utc::now();
            self.queue_due(&defs, last, now).await;
            last = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_takes_crontab_and_seconds_forms_and_names_bad_ones() {
        let five = parse_cron("*/5 * * * *").expect("five fields");
        let t0 = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 30, 0, 1, 0)
            .single()
            .expect("t0");
        let next: Vec<_> = five.after(&t0).take(2).collect();
        assert_eq!(next[0].timestamp() - t0.timestamp(), 240);
        assert_eq!(next[1].timestamp() - next[0].timestamp(), 300);
        assert!(parse_cron("*/2 * * * * *").is_ok());
        let e = parse_cron("every day").expect_err("bad");
        assert!(e.contains("every day"), "{e}");
        assert!(parse_cron("61 * * * *").is_err());
    }
}
