//! The one way rows reach the lake: [`Warehouse::write`] starts a typed write operation on one
//! table for one [`Owner`]; its terminal method makes exactly one Delta commit (in `commit.rs`,
//! the only module that commits).
//!
//! ```ignore
//! wh.write("payments", Owner::source("import:bank.csv")).upsert(&batches).await?;
//! wh.write("order_items", Owner::source("jushuitan"))
//!     .app_transaction("cursor:jst/orders", 42)
//!     .replace_children_of(&order_ids, &batches).await?;
//! ```
//!
//! # Ownership rules
//! Every row names its owner in the owner column (`source`). A write acts for one owner:
//! - it writes only rows of its owner (rows naming none are given it; rows naming another
//!   owner are refused, with their row number);
//! - [`WriteOp::replace_children_of`] deletes, of the listed parents' children, only the
//!   write's own rows that the input no longer has: a manual payment stays when a connector
//!   re-reads the order;
//! - [`WriteOp::delete`] and [`WriteOp::delete_all`] remove only the write's own rows;
//! - a family writer ([`Owner::Family`], [`Owner::Member`]: the forms' flush, imports) may
//!   replace any row of its family;
//! - an upsert whose key is held by **another** owner's row follows [`ForeignRows`]:
//!   `Refuse` (the default: the write fails naming the key and its owner, nothing is
//!   committed), `Keep` (the other owner's row stays, ours is counted in
//!   [`WriteReport::skipped`]; what a connector sync does, so a re-sync never overwrites a
//!   finance entry or a correction) or `Supersede` (a declared correction: our row replaces
//!   it and we own it from then on; the replaced version stays in the Delta history). We
//!   refuse by default because a silent overwrite is data loss nobody sees, and we do not
//!   record corrections implicitly because only the writer knows whether it meant one.
//! - keys are compared as typed tuples (`keys.rs`), never as joined text.
//!
//! Appends refuse nothing by key ([`WriteOp::insert_new`] does); they are for writers that
//! know their keys are new. Every commit records the writer in its metadata
//! (`zhongtai.source`), and may carry a Delta app transaction (a sync cursor, a journal
//! position) committed atomically with the rows.

mod appender;
mod commit;
mod keys;
mod owner;

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::datatypes::DataType;
use datafusion::prelude::{Expr, col, lit};
use deltalake::kernel::Transaction;
use deltalake::kernel::transaction::CommitProperties;

pub use appender::Appender;
pub(crate) use commit::create_table;
pub use owner::Owner;

use crate::conform::conform;
use crate::error::{Result, WarehouseError};
use crate::lake::Warehouse;
use crate::schema::TableDef;
use crate::write_lock::{self, WriteGuard};

/// What an upsert does with a key another owner's row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForeignRows {
    /// Fail, naming the key and its owner; nothing is committed.
    #[default]
    Refuse,
    /// Leave the other owner's row as it is and count ours as skipped.
    Keep,
    /// A correction: replace it; the row is ours from then on.
    Supersede,
}

/// The outcome of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteReport {
    /// Table version after the commit.
    pub version: u64,
    /// Rows written (appended, or inserted + updated).
    pub rows: u64,
    /// Input rows not written because another owner holds their key ([`ForeignRows::Keep`]).
    pub skipped: u64,
}

/// Who wrote a commit and the app transaction it carries.
#[derive(Debug, Clone, Default)]
pub(crate) struct CommitTag {
    writer: Option<String>,
    app_version: Option<(String, i64)>,
}

impl CommitTag {
    /// The commit's metadata; `corrects` marks a write that may supersede other owners' rows.
    fn properties(&self, owner: &Owner, corrects: bool) -> CommitProperties {
        let writer = self.writer.clone().unwrap_or_else(|| owner.label());
        let mut meta = vec![
            (
                "zhongtai.source".to_string(),
                serde_json::Value::from(writer),
            ),
            (
                "zhongtai.owner".to_string(),
                serde_json::Value::from(owner.label()),
            ),
        ];
        if corrects {
            meta.push((
                "zhongtai.corrects".to_string(),
                serde_json::Value::from(true),
            ));
        }
        let mut p = CommitProperties::default().with_metadata(meta);
        if let Some((app, v)) = &self.app_version {
            p = p.with_application_transaction(Transaction::new(app, *v));
        }
        p
    }
}

