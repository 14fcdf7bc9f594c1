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
    /// Register, test and sync platform connectors (Jushuitan, Taobao/Tmall, HTTP manifests).
    #[command(subcommand)]
    Connector(ConnectorCommand),
    /// Serve a simulated platform on loopback, with a generated world (for trials and tests).
    Simulate(SimulateArgs),
    /// Purchase suggestions from the demand forecast; `forecast backtest` scores the model.
    Forecast(crate::commands::forecast::ForecastArgs),
    /// Serve the HTTP API (entry forms, read-only SQL, metrics, reconciliation, connectors, jobs).
    Serve(crate::commands::serve::ServeArgs),
    /// API tokens: `token create --role R [--shops a,b]`, `token list`, `token revoke ID`.
    #[command(subcommand)]
    Token(crate::commands::serve::TokenCommand),
    /// Web UI users: `user add NAME --role R [--shops a,b]` (password on stdin).
    #[command(subcommand)]
    User(crate::commands::serve::UserCommand),
    /// Named business metrics: `metrics list`, or `metrics NAME [--by shop,month] ...`.
    Metrics(MetricsArgs),
    /// Reports (and dashboards) as HTML, PDF or Excel files: `report list`, or
    /// `report NAME --format pdf --from D --to D [--shop ID] -o FILE`.
    Report(ReportArgs),
    /// Run the reconciliation checks into the exception queue, or work the queue.
    Reconcile(ReconcileArgs),
    /// Run queued jobs and schedules (beside `serve`, or on other machines sharing a
    /// PostgreSQL job backend: `[jobs] url` or `$ZHONGTAI_JOBS_URL`).
    Worker(crate::commands::jobs::WorkerArgs),
    /// Job runs: `jobs list`, `jobs show RUN`, `jobs run KIND [--connector C] [--wait]`,
    /// `jobs cancel RUN`.
    #[command(subcommand)]
    Jobs(crate::commands::jobs::JobsCommand),
    /// Bring the marts (small daily aggregates dashboards read) up to date, or list them.
    Marts {
        /// `refresh` (default) or `list`.
        #[arg(default_value = "refresh")]
        action: String,
    },
    /// Time SQL files in one session (for benchmarks; prints one JSON line per execution).
    #[command(hide = true)]
    BenchSql(BenchSqlArgs),
}

