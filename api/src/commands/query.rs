//! `zhongtai query`: read-only SQL, optionally with tables pinned to older versions.

use std::collections::HashMap;

use anyhow::{Context, bail};

use crate::cli::QueryArgs;
use crate::config::Config;
use crate::output::write_batches;

pub async fn run(cfg: &Config, args: &QueryArgs) -> anyhow::Result<()> {
    let mut versions = HashMap::new();
    for pin in &args.as_of {
        let Some((table, v)) = pin.split_once('=') else {
            bail!("--as-of takes TABLE=VERSION, got `{pin}`")
        };
        let v: u64 = v
            .parse()
            .with_context(|| format!("--as-of {pin}: the version must be a whole number"))?;
        versions.insert(table.to_string(), v);
    }
    // The same limits as the server's /query: depth and size before planning, and the
    // allocating functions capped (the command line is no reason to take a machine down).
    warehouse::guard::check_sql(&args.sql).context("the query was refused")?;
    let wh = super::open(cfg).await?;
    let batches = wh.query_readonly(&args.sql, &versions).await?;
    write_batches(&mut std::io::stdout().lock(), &batches, args.format)
}
