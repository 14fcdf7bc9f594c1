//! Streaming appends: any number of batches written as Parquet files, made visible in one
//! commit at [`Appender::commit`]. Dropped without commit, nothing becomes visible (the files
//! are unreferenced and removed by `VACUUM`), so a failed import or a crash mid-load commits
//! nothing partial. Memory stays bounded by the row-group size.

use arrow::array::RecordBatch;
use deltalake::DeltaTable;
use deltalake::parquet::file::properties::WriterProperties;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};

use super::owner::Owner;
use super::{CommitTag, WriteReport, owned_rows};
use crate::error::{Result, WarehouseError};
use crate::schema::TableDef;
use crate::write_lock::WriteGuard;

/// Rows per Parquet row group: small enough to bound memory with many tables open at once.
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Streams batches into one table and commits them at once.
pub struct Appender {
    def: &'static TableDef,
    owner: Owner,
    tag: CommitTag,
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
            .field("owner", &self.owner)
            .field("rows", &self.rows)
            .finish()
    }
}

impl Appender {
    pub(super) fn start(
        def: &'static TableDef,
        owner: Owner,
        tag: CommitTag,
        table: DeltaTable,
        lock: WriteGuard,
    ) -> Result<Self> {
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_compression(deltalake::parquet::basic::Compression::SNAPPY)
            .build();
        let writer = RecordBatchWriter::for_table(&table)
            .map_err(WarehouseError::delta("starting a write", def.name))?
            .with_writer_properties(props);
        Ok(Self {
            def,
            owner,
            tag,
            table,
            writer,
            rows: 0,
            _lock: lock,
        })
    }

    /// Conforms and writes one batch (not yet visible to readers). Every row must belong to
    /// the appender's owner (rows naming none are given it).
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let batch = owned_rows(self.def, &self.owner, batch)?;
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

    /// Makes everything written visible in one commit, with the write's app transaction.
    pub async fn commit(mut self) -> Result<WriteReport> {
        // An empty commit is skipped, unless it carries an application version (a sync cursor
        // that moves past a window with no rows).
        if self.rows == 0 && self.tag.app_version.is_none() {
            return Ok(WriteReport {
                version: self.table.version().unwrap_or(0),
                rows: 0,
                skipped: 0,
            });
        }
        // Appends never replace a row, so they never correct one.
        let props = self.tag.properties(&self.owner, false);
        let version =
            super::commit::commit_files(self.writer, &mut self.table, props, self.def.name).await?;
        Ok(WriteReport {
            version,
            rows: self.rows,
            skipped: 0,
        })
    }
}
