//! `zhongtai reconcile`: run the checks into the exception queue, list it, act on breaks.

use anyhow::{Context, bail};
use chrono::Utc;
use pipelines::recon::{self, Action, Period, RunOptions};
use warehouse::sql_text;

use crate::cli::{BreakActionArgs, BreaksArgs, ReconcileAction, ReconcileArgs};
use crate::config::Config;
use crate::output::{Format, write_batches};

/// Today in Asia/Shanghai.
fn today() -> chrono::NaiveDate {
    Utc::now().with_timezone(&vocab::BUSINESS_TZ).date_naive()
}

pub async fn run(cfg: &Config, args: &ReconcileArgs) -> anyhow::Result<()> {
    match &args.action {
        None => run_checks(cfg, args).await,
        Some(ReconcileAction::Breaks(b)) => breaks(cfg, b).await,
        Some(ReconcileAction::Checks { format }) => checks(cfg, *format),
        Some(ReconcileAction::Resolve(a)) => act(cfg, a, Action::Resolve).await,
        Some(ReconcileAction::Ignore(a)) => act(cfg, a, Action::Ignore).await,
        Some(ReconcileAction::Reopen(a)) => act(cfg, a, Action::Reopen).await,
        Some(ReconcileAction::Note(a)) => act(cfg, a, Action::Note).await,
        Some(ReconcileAction::History { break_id, format }) => {
            history(cfg, break_id, *format).await
        }
    }
}

fn load(cfg: &Config) -> anyhow::Result<Vec<recon::CheckSpec>> {
    Ok(recon::load_checks(Some(&cfg.data_dir.join("checks")))?)
}

async fn run_checks(cfg: &Config, args: &ReconcileArgs) -> anyhow::Result<()> {
    let specs = load(cfg)?;
    let period = args.period.as_deref().map(Period::parse).transpose()?;
    let opts = RunOptions {
        checks: args.checks.clone(),
        period,
        as_of: args.as_of.unwrap_or_else(today),
    };
    if args.print_sql {
        for spec in specs
            .iter()
            .filter(|s| args.checks.is_empty() || args.checks.contains(&s.name))
        {
            println!("-- check: {}", spec.name);
            println!(
                "{};",
                recon::compile(spec, opts.as_of, opts.period.as_ref()).trim()
            );
        }
        return Ok(());
    }
    let wh = super::open(cfg).await?;
    let started = std::time::Instant::now();
    let report = recon::run(&wh, &specs, &opts, &|name| eprintln!("checking {name} ..."))
        .await
        .context("reconciliation run")?;
    write_batches(
        &mut std::io::stdout().lock(),
        &[report.summary()?],
        args.format,
    )?;
    if args.format == Format::Table {
        let open: u64 = report.checks.iter().map(|c| c.open_after).sum();
        println!(
            "run {} in {:.1}s (as of {}); {open} open break(s) in the queue: zhongtai reconcile breaks",
            report.run_id,
            started.elapsed().as_secs_f64(),
            opts.as_of
        );
    }
    Ok(())
}

fn checks(cfg: &Config, format: Format) -> anyhow::Result<()> {
    use std::sync::Arc;

    use arrow::array::StringArray;
    use arrow::datatypes::{DataType, Field, Schema};
    let specs = load(cfg)?;
    let col = |f: &dyn Fn(&recon::CheckSpec) -> String| -> Arc<StringArray> {
        Arc::new(StringArray::from_iter_values(specs.iter().map(f)))
    };
    let fields = [
        "check",
        "title",
        "title_zh",
        "keys",
        "unit",
        "origin",
        "description",
    ];
    let schema = Schema::new(
        fields
            .iter()
            .map(|f| Field::new(*f, DataType::Utf8, false))
            .collect::<Vec<_>>(),
    );
    let batch = arrow::record_batch::RecordBatch::try_new(
        Arc::new(schema),
        vec![
            col(&|s| s.name.clone()),
            col(&|s| s.title.clone()),
            col(&|s| s.title_zh.clone().unwrap_or_default()),
            col(&|s| s.keys.join(", ")),
            col(&|s| s.unit.as_str().to_string()),
            col(&|s| s.origin.clone()),
            col(&|s| {
                s.description
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            }),
        ],
    )?;
    write_batches(&mut std::io::stdout().lock(), &[batch], format)
}

