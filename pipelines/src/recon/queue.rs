//! The exception queue: `recon_breaks` (one row per break identity, its current state),
//! `recon_break_events` (append-only history) and `recon_runs` (what each run did).
//!
//! [`merge`] is pure: given what a run found and what the queue held, it decides every row to
//! write and every event to log. A break found again keeps its id and `first_seen_at`; an open
//! (or ignored) break in the run's scope that the run no longer finds is resolved automatically
//! with the reason; a resolved break found again is reopened; an ignored one stays ignored.

use std::collections::HashMap;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Date32Type, Decimal128Type, TimestampMicrosecondType};

use super::found::Found;
use crate::error::{PipelineError, Result};
use crate::rows::{TableBuf, table_def};

/// Where writes of the queue say they came from.
pub(crate) use vocab::ids::RECON_OWNER as RECON_SOURCE;

/// A row of `recon_breaks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakRow {
    pub break_id: String,
    pub check_name: String,
    pub kind: String,
    pub period: String,
    pub break_date: i32,
    pub shop_id: Option<String>,
    pub key_values: String,
    pub unit: String,
    pub expected: Option<i128>,
    pub actual: Option<i128>,
    pub difference: i128,
    pub amount_at_stake: i128,
    pub detail: Option<String>,
    pub status: String,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
    pub resolved_at: Option<i64>,
    pub resolution: Option<String>,
    pub note: Option<String>,
    pub updated_by: String,
}

/// A row of `recon_break_events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BreakEvent {
    pub break_id: String,
    pub event_at: i64,
    pub event_type: &'static str,
    pub run_id: Option<String>,
    pub by_whom: String,
    pub kind: String,
    pub difference: i128,
    pub note: Option<String>,
}

/// What one check's merge did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MergeCounts {
    pub found: u64,
    pub opened: u64,
    pub reopened: u64,
    pub closed: u64,
    /// Sum of `amount_at_stake` of the breaks found, in fen.
    pub amount_at_stake: i128,
}

/// `YYYY-MM` of a day number.
pub(crate) fn period_of(day: i32) -> String {
    date_of(day).format("%Y-%m").to_string()
}

pub(crate) fn date_of(day: i32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_num_days_from_ce_opt(day + 719_163).unwrap_or_default()
}

/// Decides the queue rows and events for one check's run.
///
/// `existing` is the queue's rows of this check; `in_scope` tells whether a day is in the
/// run's period (breaks outside it are neither closed nor touched).
pub(crate) fn merge(
    check: &str,
    unit: &str,
    found: Vec<Found>,
    existing: &HashMap<String, BreakRow>,
    in_scope: &dyn Fn(i32) -> bool,
    run_id: &str,
    now: i64,
) -> (Vec<BreakRow>, Vec<BreakEvent>, MergeCounts) {
    let mut rows = Vec::new();
    let mut events = Vec::new();
    let mut counts = MergeCounts::default();
    let event = |b: &BreakRow, t: &'static str, note: Option<String>| BreakEvent {
        break_id: b.break_id.clone(),
        event_at: now,
        event_type: t,
        run_id: Some(run_id.to_string()),
        by_whom: run_id.to_string(),
        kind: b.kind.clone(),
        difference: b.difference,
        note,
    };
    let mut found_ids = std::collections::HashSet::new();
    for f in found {
        counts.found += 1;
        counts.amount_at_stake += f.amount_at_stake;
        found_ids.insert(f.id.clone());
        let old = existing.get(&f.id);
        let mut row = BreakRow {
            break_id: f.id,
            check_name: check.to_string(),
            kind: f.kind,
            period: period_of(f.break_date),
            break_date: f.break_date,
            shop_id: f.shop_id,
            key_values: f.key_values,
            unit: unit.to_string(),
            expected: f.expected,
            actual: f.actual,
            difference: f.difference,
            amount_at_stake: f.amount_at_stake,
            detail: f.detail,
            status: "open".into(),
            first_seen_at: now,
            last_seen_at: now,
            resolved_at: None,
            resolution: None,
            note: None,
            updated_by: run_id.to_string(),
        };
        match old {
            None => {
                counts.opened += 1;
                events.push(event(&row, "opened", None));
            }
            Some(old) => {
                row.first_seen_at = old.first_seen_at;
                row.note = old.note.clone();
                match old.status.as_str() {
                    "resolved" => {
                        counts.reopened += 1;
                        events.push(event(&row, "reopened", old.resolution.clone()));
                    }
                    "ignored" => {
                        row.status = "ignored".into();
                        row.resolved_at = old.resolved_at;
                        row.resolution = old.resolution.clone();
                        row.updated_by = old.updated_by.clone();
                    }
                    _ => {}
                }
                if old.status != "resolved"
                    && (old.kind != row.kind || old.difference != row.difference)
                {
                    events.push(event(
                        &row,
                        "changed",
                        Some(format!(
                            "was {} with difference {}",
                            old.kind, old.difference
                        )),
                    ));
                }
            }
        }
        rows.push(row);
    }
    let mut gone: Vec<&BreakRow> = existing
        .values()
        .filter(|b| {
            b.status != "resolved" && !found_ids.contains(&b.break_id) && in_scope(b.break_date)
        })
        .collect();
    gone.sort_by(|a, b| a.break_id.cmp(&b.break_id));
    for old in gone {
        counts.closed += 1;
        let reason = format!("auto: no longer found by run {run_id}");
        let mut row = old.clone();
        row.status = "resolved".into();
        row.resolved_at = Some(now);
        row.resolution = Some(reason.clone());
        row.updated_by = run_id.to_string();
        events.push(event(&row, "resolved", Some(reason)));
        rows.push(row);
    }
    (rows, events, counts)
}

