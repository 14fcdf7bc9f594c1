//! What changed in a table between two versions, from the Delta log: the data files added or
//! removed, and the distinct values of a column in those files. Incremental marts use it to
//! recompute only the business days a write touched (a MERGE rewrites whole files, so the
//! removed files hold the old rows and the added files the new ones).

use std::collections::{BTreeSet, HashSet};

use arrow::array::{Array, AsArray};
use datafusion::prelude::ParquetReadOptions;

use crate::error::{Result, WarehouseError};
use crate::lake::Warehouse;

impl Warehouse {
    /// URIs of the data files added or removed between `since` and the latest version.
    pub async fn changed_files(&self, table: &str, since: u64) -> Result<Vec<String>> {
        let now = self.table(table).await?;
        let then = self.table_at(table, since).await?;
        let uris = |t: &deltalake::DeltaTable| -> Result<HashSet<String>> {
            Ok(t.get_file_uris()
                .map_err(WarehouseError::delta("listing files", table))?
                .collect())
        };
        let (a, b) = (uris(&now)?, uris(&then)?);
        Ok(a.symmetric_difference(&b).cloned().collect())
    }

    /// The distinct values (as text) of `column` in the given data files of `table`.
    pub async fn distinct_in_files(
        &self,
        table: &str,
        files: &[String],
        column: &str,
    ) -> Result<BTreeSet<String>> {
        let mut out = BTreeSet::new();
        if files.is_empty() {
            return Ok(out);
        }
        self.def(table)?;
        let ctx = crate::session::new_context();
        // Registers the table's object store with the session, so its files can be read.
        self.register(&ctx, table, None).await?;
        let df = ctx
            .read_parquet(files.to_vec(), ParquetReadOptions::default())
            .await?
            .select_columns(&[column])?
            .distinct()?;
        for b in df.collect().await? {
            let c = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8).map_err(
                |source| WarehouseError::Arrow {
                    op: "reading changed values",
                    source,
                },
            )?;
            let s = c.as_string::<i32>();
            out.extend(
                (0..s.len())
                    .filter(|&i| s.is_valid(i))
                    .map(|i| s.value(i).to_string()),
            );
        }
        Ok(out)
    }
}
