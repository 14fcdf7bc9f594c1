//! `zhongtai worker` (run queued jobs and schedules, alone or beside others on a shared
//! PostgreSQL backend) and `zhongtai jobs list|show|run|cancel` (straight against the backend;
//! no server needed).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use pipelines::jobs::{FINAL, JobArgs, JobSpec, RunRecord, Trigger, new_run_id, submit};

use crate::config::Config;
use crate::server::jobs::{self as rt, SecretCache};
use crate::server::signalled;
use crate::store::Store;

/// `worker` arguments.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Attempts run at once by this worker.
    #[arg(long, default_value_t = 2)]
    pub concurrency: usize,
    /// Do not queue scheduled runs from this process (another process does).
    #[arg(long)]
    pub no_scheduler: bool,
}

/// `jobs` subcommands.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Recent runs, newest first.
    List {
        /// queued | running | retrying | succeeded | failed | skipped | cancelled
        #[arg(long)]
        status: Option<String>,
        /// sync | marts | reconcile | alerts
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One run in full (JSON).
    Show { run_id: String },
    /// Queue a run: `jobs run sync --connector NAME`, `jobs run marts`, `jobs run reconcile`,
    /// `jobs run alerts`.
    Run {
        /// sync | marts | reconcile | alerts
        kind: String,
        #[arg(long)]
        connector: Option<String>,
        /// First-sync look-back in days (when the connector has no start_date).
        #[arg(long)]
        days: Option<i64>,
        /// Reconciliation check (repeatable) or alert rule (repeatable).
        #[arg(long = "only")]
        only: Vec<String>,
        /// Reconciliation period: YYYY-MM or YYYY-MM-DD..YYYY-MM-DD.
        #[arg(long)]
        period: Option<String>,
        /// Run it here and now, through the same runner (lease, history, retries queued),
        /// instead of waiting for a worker.
        #[arg(long)]
        inline: bool,
        /// Wait for the run to finish and print it; exit non-zero when it failed.
        #[arg(long)]
        wait: bool,
    },
    /// Ask a run to stop (queued: never starts; running: stops at its next lease renewal).
    Cancel { run_id: String },
}

type Env = (
    Arc<pipelines::jobs::JobEnv>,
    Arc<SecretCache>,
    Option<Store>,
);

async fn env(cfg: &Config) -> anyhow::Result<Env> {
    let wh = super::open(cfg).await?;
    let secrets = Arc::new(SecretCache::new(cfg.secret_policy.clone()));
    // Secrets set through the API live in api.db beside the lake; a worker elsewhere uses env.
    let store = Store::open(&cfg.data_dir.join("api.db")).await.ok();
    if let Some(store) = &store {
        let _ = secrets.reload(store).await;
    }
    let principals = store
        .clone()
        .map(|s| (s, crate::server::state::QueryLimits::default()));
    let env = rt::open(wh, &cfg.data_dir, &cfg.jobs, secrets.lookup(), principals)
        .await
        .context("opening the job backend")?;
    Ok((env, secrets, store))
}

pub async fn worker(cfg: &Config, a: &WorkerArgs) -> anyhow::Result<()> {
    let (env, secrets, store) = env(cfg).await?;
    let mut setup = cfg.jobs.clone();
    setup.workers = a.concurrency.max(1);
    setup.scheduler = !a.no_scheduler;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let tasks = rt::spawn(&env, &setup, "worker", &stop_rx);
    // Pick up secrets set through the API meanwhile.
    if let Some(store) = store {
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(30)).await;
                let _ = secrets.reload(&store).await;
            }
        });
    }
    // Tests and scripts read this line.
    println!(
        "worker ready on {}",
        pipelines::jobs::redact_url(&setup.url_for(&cfg.data_dir))
    );
    signalled().await;
    eprintln!("worker stopping: finishing the attempts it holds");
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

fn time(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| {
            t.with_timezone(&vocab::BUSINESS_TZ)
                .format("%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_else(|| "-".into())
}

fn line(r: &RunRecord) -> String {
    format!(
        "{:<40} {:<22} {:<10} {:>3} {:>14} {:>9} {:>8}  {}",
        r.run_id,
        r.target,
        r.status,
        r.attempts,
        time(r.started_at.or(Some(r.queued_at))),
        r.duration_ms
            .map(|d| format!("{:.1}s", d as f64 / 1000.0))
            .unwrap_or_else(|| "-".into()),
        r.rows.map(|n| n.to_string()).unwrap_or_else(|| "-".into()),
        r.error.as_deref().unwrap_or("")
    )
}

pub async fn run(cfg: &Config, c: &JobsCommand) -> anyhow::Result<()> {
    let (env, _, _) = env(cfg).await?;
    match c {
        JobsCommand::List {
            status,
            kind,
            limit,
            json,
        } => {
            let runs = env
                .state
                .list(status.as_deref(), kind.as_deref(), *limit)
                .await?;
            if *json {
                for r in &runs {
                    println!("{}", serde_json::to_string(r)?);
                }
            } else {
                println!(
                    "{:<40} {:<22} {:<10} {:>3} {:>14} {:>9} {:>8}  error",
                    "run", "target", "status", "try", "started", "took", "rows"
                );
                for r in &runs {
                    println!("{}", line(r));
                }
                if runs.is_empty() {
                    eprintln!("no runs yet");
                }
            }
        }
        JobsCommand::Show { run_id } => match env.state.get(run_id).await? {
            Some(r) => println!("{}", serde_json::to_string_pretty(&r)?),
            None => bail!("no job run {run_id:?}"),
        },
        JobsCommand::Run {
            kind,
            connector,
            days,
            only,
            period,
            inline,
            wait,
        } => {
            let spec = match kind.as_str() {
                "sync" => JobSpec::Sync {
                    connector: connector
                        .clone()
                        .context("`jobs run sync` needs --connector NAME")?,
                    days: *days,
                },
                "marts" => JobSpec::Marts {},
                "reconcile" => JobSpec::Reconcile {
                    checks: only.clone(),
                    period: period.clone(),
                },
                "alerts" => JobSpec::Alerts {
                    rules: only.clone(),
                },
                other => bail!("unknown job kind {other:?}; kinds: sync, marts, reconcile, alerts"),
            };
            let args = JobArgs {
                run_id: new_run_id(),
                spec,
                trigger: Trigger::Manual,
                requested_by: "cli".into(),
                attempt: 1,
            };
            if *inline {
                args.spec.validate().map_err(anyhow::Error::msg)?;
                env.state.record_queued(&args).await?;
                pipelines::jobs::run_attempt(&env, &args, &format!("cli-{}", std::process::id()))
                    .await?;
            } else {
                submit(&env.queue, &env.state, &args).await?;
                eprintln!("queued {}", args.run_id);
            }
            if *wait || *inline {
                let r = loop {
                    let r = env
                        .state
                        .get(&args.run_id)
                        .await?
                        .context("the run vanished")?;
                    if FINAL.contains(&r.status.as_str()) || (*inline && r.status == "retrying") {
                        break r;
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                };
                println!("{}", serde_json::to_string_pretty(&r)?);
                if r.status != "succeeded" {
                    bail!(
                        "run {} {}: {}",
                        r.run_id,
                        r.status,
                        r.error.unwrap_or_default()
                    );
                }
            } else {
                println!("{}", args.run_id);
            }
        }
        JobsCommand::Cancel { run_id } => {
            if env.state.request_cancel(run_id).await? {
                eprintln!("cancel requested for {run_id}");
            } else {
                bail!("no unfinished run {run_id:?}");
            }
        }
    }
    Ok(())
}
