//! `zhongtai import`: a file into a canonical table, all or nothing.

use pipelines::import::{ImportMode, ImportOptions, import_file};

use crate::cli::{ImportArgs, Mode};
use crate::config::Config;

pub async fn run(cfg: &Config, args: &ImportArgs) -> anyhow::Result<()> {
    let wh = super::open(cfg).await?;
    let opts = ImportOptions {
        mode: match args.mode {
            Mode::Append => ImportMode::Append,
            Mode::Upsert => ImportMode::Upsert,
        },
        skip_bad_rows: args.skip_bad_rows,
    };
    let r = import_file(&wh, &args.table, &args.file, opts).await?;
    println!(
        "imported {} of {} rows into {} (version {} -> {})",
        r.rows_written, r.rows_read, args.table, r.version_before, r.version_after
    );
    if let Some(p) = r.rejects_file {
        println!(
            "{} bad rows were skipped; they are in {}",
            r.rejected,
            p.display()
        );
    }
    super::refresh_marts(&wh).await
}
