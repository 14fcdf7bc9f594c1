//! The runtime on the embedded backend (SQLite): leases, run history, skipping a busy target,
//! retries with back-off until the attempts run out, and a schedule keeping the lake fresh
//! from the MiniShop simulator without a manual command.

use std::sync::Arc;
use std::time::{Duration, Instant};

use connectors::minishop_sim::{MsConfig, MsState, RunningMiniShop, generate};
use warehouse::Warehouse;

use super::*;

struct Rig {
    dir: tempfile::TempDir,
    env: Arc<JobEnv>,
    stop: tokio::sync::watch::Sender<bool>,
}

fn fast_tuning() -> QueueTuning {
    QueueTuning {
        poll: Duration::from_millis(100),
        heartbeat: Duration::from_secs(2),
        missed_heartbeats: 2,
    }
}

async fn rig(retry: RetryPolicy) -> Rig {
    let dir = tempfile::tempdir().expect("tmp");
    let env = Arc::new(test_env_with(dir.path(), retry, &fast_tuning()).await);
    let (stop, rx) = tokio::sync::watch::channel(false);
    let w = Arc::clone(&env);
    tokio::spawn(async move {
        let _ = run_worker(w, WorkerOptions::named("test", 2, fast_tuning()), rx).await;
    });
    Rig { dir, env, stop }
}

fn manual(spec: JobSpec) -> JobArgs {
    JobArgs {
        run_id: new_run_id(),
        spec,
        trigger: Trigger::Manual,
        requested_by: "test".into(),
        attempt: 1,
    }
}

