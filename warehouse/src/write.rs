//! Writes to the lake. Every write is one ACID Delta commit:
//!
//! - [`Appender`] streams any number of batches into Parquet files and makes them visible in a
//!   single commit at [`Appender::commit`]. Dropped without commit, nothing becomes visible
//!   (the files it wrote are unreferenced and removed by `VACUUM`), so a failed import or a
//!   crash mid-load commits nothing partial. Memory stays bounded by the row-group size.
//! - [`Warehouse::upsert`] MERGEs rows by primary key: changed rows replace the old ones,
//!   new rows are inserted, nothing is doubled.
//!
//! A [`CommitTag`] records who wrote the commit and, optionally, an application version (a
//! sync cursor) stored in the same commit as the data.

use std::collections::HashSet;

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::SessionContext;
use deltalake::DeltaTable;
use deltalake::kernel::Transaction;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::parquet::file::properties::WriterProperties;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};

use crate::conform::conform;
use crate::error::{Result, WarehouseError};
use crate::lake::Warehouse;
use crate::schema::TableDef;
use crate::write_lock::{self, WriteGuard};

/// Rows per Parquet row group: small enough to bound memory with many tables open at once.
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// What is recorded with a commit.
#[derive(Debug, Clone, Default)]
pub struct CommitTag {
    /// Who wrote the rows: a connector, `import:<file>`, `demo`, an entry form.
    pub source: String,
    /// Optional `(app_id, version)` committed atomically with the data (Delta `txn` action).
    pub app_version: Option<(String, i64)>,
}

impl CommitTag {
    /// A tag naming only the writer.
    pub fn new(source: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            app_version: None,
        }
    }

    fn properties(&self) -> CommitProperties {
        let meta = [(
            "zhongtai.source".to_string(),
            serde_json::Value::from(self.source.clone()),
        )];
        let mut p = CommitProperties::default().with_metadata(meta);
        if let Some((app, v)) = &self.app_version {
            p = p.with_application_transaction(Transaction::new(app, *v));
        }
        p
    }
}

/// The outcome of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteReport {
    /// Table version after the commit.
    pub version: u64,
    /// Rows written (appended, or inserted + updated).
    pub rows: u64,
}

/// Streams batches into one table and commits them at once.
pub struct Appender {
    def: &'static TableDef,
    table: DeltaTable,
    writer: RecordBatchWriter,
    rows: u64,
    /// This table's write lock, held until the commit (or until dropped uncommitted).
    _lock: WriteGuard,
}

impl std::fmt::Debug for Appender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Appender")
            .field("table", &self.def.name)
            .field("rows", &self.rows)
            .finish()
    }
}

impl Appender {
    /// Conforms and writes one batch (not yet visible to readers).
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let batch = conform(self.def, batch)?;
        self.rows += batch.num_rows() as u64;
        self.writer
            .write(batch)
            .await
            .map_err(WarehouseError::delta("writing", self.def.name))
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Makes everything written visible in one commit.
    pub async fn commit(mut self, tag: &CommitTag) -> Result<WriteReport> {
        let name = self.def.name;
        // An empty commit is skipped, unless it carries an application version (a sync cursor
        // that moves past a window with no rows).
        if self.rows == 0 && tag.app_version.is_none() {
            return Ok(WriteReport {
                version: self.table.version().unwrap_or(0),
                rows: 0,
            });
        }
        let mut writer = self.writer.with_commit_properties(tag.properties());
        let version = writer
            .flush_and_commit(&mut self.table)
            .await
            .map_err(WarehouseError::delta("committing", name))?;
        Ok(WriteReport {
            version,
            rows: self.rows,
        })
    }
}

impl Warehouse {
    /// Waits until no other writer in this process is writing `table`.
    async fn write_lock(&self, table: &str) -> Result<WriteGuard> {
        self.def(table)?;
        Ok(write_lock::lock(self.location().table_url(table).as_str()).await)
    }

    /// Starts a streaming append to `table`. Other writers of the table in this process wait
    /// until it is committed or dropped.
    pub async fn appender(&self, table: &str) -> Result<Appender> {
        let lock = self.write_lock(table).await?;
        self.appender_locked(table, lock).await
    }

