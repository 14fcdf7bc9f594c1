//! The write half of a sync: one flush's rows into the lake, in order, with the cursor in the
//! last table's commit. Owned (not borrowed) so the engine can run it as a task while it
//! fetches the next pages.
//!
//! Rows whose keys (or groups) the source never wrote are appended; a batch touching an
//! existing key is merged (upsert, or replace-groups for child tables). The key sets are
//! loaded from the lake once per table and kept up to date as flushes commit.

use std::collections::{HashMap, HashSet};

use arrow::array::RecordBatch;
use connectors::stream::{Mapped, Stream, TableRows};
use warehouse::{CommitTag, Warehouse};

use super::engine::{column_text, cursor_id};
use crate::error::Result;

/// Writes flushes of one stream.
#[derive(Debug)]
pub(crate) struct Writer {
    wh: Warehouse,
    tag: CommitTag,
    cursor_id: String,
    cursor_table: String,
    /// Per table: the keys (or groups) already in the lake for the stream's source.
    keys: HashMap<String, HashSet<String>>,
    pub(crate) appended: u64,
    pub(crate) merged: u64,
    pub(crate) rows: HashMap<String, u64>,
}

impl Writer {
    pub(crate) fn new(wh: &Warehouse, connector: &str, stream: &dyn Stream) -> Self {
        Self {
            wh: wh.clone(),
            tag: CommitTag::new(format!("connector:{connector}")),
            cursor_id: cursor_id(connector, stream.name()),
            cursor_table: stream.tables().pop().unwrap_or_default(),
            keys: HashMap::new(),
            appended: 0,
            merged: 0,
            rows: HashMap::new(),
        }
    }

    /// Writes one flush: raw records first, then the mapped tables in order; `cursor` goes
    /// into the cursor table's commit (committed alone if the flush has no rows for it).
    pub(crate) async fn write_flush(
        mut self,
        raw: Option<RecordBatch>,
        mapped: Mapped,
        cursor: Option<i64>,
    ) -> Result<Self> {
        if let Some(batch) = raw {
            self.wh.append("raw_records", &[batch], &self.tag).await?;
        }
        // All tables of a stream carry one `source`; an empty child batch (an order that lost
        // all its lines) takes it from its siblings.
        let mut source = String::new();
        for t in &mapped.tables {
            if let Some(s) = column_text(&t.batch, "source")?.into_iter().next() {
                source = s;
                break;
            }
        }
        let mut wrote_cursor = false;
        for rows in mapped.tables {
            let mut tag = self.tag.clone();
            if rows.table == self.cursor_table {
                tag.app_version = cursor.map(|c| (self.cursor_id.clone(), c));
                wrote_cursor = true;
            }
            self.write(rows, &source, &tag).await?;
        }
        if !wrote_cursor && let Some(c) = cursor {
            // Nothing changed in this window: commit the cursor alone so the next run starts later.
            let mut tag = self.tag.clone();
            tag.app_version = Some((self.cursor_id.clone(), c));
            self.wh
                .appender(&self.cursor_table)
                .await?
                .commit(&tag)
                .await?;
        }
        Ok(self)
    }

    /// Writes one table's rows: appended when none of their keys exists yet, merged otherwise.
    async fn write(&mut self, rows: TableRows, source: &str, tag: &CommitTag) -> Result<()> {
        let TableRows {
            table,
            batch,
            replace,
        } = rows;
        let def = self.wh.def(&table)?;
        let (key_column, keys): (String, Vec<String>) = match &replace {
            Some((col, groups)) => (col.clone(), groups.clone()),
            None if def.primary_key.len() == 1 => {
                let col = def.primary_key[0].to_string();
                let keys = column_text(&batch, &col)?;
                (col, keys)
            }
            // Composite keys: always merge.
            None => (String::new(), Vec::new()),
        };
        let existing = if key_column.is_empty() {
            true
        } else if batch.num_rows() == 0 && replace.is_none() {
            false
        } else {
            if !self.keys.contains_key(&table) {
                let set = self.wh.key_set(&table, &key_column, source).await?;
                self.keys.insert(table.clone(), set);
            }
            let known = &self.keys[&table];
            keys.iter().any(|k| known.contains(k))
        };
        let n = batch.num_rows() as u64;
        if !existing {
            if n == 0 && tag.app_version.is_none() {
                return Ok(());
            }
            self.wh.append(&table, &[batch], tag).await?;
            self.appended += n;
        } else {
            match replace {
                Some((col, groups)) => {
                    self.wh
                        .replace_groups(&table, &col, &groups, &[batch], tag)
                        .await?;
                }
                None => {
                    self.wh.upsert(&table, &[batch], tag).await?;
                }
            }
            self.merged += n;
        }
        if let Some(set) = self.keys.get_mut(&table) {
            set.extend(keys);
        }
        *self.rows.entry(table).or_default() += n;
        Ok(())
    }
}
