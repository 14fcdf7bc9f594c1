//! `zhongtai bench-sql` (hidden): runs SQL files in one DataFusion session over the lake and
//! prints `{"query", "run", "ms", "rows"}` per execution, for `scripts/bench-recon.py`, which
//! compares the same queries on DuckDB. Session setup (opening the Delta tables) is not timed,
//! as DuckDB's view creation is not; each execution plans and runs the query from scratch.

use std::time::Instant;

use anyhow::Context;

use crate::cli::BenchSqlArgs;
use crate::config::Config;

pub async fn run(cfg: &Config, args: &BenchSqlArgs) -> anyhow::Result<()> {
    let mut queries = Vec::new();
    for f in &args.files {
        let sql = std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        let name = f.file_stem().map_or_else(
            || f.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        queries.push((name, sql));
    }
    let wh = super::open(cfg).await?;
    let ctx = wh.session().await?;
    for kv in &args.settings {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("--set {kv}: use KEY=VALUE"))?;
        ctx.sql(&format!("SET {k} = '{v}'"))
            .await
            .with_context(|| format!("--set {kv}"))?;
    }
    for run in 0..args.repeat {
        for (name, sql) in &queries {
            let t = Instant::now();
            let batches = ctx
                .sql(sql)
                .await
                .with_context(|| format!("planning {name}"))?
                .collect()
                .await
                .with_context(|| format!("running {name}"))?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            println!(
                "{}",
                serde_json::json!({"query": name, "run": run, "ms": ms, "rows": rows})
            );
        }
    }
    Ok(())
}
