//! The write half of a sync: one flush's rows into the lake, the stream's child tables first
//! and its main table last, with the cursor in the main table's commit. Owned (not borrowed) so the engine can run it as a task while it
//! fetches the next pages.
//!
//! The sync writes as its platform's owner (the rows' `source`, e.g. `jushuitan`). Rows whose
//! keys (or parents, for child tables) the owner never wrote, and that no other owner holds,
//! are appended; otherwise the batch is merged: an upsert, or a replace of the re-read
//! parents' children, which removes only this owner's vanished rows. A key another owner
//! holds (a finance entry, a correction) is kept as it is and counted in `skipped`. The key
//! sets are loaded from the lake once per table and kept up to date as flushes commit.

use std::collections::{HashMap, HashSet};

use arrow::array::RecordBatch;
use connectors::stream::{Mapped, Stream, TableRows};
use warehouse::{ForeignRows, Owner, Warehouse};

use super::engine::{column_text, cursor_id};
use crate::error::{PipelineError, Result};

/// What the lake already holds of one table: keys (or parents) of this owner, and keys of
/// every other owner.
#[derive(Debug, Default)]
struct Known {
    own: HashSet<String>,
    foreign: HashSet<String>,
}

/// One flush: what the engine fetched and mapped, ready to be written.
#[derive(Debug)]
pub(crate) struct Flush {
    /// `raw_records` rows of every record fetched.
    pub(crate) raw: Option<RecordBatch>,
    /// `quarantined_records` rows of the records set aside.
    pub(crate) quarantined: Option<RecordBatch>,
    /// The first reasons records were set aside.
    pub(crate) samples: Vec<String>,
    pub(crate) mapped: Mapped,
    /// The cursor to commit with the main table.
    pub(crate) cursor: Option<i64>,
}

/// Writes flushes of one stream.
#[derive(Debug)]
pub(crate) struct Writer {
    wh: Warehouse,
    label: String,
    cursor_id: String,
    cursor_table: String,
    /// The owner of the stream's rows, learnt from the first rows it maps.
    owner: Option<String>,
    known: HashMap<String, Known>,
    pub(crate) appended: u64,
    pub(crate) merged: u64,
    pub(crate) skipped: u64,
    pub(crate) quarantined: u64,
    /// The first reasons records were set aside (at most `quarantine::SAMPLES`).
    pub(crate) samples: Vec<String>,
    pub(crate) rows: HashMap<String, u64>,
}

impl Writer {
    pub(crate) fn new(wh: &Warehouse, connector: &str, stream: &dyn Stream) -> Self {
        Self {
            wh: wh.clone(),
            label: format!("connector:{connector}"),
            cursor_id: cursor_id(connector, stream.name()),
            cursor_table: stream.tables().main,
            owner: None,
            known: HashMap::new(),
            appended: 0,
            merged: 0,
            skipped: 0,
            quarantined: 0,
            samples: Vec::new(),
            rows: HashMap::new(),
        }
    }

    /// Writes one flush: raw records first, then the records set aside, then the mapped child
    /// tables in order, then the main table; `cursor` goes into the main table's commit
    /// (committed alone if the flush has no rows for it). A crash before that commit leaves
    /// the cursor behind everything this flush set aside, so a record is either quarantined
    /// or read again.
    pub(crate) async fn write_flush(mut self, flush: Flush) -> Result<Self> {
        let Flush {
            raw,
            quarantined,
            samples,
            mapped,
            cursor,
        } = flush;
        for (table, batch) in [("raw_records", raw), ("quarantined_records", quarantined)] {
            if let Some(batch) = batch {
                let n = batch.num_rows() as u64;
                self.wh
                    .write(table, Owner::source(self.label.clone()))
                    .writer(&self.label)
                    .append(&[batch])
                    .await?;
                if table == "quarantined_records" {
                    self.quarantined += n;
                    let room = super::quarantine::SAMPLES.saturating_sub(self.samples.len());
                    self.samples.extend(samples.iter().take(room).cloned());
                }
            }
        }
        // All tables of a stream carry one owner; an empty child batch (an order that lost
        // all its lines) takes it from its siblings.
        if self.owner.is_none() {
            for t in &mapped.tables {
                if let Some(s) = column_text(&t.batch, "source")?.into_iter().next() {
                    self.owner = Some(s);
                    break;
                }
            }
        }
        let mut wrote_cursor = false;
        let (main, children): (Vec<TableRows>, Vec<TableRows>) = mapped
            .tables
            .into_iter()
            .partition(|t| t.table == self.cursor_table);
        for rows in children.into_iter().chain(main) {
            let app = if rows.table == self.cursor_table {
                wrote_cursor = true;
                cursor.map(|c| (self.cursor_id.clone(), c))
            } else {
                None
            };
            self.write(rows, app).await?;
        }
        if !wrote_cursor && let Some(c) = cursor {
            // Nothing changed in this window: commit the cursor alone so the next run starts later.
            let owner = self.owner.clone().unwrap_or_else(|| self.label.clone());
            self.wh
                .write(&self.cursor_table, Owner::source(owner))
                .writer(&self.label)
                .app_transaction(self.cursor_id.clone(), c)
                .mark()
                .await?;
        }
        Ok(self)
    }

