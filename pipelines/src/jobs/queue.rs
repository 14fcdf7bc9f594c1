//! The durable queue (apalis): the SQLite file `jobs.db` in the data dir by default, or a
//! PostgreSQL database that several `zhongtai worker` processes share.
//!
//! Every attempt is its own queue entry with the idempotency key `{run_id}#{attempt}`; retries
//! are new entries scheduled after a back-off (see `runner`), so apalis' own re-fetch of failed
//! entries is off (`max_attempts = 1`). A worker that dies mid-job leaves its entry `Running`;
//! another worker's heartbeat puts it back (`orphaned after heartbeat × missed`), and the
//! runner's target lease keeps the re-delivery from overlapping the dead attempt.

use std::time::Duration;

use apalis::prelude::{TaskBuilder, TaskSink};
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;

use super::JobError;
use super::spec::JobArgs;
use super::state::JobState;

/// The queue's name in apalis' tables (not the Rust type name, so moving code loses nothing).
pub const QUEUE: &str = "zhongtai.jobs";

/// How often idle workers look for work, and how fast a dead worker's job is taken back.
#[derive(Debug, Clone)]
pub struct QueueTuning {
    pub poll: Duration,
    pub heartbeat: Duration,
    pub missed_heartbeats: usize,
}

impl Default for QueueTuning {
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(500),
            heartbeat: Duration::from_secs(5),
            missed_heartbeats: 3,
        }
    }
}

/// A producer handle on the queue (cheap to clone).
#[derive(Clone)]
pub enum Queue {
    Sqlite(SqliteStorage<JobArgs>),
    Postgres(PostgresStorage<JobArgs>),
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Queue::Sqlite(_) => "Queue(sqlite)",
            Queue::Postgres(_) => "Queue(postgres)",
        })
    }
}

fn backend_err(op: &'static str) -> impl FnOnce(String) -> JobError {
    move |e| JobError::Backend(format!("{op}: {e}"))
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            let user = creds.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..s + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

impl Queue {
    /// Connects to the backend at `url` (`sqlite://PATH` or `postgres://…`), creating apalis'
    /// tables and the runtime's own (run history, leases, schedules).
    pub async fn connect(url: &str, tuning: &QueueTuning) -> Result<(Self, JobState), JobError> {
        let shown = redact_url(url);
        if url.starts_with("sqlite:") {
            let opts: sqlx::sqlite::SqliteConnectOptions = url
                .parse()
                .map_err(|e: sqlx::Error| JobError::Backend(format!("{shown}: {e}")))?;
            let file = opts.get_filename().to_path_buf();
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(opts.create_if_missing(true))
                .await
                .map_err(|e| JobError::Backend(format!("opening {shown}: {e}")))?;
            // Run history and alert states hold business figures: owner only.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600));
            }
            SqliteStorage::<()>::setup(&pool)
                .await
                .map_err(|e| backend_err("setting up the job queue")(e.to_string()))?;
            let cfg = apalis_sqlite::Config::default()
                .queue(QUEUE)
                .batch_size(1)
                .heartbeat_interval(tuning.heartbeat)
                .missed_heartbeats(tuning.missed_heartbeats);
            let q = Queue::Sqlite(SqliteStorage::new(&pool).with_config(cfg));
            let state = JobState::open(url).await?;
            Ok((q, state))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(8)
                .connect(url)
                .await
                .map_err(|e| JobError::Backend(format!("connecting to {shown}: {e}")))?;
            PostgresStorage::<()>::setup(&pool)
                .await
                .map_err(|e| backend_err("setting up the job queue")(e.to_string()))?;
            let cfg = apalis_postgres::Config::default()
                .queue(QUEUE)
                .batch_size(1)
                .heartbeat_interval(tuning.heartbeat)
                .missed_heartbeats(tuning.missed_heartbeats);
            let q = Queue::Postgres(PostgresStorage::new(&pool).with_config(cfg));
            let state = JobState::open(url).await?;
            Ok((q, state))
        } else {
            Err(JobError::Backend(format!(
                "job backend {shown}: use sqlite://PATH or postgres://…"
            )))
        }
    }

    /// Puts one attempt on the queue, to start after `delay` if given.
    pub async fn push(&self, args: &JobArgs, delay: Option<Duration>) -> Result<(), JobError> {
        let mut b = TaskBuilder::new(args.clone())
            .idempotency_key(format!("{}#{}", args.run_id, args.attempt))
            .max_attempts(1);
        if let Some(d) = delay {
            b = b.run_after(d);
        }
        let task = b.build();
        let r = match self {
            Queue::Sqlite(s) => s.clone().push_task(task).await.map_err(|e| e.to_string()),
            Queue::Postgres(s) => s.clone().push_task(task).await.map_err(|e| e.to_string()),
        };
        r.map_err(backend_err("queueing a job"))
    }
}
