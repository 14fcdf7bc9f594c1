//! Journaled form rows into the lake: the write half of the entry-form flush.
//!
//! The journal itself (durable submissions, which seq was flushed) belongs to the API's store;
//! this module owns what reaches the lake. Each table's commit carries the Delta app
//! transaction `(zhongtai.forms, seq)`: "journal entries up to `seq` are in this table". A
//! flush reads every table's watermark ([`watermarks`]) and [`apply`] writes only the entries
//! past it, so a crash between two tables' commits re-sends nothing twice and loses nothing.
//!
//! Rows are owned by `form:<form name>`; a form never overwrites another owner's row unless it
//! is a correcting form ([`super::FormDef::corrects`]), whose rows supersede the ones they
//! correct.

use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;

use arrow::record_batch::RecordBatch;
use serde_json::Value;
use warehouse::{ForeignRows, Owner, Warehouse, WarehouseError};

use super::build::Built;
use super::defs::FORMS;
use super::lookup::{Row, group_column, key_of};

/// Every form's rows are owned by `form:<form name>`; the flush writes them as that family.
pub use vocab::ids::FORM_OWNERS;
/// The Delta app id of the journal's watermark.
pub use vocab::ids::FORMS_APP_ID as APP_ID;

/// Why journal entries could not reach the lake; the journal keeps them, so the next flush
/// retries.
#[derive(Debug, thiserror::Error)]
pub enum FlushError {
    #[error("flushing entry forms into table `{table}`: {source}")]
    Lake {
        table: String,
        #[source]
        source: WarehouseError,
    },
    #[error("journal entry {seq} is unreadable: {reason}")]
    Entry { seq: i64, reason: String },
}

/// What [`apply`] wrote.
#[derive(Debug, Default, Clone)]
pub struct Applied {
    pub rows: usize,
    /// Rows not written because another writer owns their keys.
    pub skipped: usize,
    pub tables: Vec<String>,
}

/// The journal document of a built submission, as [`apply`] reads it back: the rows per
/// table and the child groups the submission replaces whole.
pub fn entry_document(b: &Built) -> Value {
    serde_json::json!({
        "tables": b.tables.iter().map(|(t, rows)| serde_json::json!({"table": t, "rows": rows})).collect::<Vec<_>>(),
        "replace": b.replace.iter().map(|(t, g)| serde_json::json!({"table": t, "group": g})).collect::<Vec<_>>(),
    })
}

/// The owners of the forms that correct other writers' rows (`FormDef::corrects`).
fn correcting_owners() -> Vec<String> {
    FORMS
        .iter()
        .filter(|f| f.corrects)
        .map(|f| vocab::ids::form_owner(f.name))
        .collect()
}

/// Every table any form writes.
pub fn form_tables() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = FORMS
        .iter()
        .flat_map(|f| f.tables.iter().copied())
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Each form table's watermark: the last journal seq its Delta log says it holds, at least
/// `floor` (what the journal remembers every table reached).
pub async fn watermarks(
    wh: &Warehouse,
    floor: i64,
) -> Result<HashMap<&'static str, i64>, FlushError> {
    let mut marks = HashMap::new();
    for t in form_tables() {
        let w = wh
            .app_version(t, APP_ID)
            .await
            .map_err(|source| FlushError::Lake {
                table: t.into(),
                source,
            })?
            .unwrap_or(0);
        marks.insert(t, w.max(floor));
    }
    Ok(marks)
}

