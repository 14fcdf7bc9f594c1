//! The runtime's own records, kept in the job backend beside the queue (the SQLite file of the
//! embedded default, or the PostgreSQL database workers share), so every worker sees them:
//! - `zt_job_runs`: one row per run — status, attempts, worker, times, rows, result, error;
//! - `zt_job_leases`: which run holds a target (a connector's sync, the marts…) and until when;
//! - `zt_schedules`: cron schedules added through the API or the CLI.
//!
//! One set of queries serves both databases (sqlx `Any`, integers and text only; instants are
//! Unix milliseconds). Parameters are `$n`, numbered in order of first appearance: SQLite reads
//! `$1` as a *named* parameter and numbers names as they first occur.

use serde::Serialize;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row as _};

use super::spec::{JobArgs, JobSpec};

/// Errors of the job backend.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("job backend: {op}: {source}")]
    Sql {
        op: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("job backend: stored run {run_id} is unreadable: {reason}")]
    Corrupt { run_id: String, reason: String },
}

fn sql(op: &'static str) -> impl FnOnce(sqlx::Error) -> StateError {
    move |source| StateError::Sql { op, source }
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

// The run columns, in the order `run_of` reads them.
macro_rules! select_run {
    () => {
        "SELECT run_id, kind, target, spec, trigger_kind, requested_by, status, attempts, worker,
    queued_at, started_at, finished_at, duration_ms, rows_written, result, error, next_attempt_at, cancel_requested
    FROM zt_job_runs"
    };
}

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS zt_job_runs (
        run_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        spec TEXT NOT NULL,
        trigger_kind TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts BIGINT NOT NULL,
        worker TEXT,
        queued_at BIGINT NOT NULL,
        started_at BIGINT,
        finished_at BIGINT,
        duration_ms BIGINT,
        rows_written BIGINT,
        result TEXT,
        error TEXT,
        next_attempt_at BIGINT,
        cancel_requested BIGINT NOT NULL DEFAULT 0
    )",
    "CREATE INDEX IF NOT EXISTS zt_job_runs_target ON zt_job_runs (target, queued_at)",
    "CREATE INDEX IF NOT EXISTS zt_job_runs_status ON zt_job_runs (status)",
    "CREATE TABLE IF NOT EXISTS zt_job_leases (
        target TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        run_id TEXT NOT NULL,
        expires_at BIGINT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS zt_schedules (
        name TEXT PRIMARY KEY,
        cron TEXT NOT NULL,
        spec TEXT NOT NULL,
        enabled BIGINT NOT NULL,
        created_by TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )",
];

/// Runs `CREATE … IF NOT EXISTS` statements. Two processes starting at once on PostgreSQL
/// can still collide in its catalog ("duplicate key … pg_type"); the loser tries again.
pub(crate) async fn create(
    pool: &AnyPool,
    stmts: &[&'static str],
    op: &'static str,
) -> Result<(), StateError> {
    let mut tries = 0;
    loop {
        let mut failed = None;
        for stmt in stmts {
            if let Err(e) = sqlx::query(*stmt).execute(pool).await {
                failed = Some(e);
                break;
            }
        }
        match failed {
            None => return Ok(()),
            Some(e) if tries < 5 => {
                tracing::debug!(error = %e, "retrying table creation");
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(200 * tries)).await;
            }
            Some(source) => return Err(StateError::Sql { op, source }),
        }
    }
}

/// A run as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunRecord {
    pub run_id: String,
    pub kind: String,
    pub target: String,
    pub spec: serde_json::Value,
    pub trigger: String,
    pub requested_by: String,
    /// queued | running | retrying | succeeded | failed | skipped | cancelled
    pub status: String,
    pub attempts: i64,
    pub worker: Option<String>,
    pub queued_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub duration_ms: Option<i64>,
    pub rows: Option<i64>,
    pub result: Option<serde_json::Value>,
    pub error: Option<String>,
    pub next_attempt_at: Option<i64>,
    pub cancel_requested: bool,
}