async fn breaks(cfg: &Config, args: &BreaksArgs) -> anyhow::Result<()> {
    let mut filters = Vec::new();
    match args.status.as_str() {
        "all" => {}
        s @ ("open" | "resolved" | "ignored") => filters.push(format!("status = {}", sql_text(s))),
        other => bail!("--status {other}: use open, resolved, ignored or all"),
    }
    if !args.checks.is_empty() {
        let list: Vec<String> = args.checks.iter().map(|c| sql_text(c)).collect();
        filters.push(format!("check_name IN ({})", list.join(", ")));
    }
    if !args.shops.is_empty() {
        let list: Vec<String> = args.shops.iter().map(|c| sql_text(c)).collect();
        filters.push(format!("shop_id IN ({})", list.join(", ")));
    }
    if let Some(p) = &args.period {
        let p = Period::parse(p)?;
        filters.push(format!(
            "break_date >= DATE '{}' AND break_date <= DATE '{}'",
            p.from, p.to
        ));
    }
    let filter = if filters.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", filters.join(" AND "))
    };
    // Age is business time: days from the break's date to the as-of day, so a break dated
    // two years back that a late run finds is two years old, not new.
    let as_of = args.as_of.unwrap_or_else(today);
    let as_of_days = (as_of - chrono::NaiveDate::default()).num_days();
    let sql = format!(
        "SELECT break_id, check_name, kind, status, period, break_date, shop_id, key_values, unit, \
         expected, actual, difference, amount_at_stake, detail, first_seen_at, last_seen_at, \
         ({as_of_days} - CAST(CAST(break_date AS INT) AS BIGINT)) AS age_days, \
         resolution, note, updated_by FROM recon_breaks {filter} \
         ORDER BY amount_at_stake DESC, break_id LIMIT {}",
        args.limit
    );
    let wh = super::open(cfg).await?;
    let batches = wh.query(&sql).await?;
    let shown: usize = batches.iter().map(|b| b.num_rows()).sum();
    let (total, at_stake) = queue_totals(&wh, &filter).await?;
    write_batches(&mut std::io::stdout().lock(), &batches, args.format)?;
    // On stderr, so the rows on stdout stay machine-readable.
    eprintln!(
        "showing {shown} of {total} breaks ({}), amount at stake ¥{at_stake} in all {total}",
        args.status
    );
    Ok(())
}

/// How many breaks match `filter` and their amount at stake, exact (text of the decimal).
async fn queue_totals(wh: &warehouse::Warehouse, filter: &str) -> anyhow::Result<(i64, String)> {
    use arrow::array::{Array, AsArray};
    let batches = wh
        .query(&format!(
            "SELECT count(*) AS n, CAST(coalesce(sum(amount_at_stake), 0) AS VARCHAR) AS s \
             FROM recon_breaks {filter}"
        ))
        .await?;
    let b = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .context("counting the queue returned no row")?;
    let n = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Int64)?;
    let n = n.as_primitive::<arrow::datatypes::Int64Type>();
    let s = arrow::compute::cast(b.column(1), &arrow::datatypes::DataType::Utf8)?;
    let s = s.as_string::<i32>();
    let total = if n.is_valid(0) { n.value(0) } else { 0 };
    Ok((total, s.value(0).to_string()))
}

async fn act(cfg: &Config, args: &BreakActionArgs, action: Action) -> anyhow::Result<()> {
    if matches!(action, Action::Resolve | Action::Ignore | Action::Note)
        && args.note.trim().is_empty()
    {
        bail!("--note is required: say why, for the audit trail");
    }
    let wh = super::open(cfg).await?;
    let row = recon::act(&wh, &args.break_id, action, args.note.trim(), &args.by).await?;
    println!("{} is now {} ({})", row.break_id, row.status, row.kind);
    Ok(())
}

async fn history(cfg: &Config, id: &str, format: Format) -> anyhow::Result<()> {
    let wh = super::open(cfg).await?;
    let batches = wh
        .query(&format!(
            "SELECT event_at, event_type, kind, difference, by_whom, run_id, note \
             FROM recon_break_events WHERE break_id = {} ORDER BY event_at",
            sql_text(id)
        ))
        .await?;
    if batches.iter().all(|b| b.num_rows() == 0) {
        bail!("no break with id `{id}` has any history");
    }
    write_batches(&mut std::io::stdout().lock(), &batches, format)
}
