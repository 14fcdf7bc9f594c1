//! A reconciliation run: every selected check's query, merged into the exception queue, in
//! three commits (breaks, then their events, then the run log), and manual actions on breaks.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Decimal128Array, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::NaiveDate;
use warehouse::datafusion::prelude::SessionContext;
use warehouse::{Owner, Warehouse, sql_text};

use super::compile::{Period, compile};
use super::found::read_found;
use super::queue::{self, BreakEvent, BreakRow, MergeCounts, RECON_SOURCE};
use super::spec::CheckSpec;
use crate::error::{PipelineError, Result};
use crate::rows::{TableBuf, table_def};

/// What to run and against which clock.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Checks to run by name; empty: all.
    pub checks: Vec<String>,
    /// Business days in scope; `None`: all time.
    pub period: Option<Period>,
    /// Ages and grace periods are judged at the end of this day (Asia/Shanghai).
    pub as_of: NaiveDate,
}

/// One check's outcome in a run.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    pub check: String,
    pub title: String,
    pub counts: MergeCounts,
    /// Breaks of this check open in the queue after the run (all periods).
    pub open_after: u64,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub run_id: String,
    pub checks: Vec<CheckOutcome>,
}

impl RunReport {
    /// A summary per check, for tables, CSV and JSON.
    pub fn summary(&self) -> Result<RecordBatch> {
        let money = |v: Vec<i128>| -> Result<ArrayRef> {
            Ok(Arc::new(
                Decimal128Array::from(v)
                    .with_precision_and_scale(38, 2)
                    .map_err(|e| PipelineError::Internal(e.to_string()))?,
            ))
        };
        let c = &self.checks;
        let u = |f: &dyn Fn(&CheckOutcome) -> u64| -> ArrayRef {
            Arc::new(UInt64Array::from(c.iter().map(f).collect::<Vec<_>>()))
        };
        let schema = Schema::new(vec![
            Field::new("check", DataType::Utf8, false),
            Field::new("title", DataType::Utf8, false),
            Field::new("found", DataType::UInt64, false),
            Field::new("new", DataType::UInt64, false),
            Field::new("reopened", DataType::UInt64, false),
            Field::new("closed", DataType::UInt64, false),
            Field::new("open_in_queue", DataType::UInt64, false),
            Field::new("amount_at_stake", DataType::Decimal128(38, 2), false),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from_iter_values(
                    c.iter().map(|o| o.check.as_str()),
                )),
                Arc::new(StringArray::from_iter_values(
                    c.iter().map(|o| o.title.as_str()),
                )),
                u(&|o| o.counts.found),
                u(&|o| o.counts.opened),
                u(&|o| o.counts.reopened),
                u(&|o| o.counts.closed),
                u(&|o| o.open_after),
                money(c.iter().map(|o| o.counts.amount_at_stake).collect())?,
            ],
        )
        .map_err(|e| PipelineError::Internal(format!("building the summary: {e}")))
    }
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