/// Statuses a run ends in.
pub const FINAL: &[&str] = &["succeeded", "failed", "skipped", "cancelled"];

/// The outcome of asking for a target's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    Acquired,
    /// Someone else holds it until `expires_at`.
    Held {
        run_id: String,
        holder: String,
        expires_at: i64,
    },
}

/// Handle on the job backend's tables (cheap to clone).
#[derive(Debug, Clone)]
pub struct JobState {
    pool: AnyPool,
}

impl JobState {
    /// Connects to `url` (`sqlite://…` or `postgres://…`) and creates the tables.
    pub async fn open(url: &str) -> Result<Self, StateError> {
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .connect(url)
            .await
            .map_err(sql("connecting"))?;
        create(&pool, SCHEMA, "creating the job tables").await?;
        create(
            &pool,
            crate::alerts::store::SCHEMA,
            "creating the alert tables",
        )
        .await?;
        Ok(Self { pool })
    }

    /// Records a run as queued; `false` when the run id is already known (a schedule tick
    /// another process already queued, a repeated request).
    pub async fn record_queued(&self, args: &JobArgs) -> Result<bool, StateError> {
        let spec = serde_json::to_string(&args.spec).unwrap_or_default();
        let r = sqlx::query(
            "INSERT INTO zt_job_runs (run_id, kind, target, spec, trigger_kind, requested_by, status, attempts, queued_at, cancel_requested)
             VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7, 0) ON CONFLICT (run_id) DO NOTHING",
        )
        .bind(&args.run_id)
        .bind(args.spec.kind())
        .bind(args.spec.target())
        .bind(spec)
        .bind(args.trigger.as_str())
        .bind(&args.requested_by)
        .bind(now_ms())
        .execute(&self.pool)
        .await
        .map_err(sql("recording a queued run"))?;
        Ok(r.rows_affected() == 1)
    }

    /// Marks an attempt as running on `worker`.
    pub async fn start(&self, run_id: &str, attempt: u32, worker: &str) -> Result<(), StateError> {
        sqlx::query(
            "UPDATE zt_job_runs SET status = 'running', attempts = $1, worker = $2, started_at = $3,
             finished_at = NULL, duration_ms = NULL, error = NULL, next_attempt_at = NULL WHERE run_id = $4",
        )
        .bind(i64::from(attempt))
        .bind(worker)
        .bind(now_ms())
        .bind(run_id)
        .execute(&self.pool)
        .await
        .map_err(sql("marking a run as running"))?;
        Ok(())
    }

    /// Records how an attempt ended. `next_attempt_at` is set for `retrying`.
    #[allow(clippy::too_many_arguments)]
    pub async fn finish(
        &self,
        run_id: &str,
        status: &str,
        rows: Option<i64>,
        result: Option<&serde_json::Value>,
        error: Option<&str>,
        next_attempt_at: Option<i64>,
    ) -> Result<(), StateError> {
        let now = now_ms();
        sqlx::query(
            "UPDATE zt_job_runs SET status = $1, finished_at = $2,
             duration_ms = CASE WHEN started_at IS NULL THEN NULL ELSE $2 - started_at END,
             rows_written = $3, result = $4, error = $5, next_attempt_at = $6 WHERE run_id = $7",
        )
        .bind(status)
        .bind(now)
        .bind(rows)
        .bind(result.map(|r| r.to_string()))
        .bind(error)
        .bind(next_attempt_at)
        .bind(run_id)
        .execute(&self.pool)
        .await
        .map_err(sql("recording the end of a run"))?;
        Ok(())
    }

    /// One run.
    pub async fn get(&self, run_id: &str) -> Result<Option<RunRecord>, StateError> {
        let row = sqlx::query(concat!(select_run!(), " WHERE run_id = $1"))
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(sql("reading a run"))?;
        row.map(|r| run_of(&r)).transpose()
    }

    /// Runs, newest first, optionally of one status and/or kind.
    pub async fn list(
        &self,
        status: Option<&str>,
        kind: Option<&str>,
        limit: i64,
    ) -> Result<Vec<RunRecord>, StateError> {
        let rows = sqlx::query(concat!(
            select_run!(),
            " WHERE ($1 = '' OR status = $1) AND ($2 = '' OR kind = $2) ORDER BY queued_at DESC, run_id DESC LIMIT $3"
        ))
        .bind(status.unwrap_or(""))
        .bind(kind.unwrap_or(""))
        .bind(limit.clamp(1, 1000))
        .fetch_all(&self.pool)
        .await
        .map_err(sql("listing runs"))?;
        rows.iter().map(run_of).collect()
    }

    /// Asks a run to stop: a queued run will not start, a running one stops at its next
    /// lease renewal. `false` when the run is unknown or already over.
    pub async fn request_cancel(&self, run_id: &str) -> Result<bool, StateError> {
        let r = sqlx::query(
            "UPDATE zt_job_runs SET cancel_requested = 1 WHERE run_id = $1
             AND status NOT IN ('succeeded', 'failed', 'skipped', 'cancelled')",
        )
        .bind(run_id)
        .execute(&self.pool)
        .await
        .map_err(sql("requesting a cancel"))?;
        Ok(r.rows_affected() == 1)
    }

    /// Whether someone asked the run to stop.
    pub async fn cancel_requested(&self, run_id: &str) -> Result<bool, StateError> {
        let r = sqlx::query("SELECT cancel_requested FROM zt_job_runs WHERE run_id = $1")
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(sql("reading a cancel request"))?;
        Ok(r.is_some_and(|r| r.get::<i64, _>(0) != 0))
    }

    /// Takes `target` for `run_id` until now + `ttl_ms`, unless another holder's lease is
    /// still valid. Atomic in both databases (one upsert with a condition).
    pub async fn try_lease(
        &self,
        target: &str,
        run_id: &str,
        holder: &str,
        ttl_ms: i64,
    ) -> Result<Lease, StateError> {
        let now = now_ms();
        let r = sqlx::query(
            "INSERT INTO zt_job_leases (target, holder, run_id, expires_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (target) DO UPDATE SET holder = excluded.holder, run_id = excluded.run_id,
             expires_at = excluded.expires_at WHERE zt_job_leases.expires_at < $5 OR zt_job_leases.holder = $2",
        )
        .bind(target)
        .bind(holder)
        .bind(run_id)
        .bind(now + ttl_ms)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(sql("taking a lease"))?;
        if r.rows_affected() == 1 {
            return Ok(Lease::Acquired);
        }
        let held =
            sqlx::query("SELECT run_id, holder, expires_at FROM zt_job_leases WHERE target = $1")
                .bind(target)
                .fetch_optional(&self.pool)
                .await
                .map_err(sql("reading a lease"))?;
        Ok(match held {
            Some(h) => Lease::Held {
                run_id: h.get(0),
                holder: h.get(1),
                expires_at: h.get(2),
            },
            // Released between the two statements: try again next time.
            None => Lease::Held {
                run_id: String::new(),
                holder: String::new(),
                expires_at: now,
            },
        })
    }

    /// Extends a lease `holder` still holds; `false` when it was lost.
    pub async fn renew(&self, target: &str, holder: &str, ttl_ms: i64) -> Result<bool, StateError> {
        let r = sqlx::query(
            "UPDATE zt_job_leases SET expires_at = $1 WHERE target = $2 AND holder = $3",
        )
        .bind(now_ms() + ttl_ms)
        .bind(target)
        .bind(holder)
        .execute(&self.pool)
        .await
        .map_err(sql("renewing a lease"))?;
        Ok(r.rows_affected() == 1)
    }

    /// Gives a lease back.
    pub async fn release(&self, target: &str, holder: &str) -> Result<(), StateError> {
        sqlx::query("DELETE FROM zt_job_leases WHERE target = $1 AND holder = $2")
            .bind(target)
            .bind(holder)
            .execute(&self.pool)
            .await
            .map_err(sql("releasing a lease"))?;
        Ok(())
    }

    /// Runs still marked running whose target lease has lapsed: their worker died or hangs.
    pub async fn stuck(&self) -> Result<Vec<RunRecord>, StateError> {
        let rows = sqlx::query(concat!(
            select_run!(),
            " WHERE status = 'running' AND NOT EXISTS (
               SELECT 1 FROM zt_job_leases l WHERE l.target = zt_job_runs.target
               AND l.run_id = zt_job_runs.run_id AND l.expires_at >= $1)
             ORDER BY queued_at"
        ))
        .bind(now_ms())
        .fetch_all(&self.pool)
        .await
        .map_err(sql("looking for stuck runs"))?;
        rows.iter().map(run_of).collect()
    }

    /// Adds or replaces a schedule.
    pub async fn put_schedule(
        &self,
        name: &str,
        cron: &str,
        spec: &JobSpec,
        by: &str,
    ) -> Result<(), StateError> {
        sqlx::query(
            "INSERT INTO zt_schedules (name, cron, spec, enabled, created_by, created_at) VALUES ($1, $2, $3, 1, $4, $5)
             ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, spec = excluded.spec, enabled = 1,
             created_by = excluded.created_by, created_at = excluded.created_at",
        )
        .bind(name)
        .bind(cron)
        .bind(serde_json::to_string(spec).unwrap_or_default())
        .bind(by)
        .bind(now_ms())
        .execute(&self.pool)
        .await
        .map_err(sql("saving a schedule"))?;
        Ok(())
    }

    /// Removes a schedule; `false` when there was none.
    pub async fn delete_schedule(&self, name: &str) -> Result<bool, StateError> {
        let r = sqlx::query("DELETE FROM zt_schedules WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(sql("deleting a schedule"))?;
        Ok(r.rows_affected() == 1)
    }

    /// Stored schedules: (name, cron, spec).
    pub async fn schedules(&self) -> Result<Vec<(String, String, JobSpec)>, StateError> {
        let rows = sqlx::query(
            "SELECT name, cron, spec FROM zt_schedules WHERE enabled = 1 ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(sql("reading schedules"))?;
        rows.iter()
            .map(|r| {
                let name: String = r.get(0);
                let spec: String = r.get(2);
                let spec = serde_json::from_str(&spec).map_err(|e| StateError::Corrupt {
                    run_id: format!("schedule {name}"),
                    reason: e.to_string(),
                })?;
                Ok((name, r.get(1), spec))
            })
            .collect()
    }

    /// The pool, for the other runtime tables (alerts) that live beside these.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

fn run_of(r: &AnyRow) -> Result<RunRecord, StateError> {
    let run_id: String = r.get(0);
    let json = |i: usize| -> Result<Option<serde_json::Value>, StateError> {
        let t: Option<String> = r.get(i);
        t.map(|t| {
            serde_json::from_str(&t).map_err(|e| StateError::Corrupt {
                run_id: run_id.clone(),
                reason: e.to_string(),
            })
        })
        .transpose()
    };
    Ok(RunRecord {
        spec: json(3)?.unwrap_or_default(),
        result: json(14)?,
        kind: r.get(1),
        target: r.get(2),
        trigger: r.get(4),
        requested_by: r.get(5),
        status: r.get(6),
        attempts: r.get(7),
        worker: r.get(8),
        queued_at: r.get(9),
        started_at: r.get(10),
        finished_at: r.get(11),
        duration_ms: r.get(12),
        rows: r.get(13),
        error: r.get(15),
        next_attempt_at: r.get(16),
        cancel_requested: r.get::<i64, _>(17) != 0,
        run_id,
    })
}
