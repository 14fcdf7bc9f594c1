//! The command line: clap definitions only.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::output::Format;

/// zhongtai — an open e-commerce data hub: orders, money, stock and bills in one lakehouse.
#[derive(Debug, Parser)]
#[command(name = "zhongtai", version, about, long_about = None)]
pub struct Cli {
    /// Config file (TOML). Default: $ZHONGTAI_CONFIG, else ./zhongtai.toml when present.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Folder for local data [default: ./zhongtai-data; env ZHONGTAI_DATA_DIR].
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Lake location: a path or s3://bucket/prefix [default: DATA_DIR/lake; env ZHONGTAI_LAKE_URL].
    #[arg(long, global = true)]
    pub lake: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a realistic seeded shop world and load it into the lake.
    Demo(DemoArgs),
    /// Run read-only SQL over the lake.
    Query(QueryArgs),
    /// Import a CSV, XLSX or Parquet file into a canonical table (all or nothing).
    Import(ImportArgs),
    /// List the canonical tables with rows, versions and sizes.
    Tables(TablesArgs),
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Orders to generate.
    #[arg(long, default_value_t = 200_000)]
    pub orders: u64,
    /// SKUs in the catalog.
    #[arg(long, default_value_t = 3_000)]
    pub skus: usize,
    /// Days of history.
    #[arg(long, default_value_t = 120)]
    pub days: u32,
    /// Last business day (YYYY-MM-DD, Asia/Shanghai) [default: today].
    #[arg(long)]
    pub end_date: Option<chrono::NaiveDate>,
    /// Random seed: the same seed and options give the same world.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Empty every table first if the lake already holds data.
    #[arg(long)]
    pub reset: bool,
}

#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    /// The SQL (SELECT, WITH, EXPLAIN, SHOW, DESCRIBE).
    pub sql: String,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Read a table as of an older version (time travel), e.g. `--as-of orders=3`. Repeatable.
    #[arg(long = "as-of", value_name = "TABLE=VERSION")]
    pub as_of: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub enum Mode {
    /// Add new rows; existing keys are an error.
    #[default]
    Append,
    /// Insert new rows and replace existing ones by primary key.
    Upsert,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Canonical table, e.g. platform_bills.
    pub table: String,
    /// The file: .csv (UTF-8 or GBK), .xlsx or .parquet.
    pub file: PathBuf,
    #[arg(long, value_enum, default_value_t = Mode::Append)]
    pub mode: Mode,
    /// Import the good rows and write the bad ones to FILE.rejects.csv.
    #[arg(long)]
    pub skip_bad_rows: bool,
}

#[derive(Debug, clap::Args)]
pub struct TablesArgs {
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}
