//! One module per subcommand; each takes its parsed arguments and the resolved config.

pub mod connector;
pub mod demo;
pub mod demo_sync;
pub mod forecast;
pub mod import;
pub mod query;
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
