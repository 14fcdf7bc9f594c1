//! `zhongtai connector add|list|test|sync|remove`: the connector registry from the shell.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{NaiveDate, NaiveDateTime, Utc};
use connectors::stream::Stream;
use indicatif::{ProgressBar, ProgressStyle};
use pipelines::registry::{self, ConnectorDoc, Registry};
use pipelines::sync::{StreamEvent, SyncOptions, SyncReport, cursor, failed_streams, sync_streams};

use crate::cli::{ConnectorCommand, SyncArgs};
use crate::config::{Config, env_var};

pub async fn run(cfg: &Config, cmd: &ConnectorCommand) -> anyhow::Result<()> {
    let reg = Registry::new(&cfg.data_dir);
    match cmd {
        ConnectorCommand::Add { file, replace } => add(cfg, &reg, file, *replace),
        ConnectorCommand::List => list(cfg, &reg).await,
        ConnectorCommand::Test { name } => test(cfg, &reg, name).await,
        ConnectorCommand::Sync(args) => sync(cfg, &reg, args).await,
        ConnectorCommand::Remove { name } => {
            reg.remove(name)?;
            println!("removed connector {name} (its rows and cursors stay in the lake)");
            Ok(())
        }
    }
}

fn add(cfg: &Config, reg: &Registry, file: &std::path::Path, replace: bool) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let doc = ConnectorDoc::parse(&text, &file.display().to_string())?;
    cfg.secret_policy.check(&doc).map_err(anyhow::Error::msg)?;
    reg.add(&doc, replace)?;
    let missing: Vec<String> = doc
        .secrets
        .iter()
        .filter(|(_, r)| env_var(&r.env).is_none())
        .map(|(k, r)| format!("{k} (${})", r.env))
        .collect();
    println!(
        "registered connector {} (kind {}, streams: {})",
        doc.name,
        doc.kind.as_str(),
        registry::enabled_streams(&doc)?.join(", ")
    );
    if !missing.is_empty() {
        println!(
            "note: these secrets are not set in this environment yet: {}",
            missing.join(", ")
        );
    }
    Ok(())
}

/// The streams of `doc`, reading secrets from this process's environment within the policy.
fn build(
    policy: &registry::SecretPolicy,
    reg: &Registry,
    doc: &ConnectorDoc,
    only: &[String],
) -> anyhow::Result<Vec<Arc<dyn Stream>>> {
    policy.check(doc).map_err(anyhow::Error::msg)?;
    let env = |k: &str| if policy.allows(k) { env_var(k) } else { None };
    Ok(registry::build(doc, &env, reg.tokens(&doc.name), only)?)
}

async fn list(cfg: &Config, reg: &Registry) -> anyhow::Result<()> {
    let docs = reg.list()?;
    if docs.is_empty() {
        println!("no connectors registered; add one with `zhongtai connector add FILE`");
        return Ok(());
    }
    let wh = super::open(cfg).await?;
    for doc in docs {
        println!(
            "{}  kind={}  schedule={}{}",
            doc.name,
            doc.kind.as_str(),
            doc.schedule.as_deref().unwrap_or("-"),
            doc.description
                .as_deref()
                .map(|d| format!("  ({d})"))
                .unwrap_or_default()
        );
        match build(&cfg.secret_policy, reg, &doc, &[]) {
            Ok(streams) => {
                for s in streams {
                    let c = cursor(&wh, &doc.name, s.as_ref()).await?;
                    println!(
                        "  stream {:<16} cursor {}",
                        s.name(),
                        c.map_or_else(|| "never synced".to_string(), |c| c.to_string())
                    );
                }
            }
            Err(e) => println!("  not ready: {e:#}"),
        }
    }
    Ok(())
}

fn shanghai_now() -> NaiveDateTime {
    let now = Utc::now().with_timezone(&vocab::BUSINESS_TZ).naive_local();
    now.with_nanosecond_zero()
}

trait Whole {
    fn with_nanosecond_zero(self) -> Self;
}

impl Whole for NaiveDateTime {
    fn with_nanosecond_zero(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(0).unwrap_or(self)
    }
}

