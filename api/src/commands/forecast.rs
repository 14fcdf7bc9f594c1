//! `zhongtai forecast`: purchase suggestions from the demand forecast, and `forecast backtest`,
//! the model's error against naive baselines. The work is in `pipelines::forecast`.

use anyhow::Context;
use chrono::NaiveDate;
use pipelines::forecast::{self, BacktestSettings, Request, SuggestSettings};

use crate::config::Config;
use crate::output::{Format, write_batches};

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ForecastArgs {
    #[command(subcommand)]
    pub command: Option<ForecastCommand>,
    /// Only this SKU (repeatable); listed even when nothing is to be ordered.
    #[arg(long = "sku", value_name = "ID")]
    pub skus: Vec<String>,
    /// Days ahead in which an order-by date is looked for.
    #[arg(long, default_value_t = 28)]
    pub horizon_days: u32,
    /// Probability of not running out during a lead time (sets the safety stock).
    #[arg(long, default_value_t = 0.95)]
    pub service_level: f64,
    /// Days between purchasing reviews: an order covers lead time plus this.
    #[arg(long, default_value_t = 7)]
    pub review_days: u32,
    /// Last day of history (YYYY-MM-DD, Asia/Shanghai) [default: the latest order date].
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
    /// Show at most N suggestions (the most urgent).
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, clap::Subcommand)]
pub enum ForecastCommand {
    /// Fit on all but the last days, forecast them, and compare the error (WAPE) with naive
    /// baselines.
    Backtest(BacktestArgs),
}

#[derive(Debug, clap::Args)]
pub struct BacktestArgs {
    /// Days held out at the end of the history.
    #[arg(long, default_value_t = 28)]
    pub holdout_days: usize,
    /// Last day of history [default: the latest order date].
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub async fn run(cfg: &Config, args: &ForecastArgs) -> anyhow::Result<()> {
    let wh = super::open(cfg).await?;
    let mut out = std::io::stdout().lock();
    if let Some(ForecastCommand::Backtest(b)) = &args.command {
        let settings = BacktestSettings {
            holdout_days: b.holdout_days,
            ..BacktestSettings::default()
        };
        let report = forecast::backtest_lake(&wh, b.as_of, &settings)
            .await
            .context("running the forecast backtest")?;
        write_batches(&mut out, &[forecast::backtest_batch(&report)?], b.format)?;
        if b.format == Format::Table {
            println!(
                "fitted {} .. {}, forecast {} .. {} for {} SKUs; wape_vs_naive < 1 means the \
                 model beats the naive baseline",
                report.fit_first,
                report.fit_last,
                report.holdout_first,
                report.holdout_last,
                report.skus
            );
        }
        return Ok(());
    }
    let req = Request {
        skus: args.skus.clone(),
        as_of: args.as_of,
        settings: SuggestSettings {
            service_level: args.service_level,
            horizon_days: args.horizon_days,
            review_days: args.review_days,
            ..SuggestSettings::default()
        },
        ..Request::default()
    };
    let mut rows = forecast::suggestions(&wh, &req)
        .await
        .context("computing purchase suggestions")?;
    if let Some(n) = args.limit {
        rows.truncate(n);
    }
    write_batches(
        &mut out,
        &[forecast::suggestions_batch(&rows)?],
        args.format,
    )
}