    /// Writes one table's rows: appended when none of their keys exists yet, merged otherwise.
    async fn write(&mut self, rows: TableRows, app: Option<(String, i64)>) -> Result<()> {
        let TableRows {
            table,
            batch,
            replace,
        } = rows;
        let n = batch.num_rows() as u64;
        let Some(owner) = self.owner.clone() else {
            // No rows in the whole flush so far: nothing to write but the cursor.
            if let Some((id, c)) = app {
                self.wh
                    .write(&table, Owner::source(self.label.clone()))
                    .writer(&self.label)
                    .app_transaction(id, c)
                    .mark()
                    .await?;
            }
            return Ok(());
        };
        let def = self.wh.def(&table)?;
        let parents = match &replace {
            Some((column, parents)) if Some(column.as_str()) == def.parent => Some(parents.clone()),
            Some((column, _)) => {
                return Err(PipelineError::Internal(format!(
                    "the stream replaces `{table}` rows by `{column}`, but the table's parent column is {}",
                    def.parent.map_or("none".to_string(), |p| format!("`{p}`"))
                )));
            }
            None => None,
        };
        // Composite keys: always merge.
        let single_key = (def.primary_key.len() == 1).then(|| def.primary_key[0]);
        let keys = match single_key {
            Some(k) => column_text(&batch, k)?,
            None => Vec::new(),
        };
        let own_probe = match &parents {
            Some(p) => p.clone(),
            None => keys.clone(),
        };
        let must_merge = match single_key {
            None => true,
            Some(_) if n == 0 && parents.is_none() => false,
            Some(k) => {
                if !self.known.contains_key(&table) {
                    let own_col = def.parent.filter(|_| parents.is_some()).unwrap_or(k);
                    let known = Known {
                        own: self.wh.key_set(&table, own_col, &owner, true).await?,
                        foreign: self.wh.key_set(&table, k, &owner, false).await?,
                    };
                    self.known.insert(table.clone(), known);
                }
                let known = &self.known[&table];
                own_probe.iter().any(|p| known.own.contains(p))
                    || keys.iter().any(|k| known.foreign.contains(k))
            }
        };
        let op = self
            .wh
            .write(&table, Owner::source(owner))
            .writer(&self.label)
            .app_transaction_opt(app.clone());
        if !must_merge {
            if n == 0 && app.is_none() {
                return Ok(());
            }
            op.append(&[batch]).await?;
            self.appended += n;
        } else {
            let op = op.foreign_rows(ForeignRows::Keep);
            let report = match parents {
                Some(p) => op.replace_children_of(&p, &[batch]).await?,
                None => op.upsert(&[batch]).await?,
            };
            if report.skipped > 0 {
                tracing::warn!(
                    table = %table,
                    rows = report.skipped,
                    "rows not written: another owner (an entry form, an import, a correction) holds their keys"
                );
            }
            self.skipped += report.skipped;
            self.merged += n - report.skipped.min(n);
        }
        if let Some(known) = self.known.get_mut(&table) {
            known.own.extend(own_probe);
        }
        *self.rows.entry(table).or_default() += n;
        Ok(())
    }
}