async fn test(cfg: &Config, reg: &Registry, name: &str) -> anyhow::Result<()> {
    let doc = reg.get(name)?;
    let streams = build(&cfg.secret_policy, reg, &doc, &[])?;
    let to = shanghai_now();
    let from = to - chrono::Duration::hours(1);
    let mut failed = 0;
    for s in streams {
        match s.page(from, to, None).await {
            Ok(p) => println!(
                "ok    {:<16} {} record(s) on the first page of the last hour",
                s.name(),
                p.rows.len()
            ),
            Err(e) => {
                failed += 1;
                println!("FAIL  {:<16} {e}", s.name());
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("connector {name}: {failed} stream(s) failed the test");
    }
    Ok(())
}

fn parse_time(text: &str, what: &str) -> anyhow::Result<NaiveDateTime> {
    let t = text.trim();
    if let Ok(d) = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S") {
        return Ok(d);
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .map(|d| d.and_time(chrono::NaiveTime::MIN))
        .with_context(|| format!("--{what} {t:?}: expected YYYY-MM-DD or YYYY-MM-DD HH:MM:SS"))
}

async fn sync(cfg: &Config, reg: &Registry, args: &SyncArgs) -> anyhow::Result<()> {
    let doc = reg.get(&args.name)?;
    let _lock = reg.lock(&doc.name)?;
    let streams = build(&cfg.secret_policy, reg, &doc, &args.streams)?;
    let wh = super::open(cfg).await?;
    let to = match &args.to {
        Some(t) => parse_time(t, "to")?,
        None => shanghai_now(),
    };
    let from = match (&args.from, doc.start_date) {
        (Some(f), _) => parse_time(f, "from")?,
        (None, Some(d)) => d.and_time(chrono::NaiveTime::MIN),
        (None, None) => to - chrono::Duration::days(30),
    };
    if from >= to {
        anyhow::bail!("--from {from} is not before --to {to}");
    }
    let opts = SyncOptions {
        full: args.full,
        window: args
            .window_hours
            .map(|h| Duration::from_secs(h.max(1) * 3600)),
        keep_raw: !args.no_raw,
        ..SyncOptions::new(from, to)
    };
    // Every stream runs: one that fails is reported and the others continue (each commits
    // its own rows and cursor); the command fails at the end, naming the failed streams.
    let bar: std::sync::Mutex<Option<ProgressBar>> = std::sync::Mutex::new(None);
    let bar_of = || {
        bar.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    let events = |e: StreamEvent<'_>| match e {
        StreamEvent::Started(name) => {
            let b = ProgressBar::new(1);
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} {prefix:12} [{bar:30}] {pos}/{len} windows  {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b.set_prefix(name.to_string());
            *bar_of() = Some(b);
        }
        StreamEvent::Progress(r) => {
            if let Some(b) = bar_of().as_ref() {
                b.set_length(r.total_windows.max(1));
                b.set_position(r.windows);
                b.set_message(format!(
                    "{} pages, {} records, waited {:.1} s for the rate limit",
                    r.pages,
                    r.records,
                    r.client.throttle_wait.as_secs_f64()
                ));
            }
        }
        StreamEvent::Finished(name, result) => {
            if let Some(b) = bar_of().take() {
                b.finish_and_clear();
            }
            if let Err(e) = result {
                eprintln!(
                    "FAIL  syncing {} stream {name}: {e} (the other streams continue)",
                    doc.name
                );
            }
        }
    };
    let outcomes = sync_streams(&wh, &doc.name, &streams, &opts, &events).await;
    print_summary(&doc.name, &outcomes);
    let failed = failed_streams(&outcomes);
    if failed.is_empty() {
        return super::refresh_marts(&wh).await;
    }
    // The streams that succeeded committed their rows: the marts follow them all the same.
    if let Err(e) = super::refresh_marts(&wh).await {
        eprintln!("refreshing the marts: {e:#}");
    }
    let details: Vec<String> = failed
        .iter()
        .map(|(s, e)| format!("syncing {} stream {s}: {e}", doc.name))
        .collect();
    anyhow::bail!(
        "connector {}: {} of {} stream(s) failed ({}); the other streams' rows and cursors are committed\n  {}",
        doc.name,
        failed.len(),
        outcomes.len(),
        failed
            .iter()
            .map(|(s, _)| *s)
            .collect::<Vec<_>>()
            .join(", "),
        details.join("\n  ")
    )
}

fn print_summary(name: &str, outcomes: &[(String, pipelines::Result<SyncReport>)]) {
    println!("connector {name}:");
    println!(
        "  {:<14} {:>7} {:>7} {:>9} {:>9} {:>9} {:>11} {:>8} {:>7} {:>12} {:>9}  cursor",
        "stream",
        "windows",
        "pages",
        "records",
        "appended",
        "upserted",
        "quarantined",
        "requests",
        "retries",
        "rate waits",
        "duration"
    );
    for (stream, outcome) in outcomes {
        let r = match outcome {
            Ok(r) => r,
            Err(e) => {
                println!("  {stream:<14} FAILED: {e}");
                continue;
            }
        };
        println!(
            "  {:<14} {:>7} {:>7} {:>9} {:>9} {:>9} {:>11} {:>8} {:>7} {:>5} {:>5.1}s {:>8.1}s  {}",
            r.stream,
            r.windows,
            r.pages,
            r.records,
            r.appended,
            r.merged,
            r.quarantined,
            r.client.requests,
            r.client.retries,
            r.client.throttled,
            r.client.throttle_wait.as_secs_f64(),
            r.elapsed.as_secs_f64(),
            r.cursor.map_or_else(|| "-".into(), |c| c.to_string())
        );
        let mut tables: Vec<_> = r.rows.iter().collect();
        tables.sort();
        let rows: Vec<String> = tables.iter().map(|(t, n)| format!("{t}={n}")).collect();
        println!("  {:<14} rows written: {}", "", rows.join(", "));
        if r.skipped > 0 {
            println!(
                "  {:<14} {} rows kept as they are: another writer (an entry form, an import, a correction) owns their keys",
                "", r.skipped
            );
        }
        if r.quarantined > 0 {
            println!(
                "  {:<14} {} record(s) could not be mapped and were set aside in quarantined_records; the first:",
                "", r.quarantined
            );
            for reason in &r.quarantine_samples {
                println!("  {:<14}   {reason}", "");
            }
        }
    }
}