async fn wait_final(state: &JobState, run_id: &str, within: Duration) -> RunRecord {
    let deadline = Instant::now() + within;
    loop {
        if let Some(r) = state.get(run_id).await.expect("get")
            && FINAL.contains(&r.status.as_str())
        {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "run {run_id} did not finish in {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn leases_exclude_other_holders_and_lapse() {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
    let st = JobState::open(&url).await.expect("state");
    assert_eq!(
        st.try_lease("sync:a", "r1", "w1", 300)
            .await
            .expect("lease"),
        Lease::Acquired
    );
    match st
        .try_lease("sync:a", "r2", "w2", 300)
        .await
        .expect("lease")
    {
        Lease::Held { run_id, holder, .. } => {
            assert_eq!((run_id.as_str(), holder.as_str()), ("r1", "w1"))
        }
        other => panic!("{other:?}"),
    }
    // Other targets are free; the holder may renew; a stranger may not.
    assert_eq!(
        st.try_lease("sync:b", "r2", "w2", 300)
            .await
            .expect("lease"),
        Lease::Acquired
    );
    assert!(st.renew("sync:a", "w1", 300).await.expect("renew"));
    assert!(!st.renew("sync:a", "w2", 300).await.expect("renew"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        st.try_lease("sync:a", "r2", "w2", 300)
            .await
            .expect("lease"),
        Lease::Acquired
    );
    assert!(
        !st.renew("sync:a", "w1", 300).await.expect("renew"),
        "w1 lost it"
    );
}

#[tokio::test]
async fn a_worker_runs_queued_jobs_records_them_and_skips_a_busy_target() {
    let rig = rig(RetryPolicy::default()).await;
    let args = manual(JobSpec::Marts {});
    assert!(
        submit(&rig.env.queue, &rig.env.state, &args)
            .await
            .expect("submit")
    );
    assert!(
        !submit(&rig.env.queue, &rig.env.state, &args)
            .await
            .expect("again"),
        "the same run id is queued once"
    );
    let r = wait_final(&rig.env.state, &args.run_id, Duration::from_secs(60)).await;
    assert_eq!(r.status, "succeeded", "{r:?}");
    assert_eq!(r.attempts, 1);
    assert!(r.duration_ms.is_some() && r.worker.as_deref().is_some_and(|w| w.starts_with("test-")));
    // Someone else holds the marts: the next run is skipped, saying by whom.
    let held = rig
        .env
        .state
        .try_lease("marts", "run-elsewhere", "other-worker", 60_000)
        .await
        .expect("lease");
    assert_eq!(held, Lease::Acquired);
    let args = manual(JobSpec::Marts {});
    submit(&rig.env.queue, &rig.env.state, &args)
        .await
        .expect("submit");
    let r = wait_final(&rig.env.state, &args.run_id, Duration::from_secs(60)).await;
    assert_eq!(r.status, "skipped", "{r:?}");
    assert!(
        r.error
            .as_deref()
            .is_some_and(|e| e.contains("run-elsewhere")),
        "{r:?}"
    );
    // A cancelled run never starts.
    rig.env
        .state
        .release("marts", "other-worker")
        .await
        .expect("release");
    let args = manual(JobSpec::Marts {});
    rig.env.state.record_queued(&args).await.expect("record");
    assert!(
        rig.env
            .state
            .request_cancel(&args.run_id)
            .await
            .expect("cancel")
    );
    rig.env.queue.push(&args, None).await.expect("push");
    let r = wait_final(&rig.env.state, &args.run_id, Duration::from_secs(60)).await;
    assert_eq!(r.status, "cancelled", "{r:?}");
    let listed = rig
        .env
        .state
        .list(None, Some("marts"), 10)
        .await
        .expect("list");
    assert_eq!(listed.len(), 3);
    let _ = rig.stop.send(true);
}

#[tokio::test]
async fn retryable_failures_back_off_and_stop_after_the_last_attempt() {
    let rig = rig(RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(300),
        max_delay: Duration::from_secs(2),
    })
    .await;
    // A registered connector whose sync lock someone holds: "busy" is worth retrying.
    let text = include_str!("../../../examples/connectors/minishop.toml");
    let doc = crate::registry::ConnectorDoc::parse(text, "minishop.toml").expect("doc");
    let reg = crate::registry::Registry::new(rig.dir.path());
    reg.add(&doc, false).expect("add");
    let lock = reg.lock("minishop").expect("lock");
    let args = manual(JobSpec::Sync {
        connector: "minishop".into(),
        days: None,
    });
    submit(&rig.env.queue, &rig.env.state, &args)
        .await
        .expect("submit");
    let r = wait_final(&rig.env.state, &args.run_id, Duration::from_secs(60)).await;
    drop(lock);
    assert_eq!(r.status, "failed", "{r:?}");
    assert_eq!(r.attempts, 3, "{r:?}");
    assert!(
        r.error.as_deref().is_some_and(|e| e.contains("busy")),
        "{r:?}"
    );
    // A permanent failure is not retried.
    let args = manual(JobSpec::Sync {
        connector: "nowhere".into(),
        days: None,
    });
    submit(&rig.env.queue, &rig.env.state, &args)
        .await
        .expect("submit");
    let r = wait_final(&rig.env.state, &args.run_id, Duration::from_secs(60)).await;
    assert_eq!((r.status.as_str(), r.attempts), ("failed", 1), "{r:?}");
    let _ = rig.stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_keeps_the_lake_fresh_without_a_manual_command() {
    let day0 = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("date");
    let sim_state = MsState::new(MsConfig::default().unlimited(), generate(40, 7, day0, 5));
    let sim = RunningMiniShop::start(Arc::clone(&sim_state), 0)
        .await
        .expect("sim");
    let rig = rig(RetryPolicy::default()).await;
    let period = 3;
    let text = include_str!("../../../examples/connectors/minishop.toml")
        .replace("http://127.0.0.1:7302", &sim.base_url())
        .replace(
            "schedule = \"*/15 * * * *\"",
            &format!("schedule = \"*/{period} * * * * *\""),
        )
        .replace("start_date = \"2026-11-01\"", "start_date = \"2026-11-25\"");
    let doc = crate::registry::ConnectorDoc::parse(&text, "minishop.toml").expect("doc");
    crate::registry::Registry::new(rig.dir.path())
        .add(&doc, false)
        .expect("add");
    let sched = Scheduler::new(Arc::clone(&rig.env), Vec::new());
    let stop = rig.stop.subscribe();
    tokio::spawn(sched.run(stop));
    // An order changed in the simulator "now" must reach the lake by itself.
    let freight = |wh: &Warehouse| {
        let wh = wh.clone();
        async move {
            let b = wh
                .query("SELECT CAST(freight_amount AS VARCHAR) FROM orders WHERE order_id = 'ms:100000001'")
                .await
                .expect("query");
            b.first().filter(|b| b.num_rows() > 0).map(|b| {
                use arrow::array::AsArray;
                let c = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8)
                    .expect("cast");
                c.as_string::<i32>().value(0).to_string()
            })
        }
    };
    // First the schedule's own first sync, with no command from us.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let runs = rig
            .env
            .state
            .list(Some("succeeded"), Some("sync"), 5)
            .await
            .expect("runs");
        if !runs.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "no scheduled sync succeeded");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_ne!(freight(&rig.env.wh).await.as_deref(), Some("987.65"));
    let now = chrono::Utc::now().timestamp();
    assert!(sim_state.world.modify(1, now, |o| o.freight = 98_765));
    let changed = Instant::now();
    let deadline = changed + Duration::from_secs(period * 2 + 30);
    loop {
        if freight(&rig.env.wh).await.as_deref() == Some("987.65") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the change did not reach the lake"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let took = changed.elapsed();
    let runs = rig
        .env
        .state
        .list(None, Some("sync"), 50)
        .await
        .expect("runs");
    assert!(
        runs.iter()
            .any(|r| r.trigger == "schedule" && r.status == "succeeded"),
        "{runs:?}"
    );
    assert!(
        runs.iter()
            .all(|r| r.run_id.starts_with("sched-sync-minishop-")),
        "{runs:?}"
    );
    eprintln!("change visible after {took:?} (schedule period {period} s)");
    let _ = rig.stop.send(true);
}
