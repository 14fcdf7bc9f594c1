//! The ids an import's references may name, read from the lake once per import.
//!
//! For each referenced id column, the file's distinct values are joined with the referenced
//! table in one query, so a reference is a hash-set lookup per row and only ids the file
//! names are held in memory (never the whole table, never a query per row). Ids the file
//! itself brings are known too when the table refers to itself (a category's parent in the
//! same file).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use connectors::files::FileRead;
use warehouse::datafusion::datasource::MemTable;
use warehouse::schema::TableDef;
use warehouse::{Warehouse, WarehouseError};

use super::check::distinct_texts;
use super::rules::{ColumnRules, Rule, Target};
use crate::error::Result;

/// Known ids per referenced column.
#[derive(Debug, Default)]
pub(crate) struct Known {
    sets: HashMap<Target, HashSet<String>>,
}

impl Known {
    /// Whether `id` is a known value of `target`.
    pub(crate) fn contains(&self, target: &Target, id: &str) -> bool {
        self.sets.get(target).is_some_and(|s| s.contains(id))
    }

    /// Records ids of `target` as known (tests, and ids the file itself brings).
    pub(crate) fn add(&mut self, target: Target, ids: impl IntoIterator<Item = String>) {
        self.sets.entry(target).or_default().extend(ids);
    }
}

/// The ids `read`'s references name that exist: in the referenced table, or, for a
/// reference to `def` itself, in the file.
pub(crate) async fn load(
    wh: &Warehouse,
    def: &TableDef,
    rules: &[ColumnRules],
    read: &FileRead,
) -> Result<Known> {
    let mut known = Known::default();
    for cr in rules {
        for rule in &cr.rules {
            let Rule::Ref { target, list } = *rule else {
                continue;
            };
            let named = distinct_texts(read, cr.index, list);
            if named.is_empty() {
                continue;
            }
            if target.table == def.name
                && let Some(i) = def.columns.iter().position(|c| c.name == target.column)
            {
                known.add(target, distinct_texts(read, i, false));
            }
            known.add(target, existing(wh, target, named).await?);
        }
    }
    Ok(known)
}

/// Which of `ids` the lake's `target` column holds.
async fn existing(wh: &Warehouse, target: Target, ids: HashSet<String>) -> Result<Vec<String>> {
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Utf8, false)]));
    let values = StringArray::from_iter_values(ids);
    let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(values)])
        .map_err(|source| arrow_err("listing referenced ids", source))?;
    let ctx = wh.session_of(&[target.table]).await?;
    let incoming = MemTable::try_new(schema, vec![vec![batch]]).map_err(WarehouseError::Query)?;
    ctx.register_table("zhongtai_named_ids", Arc::new(incoming))
        .map_err(WarehouseError::Query)?;
    let sql = format!(
        "SELECT DISTINCT s.id FROM zhongtai_named_ids s JOIN \"{}\" t ON CAST(t.\"{}\" AS VARCHAR) = s.id",
        target.table, target.column
    );
    let batches = ctx
        .sql(&sql)
        .await
        .map_err(WarehouseError::Query)?
        .collect()
        .await
        .map_err(WarehouseError::Query)?;
    let mut out = Vec::new();
    for b in &batches {
        let col = arrow::compute::cast(b.column(0), &DataType::Utf8)
            .map_err(|source| arrow_err("reading referenced ids", source))?;
        let col = col.as_string::<i32>();
        out.extend(
            (0..col.len())
                .filter(|&i| col.is_valid(i))
                .map(|i| col.value(i).to_string()),
        );
    }
    Ok(out)
}

pub(crate) fn arrow_err(op: &'static str, source: arrow::error::ArrowError) -> WarehouseError {
    WarehouseError::Arrow { op, source }
}
