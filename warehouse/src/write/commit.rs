//! Every Delta commit zhongtai makes is made here, and nowhere else (a test greps the tree
//! for the commit calls): creating a table, committing appended files, MERGE and DELETE.
//!
//! Delta commits are optimistic. Two processes writing disjoint rows of one table (two
//! connectors' payments, a sync and a form flush) can still conflict, because a MERGE reads
//! the whole table and a concurrent append changes what it read. A conflicting MERGE or
//! DELETE is planned again on the new version and retried with the same input: both are
//! idempotent (a row already written is matched and written the same way again), so the
//! retry can neither lose nor double a row. Appends never conflict with each other.

use std::time::Duration;

use arrow::array::RecordBatch;
use datafusion::prelude::{Expr, col};
use deltalake::kernel::transaction::{CommitProperties, TransactionError};
use deltalake::kernel::{StructType, engine::arrow_conversion::TryIntoKernel};
use deltalake::operations::merge::MergeMetrics;
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::{DeltaTable, DeltaTableError};

use crate::error::{Result, WarehouseError};
use crate::lake::Warehouse;
use crate::schema::TableDef;

/// How often a conflicting commit is planned again before the write fails.
const MAX_ATTEMPTS: u32 = 25;

/// Whether a failed commit lost a race with another writer (and may simply be tried again).
fn is_conflict(e: &DeltaTableError) -> bool {
    match e {
        DeltaTableError::VersionAlreadyExists(_) => true,
        DeltaTableError::Transaction { source } => matches!(
            source,
            TransactionError::CommitConflict(_)
                | TransactionError::VersionAlreadyExists(_)
                | TransactionError::MaxCommitAttempts(_)
        ),
        _ => false,
    }
}

/// A short, jittered pause before attempt `n` (so two writers do not collide again in step).
async fn back_off(n: u32) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let base = 10u64 << n.min(7);
    let jitter = u64::from(nanos) % base.max(1);
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}

/// Creates a canonical table. Several processes opening a fresh lake at once race to create
/// it; whoever loses finds the table there and accepts it when its schema is ours.
pub(crate) async fn create_table(wh: &Warehouse, def: &TableDef) -> Result<()> {
    let schema: StructType =
        def.arrow_schema()
            .as_ref()
            .try_into_kernel()
            .map_err(|e| WarehouseError::Schema {
                table: def.name.into(),
                reason: e.to_string(),
            })?;
    let mut attempt = 0;
    loop {
        let handle = wh.handle(def.name).await?;
        if handle.version().is_some() {
            return check_created(&handle, def);
        }
        let created = handle
            .create()
            .with_table_name(def.name)
            .with_comment(def.doc)
            .with_columns(schema.fields().cloned())
            .with_partition_columns(def.partition_by.iter().copied())
            .with_save_mode(deltalake::protocol::SaveMode::Ignore)
            .await;
        match created {
            Ok(_) => return Ok(()),
            // Another process committed version 0 first (or half-way: "protocol changed"):
            // load it again and look.
            Err(e) if attempt + 1 < MAX_ATTEMPTS => {
                tracing::debug!(table = def.name, error = %e, "table created concurrently; looking again");
                attempt += 1;
                back_off(attempt).await;
            }
            Err(e) => return Err(WarehouseError::delta("creating", def.name)(e)),
        }
    }
}

/// A table someone else created must have our columns.
fn check_created(t: &DeltaTable, def: &TableDef) -> Result<()> {
    let snapshot = t
        .snapshot()
        .map_err(WarehouseError::delta("reading state", def.name))?;
    let have: Vec<String> = snapshot
        .schema()
        .fields()
        .map(|f| f.name().to_string())
        .collect();
    for c in def.columns {
        if !have.iter().any(|h| h == c.name) {
            return Err(WarehouseError::Schema {
                table: def.name.into(),
                reason: format!("the table in the lake has no column `{}`", c.name),
            });
        }
    }
    Ok(())
}