fn select<'a>(specs: &'a [CheckSpec], names: &[String]) -> Result<Vec<&'a CheckSpec>> {
    if names.is_empty() {
        return Ok(specs.iter().collect());
    }
    names
        .iter()
        .map(|n| {
            specs
                .iter()
                .find(|s| &s.name == n)
                .ok_or_else(|| PipelineError::Check {
                    check: n.clone(),
                    reason: format!(
                        "no such check; there are: {}",
                        specs
                            .iter()
                            .map(|s| s.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })
        })
        .collect()
}

/// The queue's rows of the given checks (all periods), by break id, read in the run's session.
async fn existing(
    ctx: &SessionContext,
    checks: &[&CheckSpec],
) -> Result<HashMap<String, BreakRow>> {
    let list = checks
        .iter()
        .map(|c| sql_text(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let batches = ctx
        .sql(&format!(
            "SELECT * FROM recon_breaks WHERE check_name IN ({list})"
        ))
        .await
        .map_err(warehouse::WarehouseError::from)?
        .collect()
        .await
        .map_err(warehouse::WarehouseError::from)?;
    Ok(queue::read_breaks(&batches)?
        .into_iter()
        .map(|b| (b.break_id.clone(), b))
        .collect())
}

/// Runs the checks and updates the exception queue. `progress` hears each check's name as it
/// starts.
pub async fn run(
    wh: &Warehouse,
    specs: &[CheckSpec],
    opts: &RunOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<RunReport> {
    let chosen = select(specs, &opts.checks)?;
    let started = now_us();
    let run_id = format!("run-{}", chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ"));
    let ctx = wh.session().await?;
    let mut old = existing(&ctx, &chosen).await?;
    let scope = opts.period;
    let in_scope = move |day: i32| scope.is_none_or(|p| p.contains(queue::date_of(day)));
    let (mut rows, mut events, mut outcomes) = (Vec::new(), Vec::new(), Vec::new());
    let mut run_rows = TableBuf::new(table_def("recon_runs")?, RECON_SOURCE);
    for spec in &chosen {
        progress(&spec.name);
        let check_started = now_us();
        let sql = compile(spec, opts.as_of, opts.period.as_ref());
        let batches = ctx
            .sql(&sql)
            .await
            .map_err(|e| check_err(spec, &e))?
            .collect()
            .await
            .map_err(|e| check_err(spec, &e))?;
        let found = read_found(spec, &batches)?;
        let mine: HashMap<String, BreakRow> = old
            .iter()
            .filter(|(_, b)| b.check_name == spec.name)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let (r, e, counts) = queue::merge(
            &spec.name,
            spec.unit.as_str(),
            found,
            &mine,
            &in_scope,
            &run_id,
            started,
        );
        for b in &r {
            old.insert(b.break_id.clone(), b.clone());
        }
        let open_after = old
            .values()
            .filter(|b| b.check_name == spec.name && b.status == "open")
            .count() as u64;
        rows.extend(r);
        events.extend(e);
        let day = |d: Option<NaiveDate>| d.map(queue_day);
        run_rows
            .text("run_id", &run_id)
            .text("check_name", &spec.name)
            .opt_date("period_from", day(opts.period.map(|p| p.from)))
            .opt_date("period_to", day(opts.period.map(|p| p.to)));
        run_rows
            .date("as_of_date", queue_day(opts.as_of))
            .ts("started_at", check_started)
            .ts("finished_at", now_us());
        run_rows
            .int("found", counts.found as i64)
            .int("opened", counts.opened as i64)
            .int("reopened", counts.reopened as i64);
        run_rows
            .int("closed", counts.closed as i64)
            .money(
                "amount_at_stake",
                i64::try_from(counts.amount_at_stake).unwrap_or(i64::MAX),
            )
            .end();
        outcomes.push(CheckOutcome {
            check: spec.name.clone(),
            title: spec.title.clone(),
            counts,
            open_after,
        });
    }
    let op = |t| wh.write(t, Owner::source(RECON_SOURCE));
    if let Some(b) = queue::breaks_batch(&rows)? {
        op("recon_breaks").upsert(&[b]).await?;
    }
    if let Some(b) = queue::events_batch(&events)? {
        op("recon_break_events").append(&[b]).await?;
    }
    if let Some(b) = run_rows.take() {
        op("recon_runs").append(&[b]).await?;
    }
    Ok(RunReport {
        run_id,
        checks: outcomes,
    })
}

fn check_err(spec: &CheckSpec, e: &dyn std::fmt::Display) -> PipelineError {
    PipelineError::Check {
        check: spec.name.clone(),
        reason: format!("running its query: {e}"),
    }
}

fn queue_day(d: NaiveDate) -> i32 {
    d.signed_duration_since(NaiveDate::default()).num_days() as i32
}

/// What a person does with a break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Closed by a person (fixed outside the data, written off…).
    Resolve,
    /// Known and accepted: stays out of the open queue while it persists.
    Ignore,
    /// Back to open.
    Reopen,
    /// Only a note.
    Note,
}

/// Applies a person's action to one break, with a note, in the queue and its history.
pub async fn act(
    wh: &Warehouse,
    break_id: &str,
    action: Action,
    note: &str,
    by: &str,
) -> Result<BreakRow> {
    let batches = wh
        .query(&format!(
            "SELECT * FROM recon_breaks WHERE break_id = {}",
            sql_text(break_id)
        ))
        .await?;
    let mut row = queue::read_breaks(&batches)?
        .into_iter()
        .next()
        .ok_or_else(|| PipelineError::Recon(format!("no break with id `{break_id}`")))?;
    let now = now_us();
    let event_type = match action {
        Action::Resolve => {
            row.status = "resolved".into();
            row.resolved_at = Some(now);
            row.resolution = Some(format!("manual: {note}"));
            "resolved"
        }
        Action::Ignore => {
            row.status = "ignored".into();
            row.resolved_at = Some(now);
            row.resolution = Some(format!("ignored: {note}"));
            "ignored"
        }
        Action::Reopen => {
            row.status = "open".into();
            row.resolved_at = None;
            row.resolution = None;
            "reopened"
        }
        Action::Note => "noted",
    };
    if !note.is_empty() {
        row.note = Some(note.to_string());
    }
    row.updated_by = by.to_string();
    let event = BreakEvent {
        break_id: row.break_id.clone(),
        event_at: now,
        event_type,
        run_id: None,
        by_whom: by.to_string(),
        kind: row.kind.clone(),
        difference: row.difference,
        note: (!note.is_empty()).then(|| note.to_string()),
    };
    // People's actions keep the queue's one owner; the commit names who acted.
    let op = |t| {
        wh.write(t, Owner::source(RECON_SOURCE))
            .writer(format!("reconcile:{by}"))
    };
    if let Some(b) = queue::breaks_batch(std::slice::from_ref(&row))? {
        op("recon_breaks").upsert(&[b]).await?;
    }
    if let Some(b) = queue::events_batch(&[event])? {
        op("recon_break_events").append(&[b]).await?;
    }
    Ok(row)
}