/// A write to one table for one owner, configured by its builder methods and made by exactly
/// one terminal method (one Delta commit).
#[derive(Debug)]
#[must_use = "a write does nothing until a terminal method runs it"]
pub struct WriteOp<'a> {
    wh: &'a Warehouse,
    table: String,
    owner: Owner,
    tag: CommitTag,
    foreign: ForeignRows,
    /// Owners whose rows supersede other owners' rows whatever `foreign` says.
    correcting: Vec<String>,
}

impl Warehouse {
    /// Starts a write to `table` acting for `owner`.
    pub fn write(&self, table: &str, owner: Owner) -> WriteOp<'_> {
        WriteOp {
            wh: self,
            table: table.to_string(),
            owner,
            tag: CommitTag::default(),
            foreign: ForeignRows::default(),
            correcting: Vec::new(),
        }
    }

    /// Waits until no other writer in this process is writing `table`.
    async fn write_lock(&self, table: &str) -> Result<WriteGuard> {
        self.def(table)?;
        Ok(write_lock::lock(self.location().table_url(table).as_str()).await)
    }
}

impl WriteOp<'_> {
    /// Names the writer in the commit's metadata (`connector:shop-a`); the owner by default.
    pub fn writer(mut self, writer: impl Into<String>) -> Self {
        self.tag.writer = Some(writer.into());
        self
    }

    /// Commits `(app_id, version)` as a Delta app transaction in the same commit as the rows.
    pub fn app_transaction(mut self, app_id: impl Into<String>, version: i64) -> Self {
        self.tag.app_version = Some((app_id.into(), version));
        self
    }

    /// Like [`WriteOp::app_transaction`], when there may be none.
    pub fn app_transaction_opt(mut self, app: Option<(String, i64)>) -> Self {
        self.tag.app_version = app;
        self
    }

    /// What to do with keys another owner holds (upserts and replaces).
    pub fn foreign_rows(mut self, policy: ForeignRows) -> Self {
        self.foreign = policy;
        self
    }

    /// Rows owned by one of `owners` are declared corrections: they supersede another
    /// owner's row of the same key; the write's other rows follow [`WriteOp::foreign_rows`].
    /// For a family writer (the forms' flush) where only some members correct.
    pub fn correcting_owners(mut self, owners: Vec<String>) -> Self {
        self.correcting = owners;
        self
    }

    fn def(&self) -> Result<&'static TableDef> {
        self.wh.def(&self.table)
    }

    /// The commit's properties: the writer, the app transaction, and whether it corrects.
    fn properties(&self) -> CommitProperties {
        let corrects = self.foreign == ForeignRows::Supersede || !self.correcting.is_empty();
        self.tag.properties(&self.owner, corrects)
    }

    /// Starts a streaming append (see [`Appender`]); other writers of the table in this
    /// process wait until it is committed or dropped.
    pub async fn appender(self) -> Result<Appender> {
        let lock = self.wh.write_lock(&self.table).await?;
        self.appender_locked(lock).await
    }

    async fn appender_locked(self, lock: WriteGuard) -> Result<Appender> {
        let def = self.def()?;
        let table = self.wh.table(&self.table).await?;
        Appender::start(def, self.owner, self.tag, table, lock)
    }

    /// Appends rows in one commit, checking no key (for writers that know their keys are new).
    pub async fn append(self, batches: &[RecordBatch]) -> Result<WriteReport> {
        let mut app = self.appender().await?;
        for b in batches {
            app.write(b).await?;
        }
        app.commit().await
    }

    /// Commits only the app transaction (a cursor moving past a window with no rows).
    pub async fn mark(self) -> Result<WriteReport> {
        self.append(&[]).await
    }

    /// Appends rows in one commit after checking that none of their keys exists in the table
    /// (whoever owns it) or repeats in the input; the error names the key and its owner.
    pub async fn insert_new(self, batches: &[RecordBatch]) -> Result<WriteReport> {
        let def = self.def()?;
        let batches = self.input(def, batches)?;
        // Held from the clash check to the commit, so no writer here slips a key in between.
        let lock = self.wh.write_lock(&self.table).await?;
        if batches.is_empty() {
            return Ok(WriteReport {
                version: self.wh.version(&self.table).await?,
                rows: 0,
                skipped: 0,
            });
        }
        if let Some((key, owner)) = self.held_key(def, &batches, false).await? {
            return Err(WarehouseError::Schema {
                table: def.name.into(),
                reason: format!(
                    "primary key {key} already exists (owned by `{owner}`); use upsert mode to change your own rows"
                ),
            });
        }
        let mut app = self.appender_locked(lock).await?;
        for b in &batches {
            app.write(b).await?;
        }
        app.commit().await
    }

    /// Inserts or replaces rows by primary key, in one commit. The input must not repeat a
    /// key; keys held by another owner follow [`WriteOp::foreign_rows`].
    pub async fn upsert(self, batches: &[RecordBatch]) -> Result<WriteReport> {
        self.merge(batches, None).await
    }

    /// Upserts rows and, in the same commit, deletes this owner's rows of the listed parents
    /// that the input no longer has (an order re-read with one line fewer). List parents
    /// whose input has no rows at all too. Other owners' rows of those parents stay.
    pub async fn replace_children_of(
        self,
        parents: &[String],
        batches: &[RecordBatch],
    ) -> Result<WriteReport> {
        let def = self.def()?;
        let Some(parent) = def.parent else {
            return Err(WarehouseError::Schema {
                table: def.name.into(),
                reason: "it is not a child table (its definition names no parent)".into(),
            });
        };
        if parents.is_empty() {
            return self.merge(batches, None).await;
        }
        let ty = def
            .arrow_schema()
            .field_with_name(parent)
            .map(|f| f.data_type().clone())
            .map_err(|source| WarehouseError::Arrow {
                op: "reading the parent column",
                source,
            })?;
        let values: Vec<Expr> = parents.iter().map(|p| typed_literal(p, &ty)).collect();
        let mut pred = col(format!("t.{parent}")).in_list(values, false);
        if let Some(o) = self.owner.predicate(&format!("t.{}", def.owner_column())) {
            pred = pred.and(o);
        }
        self.merge(batches, Some(pred)).await
    }

    /// Deletes this owner's rows matching `predicate`, in one commit.
    pub async fn delete(self, predicate: Expr) -> Result<WriteReport> {
        self.delete_where(Some(predicate)).await
    }

    /// Deletes every row of this owner (every row at all for [`Owner::Any`]: `demo --reset`),
    /// in one commit. Older versions stay readable by time travel.
    pub async fn delete_all(self) -> Result<WriteReport> {
        self.delete_where(None).await
    }

    async fn delete_where(self, predicate: Option<Expr>) -> Result<WriteReport> {
        let def = self.def()?;
        let owner = self.owner.predicate(def.owner_column());
        let predicate = match (predicate, owner) {
            (Some(p), Some(o)) => Some(p.and(o)),
            (p, o) => p.or(o),
        };
        let _lock = self.wh.write_lock(&self.table).await?;
        let props = self.properties();
        let (version, rows) = commit::delete(self.wh, def, predicate, props).await?;
        Ok(WriteReport {
            version,
            rows,
            skipped: 0,
        })
    }

    async fn merge(self, batches: &[RecordBatch], delete: Option<Expr>) -> Result<WriteReport> {
        let def = self.def()?;
        let mut batches = self.input(def, batches)?;
        let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
        if rows == 0 && delete.is_none() && self.tag.app_version.is_none() {
            return Ok(WriteReport {
                version: self.wh.version(&self.table).await?,
                rows: 0,
                skipped: 0,
            });
        }
        let _lock = self.wh.write_lock(&self.table).await?;
        if self.foreign == ForeignRows::Refuse
            && rows > 0
            && let Some((key, owner)) = self.held_key(def, &batches, true).await?
        {
            return Err(WarehouseError::Owner {
                table: def.name.into(),
                reason: format!(
                    "primary key {key} is owned by `{owner}`; `{}` may not replace another writer's row",
                    self.owner
                ),
            });
        }
        if batches.is_empty() {
            batches.push(RecordBatch::new_empty(def.arrow_schema()));
        }
        let on = def
            .primary_key
            .iter()
            .map(|k| col(format!("t.{k}")).eq(col(format!("s.{k}"))))
            .reduce(Expr::and)
            .unwrap_or_else(|| lit(false));
        let oc = def.owner_column();
        // Refuse checked above; keeping the owner test in the MERGE too means a row another
        // process gave to someone else in the meantime is still never overwritten.
        // A matched row is replaced only when this owner admits its owner (or ours is a
        // declared correction).
        let admitted = self.owner.predicate(&format!("t.{oc}"));
        let update_when = match (self.foreign, admitted) {
            (ForeignRows::Supersede, _) | (_, None) => None,
            (_, Some(same)) if self.correcting.is_empty() => Some(same),
            (_, Some(same)) => {
                let list = self.correcting.iter().map(|o| lit(o.clone())).collect();
                Some(same.or(col(format!("s.{oc}")).in_list(list, false)))
            }
        };
        let plan = commit::MergePlan {
            on,
            update_when,
            delete_unmatched: delete,
        };
        let props = self.properties();
        let (version, m) = commit::merge(self.wh, def, batches, plan, props).await?;
        let written = (m.num_target_rows_inserted + m.num_target_rows_updated) as u64;
        Ok(WriteReport {
            version,
            rows: written,
            skipped: rows.saturating_sub(written),
        })
    }

    /// The non-empty batches, conformed, owned by this write, with no key twice.
    fn input(&self, def: &'static TableDef, batches: &[RecordBatch]) -> Result<Vec<RecordBatch>> {
        let batches: Vec<RecordBatch> = batches
            .iter()
            .filter(|b| b.num_rows() > 0)
            .map(|b| owned_rows(def, &self.owner, b))
            .collect::<Result<_>>()?;
        keys::refuse_repeated_keys(def, &batches)?;
        Ok(batches)
    }

    /// The first input key the table already holds — only among other owners' rows when
    /// `foreign_only` — with that row's owner.
    async fn held_key(
        &self,
        def: &'static TableDef,
        batches: &[RecordBatch],
        foreign_only: bool,
    ) -> Result<Option<(String, String)>> {
        let ctx = crate::session::new_context();
        self.wh.register(&ctx, def.name, None).await?;
        let incoming =
            datafusion::datasource::MemTable::try_new(def.arrow_schema(), vec![batches.to_vec()])?;
        ctx.register_table("zhongtai_incoming", Arc::new(incoming))?;
        let oc = def.owner_column();
        let on = def
            .primary_key
            .iter()
            .map(|k| format!("t.\"{k}\" = s.\"{k}\""))
            .collect::<Vec<_>>()
            .join(" AND ");
        let keys = def
            .primary_key
            .iter()
            .map(|k| format!("s.\"{k}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let filter = match self.owner.sql_not_admitted(&format!("t.\"{oc}\"")) {
            Some(not_ours) if foreign_only => {
                let mut f = format!("WHERE {not_ours}");
                if !self.correcting.is_empty() {
                    let list: Vec<String> = self.correcting.iter().map(|o| sql_text(o)).collect();
                    f.push_str(&format!(" AND s.\"{oc}\" NOT IN ({})", list.join(", ")));
                }
                f
            }
            None if foreign_only => return Ok(None),
            _ => String::new(),
        };
        let found = ctx
            .sql(&format!(
                "SELECT {keys}, t.\"{oc}\" FROM zhongtai_incoming s JOIN \"{}\" t ON {on} {filter} LIMIT 1",
                def.name
            ))
            .await?
            .collect()
            .await?;
        let Some(b) = found.iter().find(|b| b.num_rows() > 0) else {
            return Ok(None);
        };
        let n = def.primary_key.len();
        let key = keys::describe(def, &b.columns()[..n], 0)?;
        let owner = arrow::compute::cast(b.column(n), &DataType::Utf8).map_err(|source| {
            WarehouseError::Arrow {
                op: "reading owners",
                source,
            }
        })?;
        let owner = owner.as_string::<i32>().value(0).to_string();
        Ok(Some((key, owner)))
    }
}