fn fen(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// The rows as a `recon_breaks` batch.
pub(crate) fn breaks_batch(rows: &[BreakRow]) -> Result<Option<RecordBatch>> {
    let mut b = TableBuf::new(table_def("recon_breaks")?, RECON_SOURCE);
    for r in rows {
        b.text("break_id", &r.break_id)
            .text("check_name", &r.check_name)
            .text("kind", &r.kind)
            .text("period", &r.period)
            .date("break_date", r.break_date);
        b.opt_text("shop_id", r.shop_id.as_deref())
            .text("key_values", &r.key_values)
            .text("unit", &r.unit);
        b.opt_money("expected", r.expected.map(fen))
            .opt_money("actual", r.actual.map(fen))
            .money("difference", fen(r.difference))
            .money("amount_at_stake", fen(r.amount_at_stake))
            .opt_text("detail", r.detail.as_deref());
        b.text("status", &r.status)
            .ts("first_seen_at", r.first_seen_at)
            .ts("last_seen_at", r.last_seen_at)
            .opt_ts("resolved_at", r.resolved_at);
        b.opt_text("resolution", r.resolution.as_deref())
            .opt_text("note", r.note.as_deref())
            .text("updated_by", &r.updated_by)
            .end();
    }
    Ok(b.take())
}

/// The events as a `recon_break_events` batch.
pub(crate) fn events_batch(events: &[BreakEvent]) -> Result<Option<RecordBatch>> {
    let mut b = TableBuf::new(table_def("recon_break_events")?, RECON_SOURCE);
    for e in events {
        b.text("break_id", &e.break_id)
            .ts("event_at", e.event_at)
            .text("event_type", e.event_type)
            .opt_text("run_id", e.run_id.as_deref());
        b.text("by_whom", &e.by_whom)
            .text("kind", &e.kind)
            .money("difference", fen(e.difference))
            .opt_text("note", e.note.as_deref())
            .end();
    }
    Ok(b.take())
}

/// Reads `recon_breaks` rows (all columns, as written by [`breaks_batch`]).
pub(crate) fn read_breaks(batches: &[RecordBatch]) -> Result<Vec<BreakRow>> {
    let mut out = Vec::new();
    for b in batches.iter().filter(|b| b.num_rows() > 0) {
        let col = |n: &str| {
            b.column_by_name(n)
                .cloned()
                .ok_or_else(|| PipelineError::Recon(format!("recon_breaks has no {n}")))
        };
        let text = |n: &str| crate::rows::strings(col(n)?.as_ref());
        let money = |n: &str| -> Result<Vec<Option<i128>>> {
            let c = col(n)?;
            let d = c.as_primitive_opt::<Decimal128Type>().ok_or_else(|| {
                PipelineError::Recon(format!("recon_breaks.{n} is not a decimal"))
            })?;
            Ok((0..d.len())
                .map(|i| d.is_valid(i).then(|| d.value(i)))
                .collect())
        };
        let ts = |n: &str| -> Result<Vec<Option<i64>>> {
            let c = col(n)?;
            let t = c
                .as_primitive_opt::<TimestampMicrosecondType>()
                .ok_or_else(|| {
                    PipelineError::Recon(format!("recon_breaks.{n} is not a timestamp"))
                })?;
            Ok((0..t.len())
                .map(|i| t.is_valid(i).then(|| t.value(i)))
                .collect())
        };
        let dates = col("break_date")?;
        let dates = dates
            .as_primitive_opt::<Date32Type>()
            .ok_or_else(|| PipelineError::Recon("recon_breaks.break_date is not a date".into()))?;
        let (id, check, kind, period) = (
            text("break_id")?,
            text("check_name")?,
            text("kind")?,
            text("period")?,
        );
        let (shop, keys, unit, detail) = (
            text("shop_id")?,
            text("key_values")?,
            text("unit")?,
            text("detail")?,
        );
        let (status, resolution, note, by) = (
            text("status")?,
            text("resolution")?,
            text("note")?,
            text("updated_by")?,
        );
        let (expected, actual, diff, stake) = (
            money("expected")?,
            money("actual")?,
            money("difference")?,
            money("amount_at_stake")?,
        );
        let (first, last, resolved) = (
            ts("first_seen_at")?,
            ts("last_seen_at")?,
            ts("resolved_at")?,
        );
        for i in 0..b.num_rows() {
            out.push(BreakRow {
                break_id: id[i].clone().unwrap_or_default(),
                check_name: check[i].clone().unwrap_or_default(),
                kind: kind[i].clone().unwrap_or_default(),
                period: period[i].clone().unwrap_or_default(),
                break_date: dates.value(i),
                shop_id: shop[i].clone(),
                key_values: keys[i].clone().unwrap_or_default(),
                unit: unit[i].clone().unwrap_or_default(),
                expected: expected[i],
                actual: actual[i],
                difference: diff[i].unwrap_or(0),
                amount_at_stake: stake[i].unwrap_or(0),
                detail: detail[i].clone(),
                status: status[i].clone().unwrap_or_default(),
                first_seen_at: first[i].unwrap_or(0),
                last_seen_at: last[i].unwrap_or(0),
                resolved_at: resolved[i],
                resolution: resolution[i].clone(),
                note: note[i].clone(),
                updated_by: by[i].clone().unwrap_or_default(),
            });
        }
    }
    Ok(out)
}
