//! The DataFusion session over the lake: every canonical table registered by its name.
//!
//! Options set here keep money exact: decimal literals parse as decimals, not floats
//! (see shared guidance on DataFusion and decimals). Older versions of a table can be pinned
//! for time travel.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use datafusion::execution::context::SQLOptions;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::error::{Result, WarehouseError};
use crate::lake::Warehouse;
use crate::schema::CATALOG;

/// A session with zhongtai's options: decimal literals stay decimal, filters are pushed into
/// Parquet scans.
pub(crate) fn new_context() -> SessionContext {
    let config = SessionConfig::new()
        .with_information_schema(true)
        .set_bool("datafusion.sql_parser.parse_float_as_decimal", true)
        .set_bool("datafusion.execution.parquet.pushdown_filters", true);
    SessionContext::new_with_config(config)
}

/// Registers every derived view ([`crate::schema::VIEWS`]) in `ctx`, over the tables already
/// registered there.
pub(crate) async fn register_views(ctx: &SessionContext) -> Result<()> {
    for v in crate::schema::VIEWS {
        let view = ctx
            .sql(v.sql)
            .await
            .map_err(|e| WarehouseError::Schema {
                table: v.name.into(),
                reason: format!("planning the view: {e}"),
            })?
            .into_view();
        ctx.register_table(v.name, view)?;
    }
    Ok(())
}

impl Warehouse {
    /// A session with every table at its latest version.
    pub async fn session(&self) -> Result<SessionContext> {
        self.session_at(&HashMap::new()).await
    }

    /// A session where the tables named in `versions` are read as of that version.
    pub async fn session_at(&self, versions: &HashMap<String, u64>) -> Result<SessionContext> {
        for name in versions.keys() {
            self.def(name)?;
        }
        let ctx = new_context();
        for def in CATALOG {
            self.register(&ctx, def.name, versions.get(def.name).copied())
                .await?;
        }
        register_views(&ctx).await?;
        Ok(ctx)
    }

    /// Registers one table (latest, or as of `version`) in `ctx` under its name.
    pub(crate) async fn register(
        &self,
        ctx: &SessionContext,
        name: &str,
        version: Option<u64>,
    ) -> Result<()> {
        let t = match version {
            Some(v) => self.table_at(name, v).await?,
            None => self.table(name).await?,
        };
        Self::register_loaded(ctx, name, &t).await
    }

    /// Registers an already loaded table in `ctx` under `name`.
    pub(crate) async fn register_loaded(
        ctx: &SessionContext,
        name: &str,
        t: &deltalake::DeltaTable,
    ) -> Result<()> {
        t.update_datafusion_session(&ctx.state())
            .map_err(WarehouseError::delta("registering", name))?;
        let provider = t.table_provider().await.map_err(|e| {
            WarehouseError::Query(datafusion::error::DataFusionError::External(Box::new(e)))
        })?;
        ctx.register_table(name, Arc::clone(&provider))?;
        Ok(())
    }

    /// Runs one SQL statement and collects the result.
    pub async fn query(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        let ctx = self.session().await?;
        Ok(ctx.sql(sql).await?.collect().await?)
    }
}

impl Warehouse {
    /// Runs SQL that cannot change anything: DDL, DML and statements such as `SET` or `COPY`
    /// are refused by the planner. Tables in `versions` are read as of that version.
    /// (Allocating functions such as `repeat` and `range` are capped, as in the server.)
    pub async fn query_readonly(
        &self,
        sql: &str,
        versions: &HashMap<String, u64>,
    ) -> Result<Vec<RecordBatch>> {
        let ctx = self.session_at(versions).await?;
        crate::guard::cap_functions(&ctx);
        let opts = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        Ok(ctx.sql_with_options(sql, opts).await?.collect().await?)
    }
}

impl Warehouse {
    /// The distinct non-null values of `column` in `table`, among rows owned by `owner`
    /// (`mine`) or by anyone else (`!mine`): what a writer needs to know which of its keys
    /// already exist, and which keys other owners hold.
    pub async fn key_set(
        &self,
        table: &str,
        column: &str,
        owner: &str,
        mine: bool,
    ) -> Result<std::collections::HashSet<String>> {
        use arrow::array::{Array, AsArray};
        let def = self.def(table)?;
        if def.column(column).is_none() {
            return Err(WarehouseError::Schema {
                table: table.into(),
                reason: format!("no column `{column}`"),
            });
        }
        let ctx = new_context();
        self.register(&ctx, table, None).await?;
        let owner = crate::sql_text(owner);
        let op = if mine { "=" } else { "<>" };
        let oc = def.owner_column();
        let batches = ctx
            .sql(&format!(
                "SELECT DISTINCT CAST({column} AS VARCHAR) FROM {table} WHERE {oc} {op} {owner} AND {column} IS NOT NULL"
            ))
            .await?
            .collect()
            .await?;
        let mut out = std::collections::HashSet::new();
        for b in &batches {
            let col = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8)
                .map_err(|source| WarehouseError::Arrow {
                    op: "reading keys",
                    source,
                })?;
            let col = col.as_string::<i32>();
            out.extend(
                (0..col.len())
                    .filter(|&i| col.is_valid(i))
                    .map(|i| col.value(i).to_string()),
            );
        }
        Ok(out)
    }
}

impl Warehouse {
    /// A session with only the named tables registered (cheaper than [`Warehouse::session`]
    /// when a lookup needs one or two tables).
    pub async fn session_of(&self, names: &[&str]) -> Result<SessionContext> {
        let ctx = new_context();
        for name in names {
            self.def(name)?;
            self.register(&ctx, name, None).await?;
        }
        Ok(ctx)
    }
}

impl Warehouse {
    /// Parses a SQL predicate over one table's columns into an expression, for
    /// [`crate::WriteOp::delete`] (callers holding trusted SQL text, such as the fault
    /// injector; everyone else builds the expression directly).
    pub async fn predicate(&self, table: &str, sql: &str) -> Result<datafusion::prelude::Expr> {
        let def = self.def(table)?;
        let ctx = new_context();
        let schema = datafusion::common::DFSchema::try_from(def.arrow_schema().as_ref().clone())?;
        Ok(ctx.parse_sql_expr(sql, &schema)?)
    }
}