/// `batch` conformed to the table with every row owned by `owner`: rows naming no owner are
/// given its name (where it is one owner); a row naming another owner is refused.
pub(crate) fn owned_rows(
    def: &TableDef,
    owner: &Owner,
    batch: &RecordBatch,
) -> Result<RecordBatch> {
    let oc = def.owner_column();
    let batch = match (batch.column_by_name(oc), owner.default_value()) {
        (Some(c), Some(fill)) if c.null_count() > 0 => with_column(batch, oc, filled(c, fill)?)?,
        (None, Some(fill)) => with_column(
            batch,
            oc,
            Arc::new(StringArray::from(vec![fill; batch.num_rows()])),
        )?,
        _ => batch.clone(),
    };
    let batch = conform(def, &batch)?;
    let owners = batch
        .column_by_name(oc)
        .map(|c| c.as_string::<i32>().clone())
        .ok_or_else(|| WarehouseError::Schema {
            table: def.name.into(),
            reason: format!("owner column `{oc}` is missing"),
        })?;
    if let Some(row) = (0..owners.len()).find(|&r| !owner.admits(owners.value(r))) {
        return Err(WarehouseError::Owner {
            table: def.name.into(),
            reason: format!(
                "row {}: {oc} `{}` is not this writer's (`{owner}`); a writer writes only its own rows",
                row + 1,
                owners.value(row)
            ),
        });
    }
    Ok(batch)
}