    async fn appender_locked(&self, table: &str, lock: WriteGuard) -> Result<Appender> {
        let def = self.def(table)?;
        let t = self.table(table).await?;
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_compression(deltalake::parquet::basic::Compression::SNAPPY)
            .build();
        let writer = RecordBatchWriter::for_table(&t)
            .map_err(WarehouseError::delta("starting a write", table))?
            .with_writer_properties(props);
        Ok(Appender {
            def,
            table: t,
            writer,
            rows: 0,
            _lock: lock,
        })
    }

    /// Appends batches in one commit.
    pub async fn append(
        &self,
        table: &str,
        batches: &[RecordBatch],
        tag: &CommitTag,
    ) -> Result<WriteReport> {
        let mut app = self.appender(table).await?;
        for b in batches {
            app.write(b).await?;
        }
        app.commit(tag).await
    }

    /// Appends rows in one commit after checking that none of their primary keys exists in the
    /// table or repeats in the input; the error names the first conflicting key.
    pub async fn insert_new(
        &self,
        table: &str,
        batches: &[RecordBatch],
        tag: &CommitTag,
    ) -> Result<WriteReport> {
        let def = self.def(table)?;
        let batches = keyed_input(def, batches)?;
        // Held from the clash check to the commit, so no writer here slips a key in between.
        let lock = self.write_lock(table).await?;
        if batches.is_empty() {
            return Ok(WriteReport {
                version: self.version(table).await?,
                rows: 0,
            });
        }
        // Only the target table is needed to look for clashing keys.
        let ctx = crate::session::new_context();
        self.register(&ctx, table, None).await?;
        let incoming =
            datafusion::datasource::MemTable::try_new(def.arrow_schema(), vec![batches.clone()])?;
        ctx.register_table("zhongtai_incoming", std::sync::Arc::new(incoming))?;
        let on = def
            .primary_key
            .iter()
            .map(|k| format!("t.{k} = s.{k}"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let keys = def
            .primary_key
            .iter()
            .map(|k| format!("s.{k}"))
            .collect::<Vec<_>>()
            .join(", ");
        let clash = ctx
            .sql(&format!(
                "SELECT {keys} FROM zhongtai_incoming s JOIN {table} t ON {on} LIMIT 1"
            ))
            .await?
            .collect()
            .await?;
        if let Some(b) = clash.iter().find(|b| b.num_rows() > 0) {
            let key = key_text(b.columns(), 0)?;
            return Err(WarehouseError::Schema {
                table: table.into(),
                reason: format!(
                    "primary key {} = {key} already exists; use upsert mode to change existing rows",
                    def.primary_key.join(",")
                ),
            });
        }
        let mut app = self.appender_locked(table, lock).await?;
        for b in &batches {
            app.write(b).await?;
        }
        app.commit(tag).await
    }

    /// Deletes every row of a table in one commit (older versions stay readable by time travel).
    pub async fn truncate(&self, table: &str, tag: &CommitTag) -> Result<WriteReport> {
        let _lock = self.write_lock(table).await?;
        let t = self.table(table).await?;
        let (t, metrics) = t
            .delete()
            .with_commit_properties(tag.properties())
            .await
            .map_err(WarehouseError::delta("truncating", table))?;
        Ok(WriteReport {
            version: t.version().unwrap_or(0),
            rows: metrics.num_deleted_rows.unwrap_or(0) as u64,
        })
    }

    /// Deletes the rows matching a SQL `predicate` over the table's columns, in one commit.
    /// Callers build the predicate from trusted parts (quote values with [`sql_text`]).
    pub async fn delete_where(
        &self,
        table: &str,
        predicate: &str,
        tag: &CommitTag,
    ) -> Result<WriteReport> {
        let _lock = self.write_lock(table).await?;
        let t = self.table(table).await?;
        let (t, metrics) = t
            .delete()
            .with_predicate(predicate.to_string())
            .with_commit_properties(tag.properties())
            .await
            .map_err(WarehouseError::delta("deleting", table))?;
        Ok(WriteReport {
            version: t.version().unwrap_or(0),
            rows: metrics.num_deleted_rows.unwrap_or(0) as u64,
        })
    }

    /// Inserts or replaces rows by primary key, in one commit. The input must not repeat a key.
    pub async fn upsert(
        &self,
        table: &str,
        batches: &[RecordBatch],
        tag: &CommitTag,
    ) -> Result<WriteReport> {
        self.merge_rows(table, batches, tag, None).await
    }

    /// Upserts rows and, in the same commit, deletes the rows of the given groups that the
    /// input no longer has. For child tables such as `order_items`, where a re-read order is the
    /// whole truth about its lines: `groups` are the values of `group_column` being replaced
    /// (include parents whose input has no rows at all).
    pub async fn replace_groups(
        &self,
        table: &str,
        group_column: &str,
        groups: &[String],
        batches: &[RecordBatch],
        tag: &CommitTag,
    ) -> Result<WriteReport> {
        let def = self.def(table)?;
        if def.column(group_column).is_none() {
            return Err(WarehouseError::Schema {
                table: table.into(),
                reason: format!("no column `{group_column}` to group by"),
            });
        }
        self.merge_rows(table, batches, tag, Some((group_column, groups)))
            .await
    }

    async fn merge_rows(
        &self,
        table: &str,
        batches: &[RecordBatch],
        tag: &CommitTag,
        replace: Option<(&str, &[String])>,
    ) -> Result<WriteReport> {
        let def = self.def(table)?;
        let mut batches = keyed_input(def, batches)?;
        let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
        let groups = replace.filter(|(_, g)| !g.is_empty());
        if rows == 0 && groups.is_none() {
            return Ok(WriteReport {
                version: self.version(table).await?,
                rows: 0,
            });
        }
        if batches.is_empty() {
            batches.push(RecordBatch::new_empty(def.arrow_schema()));
        }
        let ctx = SessionContext::new();
        let source = ctx.read_batches(batches)?;
        let on = def
            .primary_key
            .iter()
            .map(|k| format!("t.{k} = s.{k}"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let _lock = self.write_lock(table).await?;
        let t = self.table(table).await?;
        let delta = WarehouseError::delta("upserting", table);
        let (t, _metrics) = t
            .merge(source, on)
            .with_source_alias("s")
            .with_target_alias("t")
            .with_commit_properties(tag.properties())
            .when_matched_update(|mut u| {
                for c in def.columns {
                    u = u.update(c.name, format!("s.{}", c.name));
                }
                u
            })
            .and_then(|m| {
                m.when_not_matched_insert(|mut i| {
                    for c in def.columns {
                        i = i.set(c.name, format!("s.{}", c.name));
                    }
                    i
                })
            })
            .and_then(|m| match groups {
                Some((column, values)) => {
                    let list = values
                        .iter()
                        .map(|v| sql_text(v))
                        .collect::<Vec<_>>()
                        .join(", ");
                    m.when_not_matched_by_source_delete(|d| {
                        d.predicate(format!("t.{column} IN ({list})"))
                    })
                }
                None => Ok(m),
            })
            .map_err(WarehouseError::delta("planning an upsert", table))?
            .await
            .map_err(delta)?;
        Ok(WriteReport {
            version: t.version().unwrap_or(0),
            rows,
        })
    }
}

/// A SQL string literal of `v`: quoted, with quotes doubled.
pub fn sql_text(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// Conforms the non-empty batches to the table and checks that the input repeats no primary
/// key (MERGE could not choose between two source rows, and an append would double a row).
#[cfg(test)]
mod tests;

fn keyed_input(def: &TableDef, batches: &[RecordBatch]) -> Result<Vec<RecordBatch>> {
    let batches: Vec<RecordBatch> = batches
        .iter()
        .filter(|b| b.num_rows() > 0)
        .map(|b| conform(def, b))
        .collect::<Result<_>>()?;
    let mut seen = HashSet::new();
    for b in &batches {
        let keys: Vec<ArrayRef> = def
            .primary_key
            .iter()
            .filter_map(|k| b.column_by_name(k).cloned())
            .collect();
        for row in 0..b.num_rows() {
            let key = key_text(&keys, row)?;
            if !seen.insert(key.clone()) {
                return Err(WarehouseError::Schema {
                    table: def.name.into(),
                    reason: format!(
                        "primary key {} = {key} appears more than once in the input",
                        def.primary_key.join(",")
                    ),
                });
            }
        }
    }
    Ok(batches)
}

/// The key columns of one row as `a|b`, for messages and duplicate detection.
fn key_text(columns: &[ArrayRef], row: usize) -> Result<String> {
    let opts = FormatOptions::default();
    let parts = columns
        .iter()
        .map(|c| {
            ArrayFormatter::try_new(c.as_ref() as &dyn Array, &opts)
                .map(|f| f.value(row).to_string())
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| WarehouseError::Arrow {
            op: "formatting keys",
            source,
        })?;
    Ok(parts.join("|"))
}