/// Commits the files an appender wrote (and the app transaction, if any), in one commit.
pub(super) async fn commit_files(
    writer: RecordBatchWriter,
    table: &mut DeltaTable,
    props: CommitProperties,
    name: &str,
) -> Result<u64> {
    let mut writer = writer.with_commit_properties(props);
    writer
        .flush_and_commit(table)
        .await
        .map_err(WarehouseError::delta("committing", name))
}

/// What one MERGE does, as expressions over `t` (target) and `s` (source).
pub(super) struct MergePlan {
    /// Rows match on the primary key.
    pub on: Expr,
    /// Matched rows are updated only when this holds (the owner rule); `None`: always.
    pub update_when: Option<Expr>,
    /// Target rows no source row matches are deleted when this holds (replace a parent's
    /// children); `None`: none are deleted.
    pub delete_unmatched: Option<Expr>,
}

/// Runs one MERGE of `batches` into the table in one commit, retrying on conflicts.
pub(super) async fn merge(
    wh: &Warehouse,
    def: &TableDef,
    batches: Vec<RecordBatch>,
    plan: MergePlan,
    props: CommitProperties,
) -> Result<(u64, MergeMetrics)> {
    let ctx = crate::session::new_context();
    let source = ctx.read_batches(batches)?;
    let mut attempt = 0;
    loop {
        let t = wh.table(def.name).await?;
        let plan = &plan;
        let result = t
            .merge(source.clone(), plan.on.clone())
            .with_source_alias("s")
            .with_target_alias("t")
            .with_commit_properties(props.clone())
            .when_matched_update(|mut u| {
                if let Some(p) = &plan.update_when {
                    u = u.predicate(p.clone());
                }
                for c in def.columns {
                    u = u.update(c.name, col(format!("s.{}", c.name)));
                }
                u
            })
            .and_then(|m| {
                m.when_not_matched_insert(|mut i| {
                    for c in def.columns {
                        i = i.set(c.name, col(format!("s.{}", c.name)));
                    }
                    i
                })
            })
            .and_then(|m| match &plan.delete_unmatched {
                Some(p) => m.when_not_matched_by_source_delete(|d| d.predicate(p.clone())),
                None => Ok(m),
            })
            .map_err(WarehouseError::delta("planning a merge", def.name))?
            .await;
        match result {
            Ok((t, metrics)) => return Ok((t.version().unwrap_or(0), metrics)),
            Err(e) if is_conflict(&e) && attempt + 1 < MAX_ATTEMPTS => {
                tracing::debug!(
                    table = def.name,
                    attempt,
                    "merge lost a race; planning it again"
                );
                attempt += 1;
                back_off(attempt).await;
            }
            Err(e) => return Err(WarehouseError::delta("merging", def.name)(e)),
        }
    }
}

/// Deletes the rows matching `predicate` (`None`: every row) in one commit, retrying on
/// conflicts. Returns the version and the rows deleted.
pub(super) async fn delete(
    wh: &Warehouse,
    def: &TableDef,
    predicate: Option<Expr>,
    props: CommitProperties,
) -> Result<(u64, u64)> {
    let mut attempt = 0;
    loop {
        let t = wh.table(def.name).await?;
        let mut op = t.delete().with_commit_properties(props.clone());
        if let Some(p) = &predicate {
            op = op.with_predicate(p.clone());
        }
        match op.await {
            Ok((t, m)) => {
                return Ok((
                    t.version().unwrap_or(0),
                    m.num_deleted_rows.unwrap_or(0) as u64,
                ));
            }
            Err(e) if is_conflict(&e) && attempt + 1 < MAX_ATTEMPTS => {
                attempt += 1;
                back_off(attempt).await;
            }
            Err(e) => return Err(WarehouseError::delta("deleting", def.name)(e)),
        }
    }
}