#[derive(Debug, clap::Args)]
pub struct BenchSqlArgs {
    /// Files holding one SQL query each; the file stem names the query.
    pub files: Vec<PathBuf>,
    /// Executions of each query.
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
    /// Session options to try, e.g. `--set datafusion.execution.parquet.pushdown_filters=false`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub settings: Vec<String>,
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ReconcileArgs {
    #[command(subcommand)]
    pub action: Option<ReconcileAction>,
    /// Business days in scope: YYYY-MM, YYYY, or YYYY-MM-DD..YYYY-MM-DD [default: all].
    #[arg(long)]
    pub period: Option<String>,
    /// Only this check (repeatable) [default: every check].
    #[arg(long = "check")]
    pub checks: Vec<String>,
    /// Judge ages and grace periods at the end of this day (Asia/Shanghai) [default: today].
    #[arg(long)]
    pub as_of: Option<chrono::NaiveDate>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Print each check's compiled SQL instead of running it.
    #[arg(long)]
    pub print_sql: bool,
}

#[derive(Debug, Subcommand)]
pub enum ReconcileAction {
    /// List the exception queue.
    Breaks(BreaksArgs),
    /// List the checks (built-in and DATA_DIR/checks/*.toml).
    Checks {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Close a break by hand, with a note.
    Resolve(BreakActionArgs),
    /// Accept a break as known: it stays out of the open queue while it persists.
    Ignore(BreakActionArgs),
    /// Put a resolved or ignored break back in the open queue.
    Reopen(BreakActionArgs),
    /// Add a note to a break.
    Note(BreakActionArgs),
    /// A break's history: every run and person that touched it.
    History {
        break_id: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, clap::Args)]
pub struct BreaksArgs {
    /// open | resolved | ignored | all.
    #[arg(long, default_value = "open")]
    pub status: String,
    /// Only this check (repeatable).
    #[arg(long = "check")]
    pub checks: Vec<String>,
    /// Business days: YYYY-MM, YYYY, or YYYY-MM-DD..YYYY-MM-DD.
    #[arg(long)]
    pub period: Option<String>,
    /// Only this shop (repeatable).
    #[arg(long = "shop")]
    pub shops: Vec<String>,
    /// At most this many rows, largest amount at stake first.
    #[arg(long, default_value_t = 100)]
    pub limit: u64,
    /// Count `age_days` from each break's business date to this day (Asia/Shanghai)
    /// [default: today].
    #[arg(long)]
    pub as_of: Option<chrono::NaiveDate>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct BreakActionArgs {
    pub break_id: String,
    /// Why (required for resolve and ignore).
    #[arg(long, default_value = "")]
    pub note: String,
    /// Who is acting, for the audit trail.
    #[arg(long, default_value = "cli")]
    pub by: String,
}

#[derive(Debug, Subcommand)]
pub enum ConnectorCommand {
    /// Register a connector from its TOML document (secrets by env reference only).
    Add {
        file: PathBuf,
        /// Replace a connector of the same name.
        #[arg(long)]
        replace: bool,
    },
    /// List registered connectors with their streams and cursors.
    List,
    /// Check credentials and reachability: read the first page of each stream.
    Test { name: String },
    /// Pull new and changed records into the lake (incremental from the stored cursor).
    Sync(SyncArgs),
    /// Forget a connector and its stored tokens (its rows stay in the lake).
    Remove { name: String },
}

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    pub name: String,
    /// Only these streams (repeatable) [default: the connector's streams].
    #[arg(long = "stream")]
    pub streams: Vec<String>,
    /// Ignore the cursor and read the whole range again.
    #[arg(long)]
    pub full: bool,
    /// Start (Asia/Shanghai): `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS` [default: the cursor, else
    /// the document's start_date, else 30 days ago]. With --to, a backfill of that range.
    #[arg(long)]
    pub from: Option<String>,
    /// End, exclusive (Asia/Shanghai) [default: now].
    #[arg(long)]
    pub to: Option<String>,
    /// Window length in hours [default: the longest the platform allows].
    #[arg(long)]
    pub window_hours: Option<u64>,
    /// Do not keep fetched records in raw_records.
    #[arg(long)]
    pub no_raw: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Platform {
    /// Jushuitan ERP open API.
    Jushuitan,
    /// Taobao / Tmall TOP gateway (one Tmall and one Taobao seller).
    Taobao,
    /// MiniShop, a representative mini-program shop REST backend (for `kind = "http"` manifests).
    Minishop,
    /// Alert receivers: WeCom, DingTalk and Feishu robots that verify signatures, a webhook and
    /// an SMTP sink (for trying `[alerts]` without the real platforms).
    Robots,
}

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    #[arg(value_enum)]
    pub platform: Platform,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8701)]
    pub port: u16,
    /// Orders in the simulated world (generated like `zhongtai demo`).
    #[arg(long, default_value_t = 20_000)]
    pub orders: u64,
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Last business day of the world [default: today].
    #[arg(long)]
    pub end_date: Option<chrono::NaiveDate>,
    /// Turn the platform's rate limits off (benchmarks).
    #[arg(long)]
    pub unlimited: bool,
    /// Write a ready-to-register connector document for this simulator to FILE.
    #[arg(long)]
    pub write_connector: Option<PathBuf>,
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
    /// Write the orders straight into the lake instead of serving them from a Jushuitan
    /// simulator and syncing them through the connector (faster for very large worlds).
    #[arg(long)]
    pub direct: bool,
    /// Plant one anomaly of every kind the reconciliation checks find, and write the breaks
    /// they must cause to DATA_DIR/demo-anomalies.json.
    #[arg(long)]
    pub anomalies: bool,
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

#[derive(Debug, clap::Args)]
pub struct MetricsArgs {
    /// A metric's name, or `list` for every metric.
    pub name: String,
    /// Group by dimensions and at most one time grain (day, month, year), e.g. `shop,month`.
    #[arg(long, value_delimiter = ',')]
    pub by: Vec<String>,
    #[command(flatten)]
    pub period: PeriodArgs,
    /// Only rows whose dimension has this value (repeatable; values of one dimension are
    /// alternatives), e.g. `--filter platform=tmall`.
    #[arg(long = "filter", value_name = "DIMENSION=VALUE")]
    pub filters: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Print the compiled SQL instead of running it.
    #[arg(long)]
    pub sql: bool,
}

/// File formats of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Html,
    Pdf,
    Xlsx,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// A report's name (`list` shows them), or with `--dashboard` a dashboard's id.
    pub name: String,
    #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
    pub format: ReportFormat,
    #[command(flatten)]
    pub period: PeriodArgs,
    /// One of the report's statuses (e.g. open breaks only).
    #[arg(long)]
    pub status: Option<String>,
    /// Only this platform (sections whose metric has a platform dimension).
    #[arg(long)]
    pub platform: Option<String>,
    /// Only this category id (sections whose metric has a category dimension).
    #[arg(long)]
    pub category: Option<String>,
    /// Export the dashboard NAME instead of a report.
    #[arg(long)]
    pub dashboard: bool,
    /// Output file [default: NAME.FORMAT in the current folder].
    #[arg(short = 'o', long)]
    pub output: Option<std::path::PathBuf>,
}

/// The business period and shops a metric or report is computed for.
#[derive(Debug, Clone, clap::Args)]
pub struct PeriodArgs {
    /// First business day (YYYY-MM-DD, Asia/Shanghai), included.
    #[arg(long)]
    pub from: Option<chrono::NaiveDate>,
    /// Last business day (YYYY-MM-DD, Asia/Shanghai), included.
    #[arg(long)]
    pub to: Option<chrono::NaiveDate>,
    /// Only these shops (repeatable, or comma-separated).
    #[arg(long = "shop", value_name = "ID", value_delimiter = ',')]
    pub shops: Vec<String>,
}