fn filled(c: &ArrayRef, fill: &str) -> Result<ArrayRef> {
    let s = arrow::compute::cast(c, &DataType::Utf8).map_err(|source| WarehouseError::Arrow {
        op: "reading owners",
        source,
    })?;
    let s = s.as_string::<i32>();
    Ok(Arc::new(
        (0..s.len())
            .map(|i| Some(if s.is_null(i) { fill } else { s.value(i) }))
            .collect::<StringArray>(),
    ))
}

fn with_column(batch: &RecordBatch, name: &str, values: ArrayRef) -> Result<RecordBatch> {
    let schema = batch.schema();
    let mut fields: Vec<arrow::datatypes::FieldRef> = schema.fields().iter().cloned().collect();
    let mut columns = batch.columns().to_vec();
    let field = Arc::new(arrow::datatypes::Field::new(name, DataType::Utf8, false));
    match schema.index_of(name) {
        Ok(i) => {
            fields[i] = field;
            columns[i] = values;
        }
        Err(_) => {
            fields.push(field);
            columns.push(values);
        }
    }
    RecordBatch::try_new(Arc::new(arrow::datatypes::Schema::new(fields)), columns).map_err(
        |source| WarehouseError::Arrow {
            op: "filling owners",
            source,
        },
    )
}

/// A literal of the column's type from its text (`2026-11-02` for a date column).
fn typed_literal(v: &str, ty: &DataType) -> Expr {
    if *ty == DataType::Utf8 {
        lit(v.to_string())
    } else {
        datafusion::logical_expr::cast(lit(v.to_string()), ty.clone())
    }
}

/// A SQL string literal of `v`: quoted, with quotes doubled (the one quoting helper; values
/// in writes travel as expression literals instead).
pub fn sql_text(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

#[cfg(test)]
mod tests;