/// Writes journal `entries` (`(seq, document)`, in seq order) into the lake: per table only
/// the entries past its watermark in `marks`, the newest version of each key, one commit per
/// table stamped with the last entry's seq. Marts are refreshed when orders changed.
pub async fn apply(
    wh: &Warehouse,
    entries: &[(i64, String)],
    marks: &HashMap<&'static str, i64>,
) -> Result<Applied, FlushError> {
    let mut applied = Applied::default();
    let Some(&(last, _)) = entries.last() else {
        return Ok(applied);
    };
    // table -> (key -> row), groups replaced
    let mut by_table: BTreeMap<&'static str, (BTreeMap<String, Row>, Vec<String>)> =
        BTreeMap::new();
    for (seq, text) in entries {
        let seq = *seq;
        let doc: Value = serde_json::from_str(text).map_err(|err| FlushError::Entry {
            seq,
            reason: err.to_string(),
        })?;
        let replaced: Vec<(String, String)> = doc["replace"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| {
                Some((
                    r["table"].as_str()?.to_string(),
                    r["group"].as_str()?.to_string(),
                ))
            })
            .collect();
        for t in doc["tables"].as_array().into_iter().flatten() {
            let Some(name) = t["table"].as_str() else {
                continue;
            };
            let Some((&table, &mark)) = marks.get_key_value(name) else {
                return Err(FlushError::Entry {
                    seq,
                    reason: format!("names table {name}, which no form writes"),
                });
            };
            if seq <= mark {
                continue;
            }
            let def = wh.def(table).map_err(|source| FlushError::Lake {
                table: table.into(),
                source,
            })?;
            let slot = by_table.entry(table).or_default();
            for (rt, g) in &replaced {
                if rt == name {
                    // The new version is the whole group: drop older rows of it in this flush.
                    if let Some(col) = group_column(table) {
                        slot.0
                            .retain(|_, r| r.get(col).and_then(Value::as_str) != Some(g));
                    }
                    if !slot.1.contains(g) {
                        slot.1.push(g.clone());
                    }
                }
            }
            for r in t["rows"].as_array().into_iter().flatten() {
                if let Value::Object(m) = r {
                    slot.0.insert(key_of(def, m), m.clone());
                }
            }
        }
    }
    for (table, (rows, groups)) in &by_table {
        let lake = |source| FlushError::Lake {
            table: (*table).into(),
            source,
        };
        // Rows of correcting forms supersede other owners' rows; the others never overwrite
        // one (they are kept and counted): one commit, the policy decided row by row.
        let batch = to_batch(wh, table, rows.values()).map_err(lake)?;
        let op = wh
            .write(table, Owner::Family(FORM_OWNERS.into()))
            .writer("forms")
            .foreign_rows(ForeignRows::Keep)
            .correcting_owners(correcting_owners())
            .app_transaction(APP_ID, last);
        let r = match group_column(table) {
            Some(_) if !groups.is_empty() => op.replace_children_of(groups, &[batch]).await,
            _ => op.upsert(&[batch]).await,
        }
        .map_err(lake)?;
        if r.skipped > 0 {
            tracing::warn!(
                table = %table,
                rows = r.skipped,
                "entry-form rows not written: another writer owns their keys"
            );
        }
        applied.skipped += r.skipped as usize;
        applied.rows += rows.len();
        applied.tables.push((*table).to_string());
    }
    if (by_table.contains_key("orders") || by_table.contains_key("order_items"))
        && let Err(e) = crate::marts::refresh_all(wh).await
    {
        tracing::warn!(error = %e, "refreshing marts after a form flush");
    }
    Ok(applied)
}

/// Rows as one batch of `table`'s schema (arrow-json reads the normalised text exactly).
fn to_batch<'a>(
    wh: &Warehouse,
    table: &str,
    rows: impl Iterator<Item = &'a Row>,
) -> Result<RecordBatch, WarehouseError> {
    let def = wh.def(table)?;
    let mut buf = Vec::new();
    for r in rows {
        serde_json::to_writer(&mut buf, r).map_err(|e| WarehouseError::Schema {
            table: table.into(),
            reason: e.to_string(),
        })?;
        buf.push(b'\n');
    }
    let arrow_err = |source| WarehouseError::Arrow {
        op: "decoding form rows",
        source,
    };
    let reader = arrow::json::ReaderBuilder::new(def.arrow_schema())
        .with_batch_size(1 << 20)
        .build(Cursor::new(buf))
        .map_err(arrow_err)?;
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().map_err(arrow_err)?;
    arrow::compute::concat_batches(&def.arrow_schema(), &batches).map_err(arrow_err)
}
