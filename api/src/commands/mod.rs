//! One module per subcommand; each takes its parsed arguments and the resolved config.

pub mod bench_sql;
pub mod connector;
pub mod demo;
pub mod demo_sync;
pub mod forecast;
pub mod import;
pub mod jobs;
pub mod marts;
pub mod metrics;
pub mod query;
pub mod reconcile;
pub mod report;
pub mod serve;
pub mod simulate;
pub mod tables;

use anyhow::Context;
use warehouse::Warehouse;

use crate::config::Config;

/// Opens the lake named by the configuration.
pub(crate) async fn open(cfg: &Config) -> anyhow::Result<Warehouse> {
    Warehouse::open(&cfg.lake)
        .await
        .with_context(|| format!("opening the lake at {}", cfg.lake.url))
}

/// Brings the marts up to date after a write, saying so on stderr when it did work.
pub(crate) async fn refresh_marts(wh: &Warehouse) -> anyhow::Result<()> {
    for r in pipelines::marts::refresh_all(wh)
        .await
        .context("refreshing the marts")?
    {
        if let Some(days) = r.days {
            eprintln!(
                "mart {}: {days} business day(s) recomputed{}",
                r.mart,
                if r.full { " (full rebuild)" } else { "" }
            );
        }
    }
    Ok(())
}
