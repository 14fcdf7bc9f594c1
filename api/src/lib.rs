//! # api — the top of zhongtai: the `zhongtai` binary's commands, configuration and output
//!
//! Codemap:
//! - `cli`: clap definitions only.
//! - `config`: TOML + env + flags, the only place that reads the environment.
//! - `commands`: one module per subcommand (`demo`, `query`, `import`, `tables`,
//!   `connector`, `simulate`, `reconcile`, `metrics`, `marts`, `forecast`).
//! - `output`: table / CSV / JSON rendering of Arrow batches.
//! - `server`: the axum HTTP server (`zhongtai serve`): state, flush loop, jobs, telemetry.
//! - `routes`: the HTTP handlers and the OpenAPI document.
//! - `auth`: tokens and sessions, roles and the permission matrix, shop scopes.
//! - `store`: the API's SQLite state: journal (group commit), tokens, users, audit log.
//!
//! Entry forms (fields, validation, the rows they write, their lake flush) are
//! `pipelines::forms`; handlers here parse, authorise, journal and encode.

pub mod auth;
pub mod cli;
pub mod commands;
pub mod config;
pub mod dashboards;
pub mod output;
pub mod routes;
pub mod server;
pub mod store;

use cli::{Cli, Command};
use config::{Config, Overrides};

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let cfg = Config::load(&Overrides {
        config: cli.config,
        data_dir: cli.data_dir,
        lake: cli.lake,
    })?;
    tracing::debug!(?cfg, "configuration");
    match &cli.command {
        Command::Demo(a) => commands::demo::run(&cfg, a).await,
        Command::Query(a) => commands::query::run(&cfg, a).await,
        Command::Import(a) => commands::import::run(&cfg, a).await,
        Command::Tables(a) => commands::tables::run(&cfg, a).await,
        Command::Connector(c) => commands::connector::run(&cfg, c).await,
        Command::Simulate(a) => commands::simulate::run(a).await,
        Command::Reconcile(a) => commands::reconcile::run(&cfg, a).await,
        Command::Marts { action } => commands::marts::run(&cfg, action).await,
        Command::BenchSql(a) => commands::bench_sql::run(&cfg, a).await,
        Command::Metrics(a) => commands::metrics::run(&cfg, a).await,
        Command::Report(a) => commands::report::run(&cfg, a).await,
        Command::Forecast(a) => commands::forecast::run(&cfg, a).await,
        Command::Serve(a) => commands::serve::serve(&cfg, a).await,
        Command::Worker(a) => commands::jobs::worker(&cfg, a).await,
        Command::Jobs(c) => commands::jobs::run(&cfg, c).await,
        Command::Token(c) => commands::serve::token(&cfg, c).await,
        Command::User(c) => commands::serve::user(&cfg, c).await,
    }
}
