//! The file's keys and owners, each error naming the file rows: a key the file repeats
//! (`payment_id "P1" appears more than once, on rows 3 and 7`), a key the lake already holds
//! (append) or another writer owns (upsert), and a `source` cell naming an owner that is no
//! import.
//! Rows with bad cells take part too, so fixing one problem does not uncover the next.
//!
//! The write operation refuses all of these again, under its lock, naming the key; these
//! checks come first so the error can name the rows, and all of them at once.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::row::{OwnedRow, RowConverter, SortField};
use connectors::files::{CellError, FileRead};
use warehouse::datafusion::datasource::MemTable;
use warehouse::schema::TableDef;
use warehouse::{Owner, Warehouse, WarehouseError};

use super::ImportMode;
use super::check::{text_at, typed};
use super::known::arrow_err;
use crate::error::Result;

/// Rows listed in one message before it only counts them.
const ROWS_LISTED: usize = 10;

/// `source` cells naming an owner the import may not write as.
pub(crate) fn foreign_sources(def: &TableDef, read: &FileRead, owner: &Owner) -> Vec<CellError> {
    let oc = def.owner_column();
    let Some(index) = def.columns.iter().position(|c| c.name == oc) else {
        return Vec::new();
    };
    let mut errors = Vec::new();
    for (b, rows) in typed(read) {
        let col = b.column(index);
        for (r, &row) in rows.iter().enumerate() {
            if col.is_valid(r) {
                let named = text_at(col, r);
                if !owner.admits(&named) {
                    errors.push(CellError {
                        row,
                        column: oc.to_string(),
                        value: named.clone(),
                        reason: format!(
                            "names the owner `{named}`; imported rows belong to an import (`{}<file>`): leave {oc} empty",
                            vocab::ids::IMPORT_OWNERS
                        ),
                    });
                }
            }
        }
    }
    errors
}

/// Keys that appear on more than one row of the file: every such row gets the error, which
/// names them all.
pub(crate) fn repeated(def: &'static TableDef, read: &FileRead) -> Result<Vec<CellError>> {
    let keys = KeyColumns::new(def)?;
    let parts = typed(read);
    // Key -> (file row, part, row in part) of each row holding it.
    let mut seen: HashMap<OwnedRow, Vec<(usize, usize, usize)>> = HashMap::new();
    for (p, (b, rows)) in parts.iter().enumerate() {
        let cols = keys.columns(b);
        for (r, k) in keys.rows(&cols)?.into_iter().enumerate() {
            if cols.iter().all(|c| c.is_valid(r)) {
                seen.entry(k).or_default().push((rows[r], p, r));
            }
        }
    }
    let mut groups: Vec<Vec<(usize, usize, usize)>> = seen
        .into_values()
        .filter(|g| g.len() > 1)
        .map(|mut g| {
            g.sort_unstable();
            g
        })
        .collect();
    groups.sort_unstable();
    let mut errors = Vec::new();
    for g in groups {
        let rows: Vec<usize> = g.iter().map(|&(row, _, _)| row).collect();
        let (_, p, r) = g[0];
        let reason = format!(
            "{} appears more than once, on {}",
            keys.describe(&keys.columns(parts[p].0), r),
            rows_text(&rows)
        );
        for row in rows {
            errors.push(CellError {
                row,
                column: keys.first().to_string(),
                value: read.cell_text(row, keys.first_index),
                reason: reason.clone(),
            });
        }
    }
    Ok(errors)
}

/// Keys of the file the lake holds already: any of them for an append, those of writers the
/// import may not replace for an upsert. One query joins the file's keys with the table.
pub(crate) async fn in_lake(
    wh: &Warehouse,
    def: &'static TableDef,
    read: &FileRead,
    mode: ImportMode,
    owner: &Owner,
) -> Result<Vec<CellError>> {
    let parts = typed(read);
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    let keys = KeyColumns::new(def)?;
    let mut fields: Vec<Field> = vec![Field::new("zhongtai_row", DataType::UInt64, false)];
    for (name, ty) in def.primary_key.iter().zip(&keys.types) {
        fields.push(Field::new(*name, ty.clone(), true));
    }
    let schema = Arc::new(Schema::new(fields));
    let mut batches = Vec::with_capacity(parts.len());
    for (b, rows) in &parts {
        let mut cols: Vec<ArrayRef> = vec![Arc::new(UInt64Array::from_iter_values(
            rows.iter().map(|&r| r as u64),
        ))];
        cols.extend(keys.columns(b));
        batches.push(
            RecordBatch::try_new(Arc::clone(&schema), cols)
                .map_err(|source| arrow_err("listing the file's keys", source))?,
        );
    }
    let ctx = wh.session_of(&[def.name]).await?;
    let incoming = MemTable::try_new(schema, vec![batches]).map_err(WarehouseError::Query)?;
    ctx.register_table("zhongtai_file_keys", Arc::new(incoming))
        .map_err(WarehouseError::Query)?;
    let on = def
        .primary_key
        .iter()
        .map(|k| format!("t.\"{k}\" = s.\"{k}\""))
        .collect::<Vec<_>>()
        .join(" AND ");
    let key_cols = def
        .primary_key
        .iter()
        .map(|k| format!("s.\"{k}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let oc = def.owner_column();
    let sql = format!(
        "SELECT s.zhongtai_row, CAST(t.\"{oc}\" AS VARCHAR), {key_cols} FROM zhongtai_file_keys s JOIN \"{}\" t ON {on} ORDER BY 1",
        def.name
    );
    let found = ctx
        .sql(&sql)
        .await
        .map_err(WarehouseError::Query)?
        .collect()
        .await
        .map_err(WarehouseError::Query)?;
    let mut errors = Vec::new();
    for b in &found {
        let rows = b.column(0).as_primitive::<arrow::datatypes::UInt64Type>();
        let owners = arrow::compute::cast(b.column(1), &DataType::Utf8)
            .map_err(|source| arrow_err("reading owners", source))?;
        let owners = owners.as_string::<i32>();
        let key_columns = &b.columns()[2..];
        for r in 0..b.num_rows() {
            let row = usize::try_from(rows.value(r)).unwrap_or(usize::MAX);
            let held_by = owners.value(r);
            let key = keys.describe(key_columns, r);
            let reason = match mode {
                ImportMode::Append => format!(
                    "{key} already exists (owned by `{held_by}`); use --mode upsert to change an import's rows"
                ),
                ImportMode::Upsert if !owner.admits(held_by) => format!(
                    "{key} is owned by `{held_by}`; an import may not replace another writer's row"
                ),
                ImportMode::Upsert => continue,
            };
            errors.push(CellError {
                row,
                column: keys.first().to_string(),
                value: read.cell_text(row, keys.first_index),
                reason,
            });
        }
    }
    Ok(errors)
}

/// `row 3`, `rows 3 and 7`, `rows 3, 7 and 9`, `12 rows: 3, 7, ... and 40`.
pub(crate) fn rows_text(rows: &[usize]) -> String {
    let list = |r: &[usize]| r.iter().map(usize::to_string).collect::<Vec<_>>();
    match rows {
        [] => "no row".into(),
        [one] => format!("row {one}"),
        [init @ .., last] if rows.len() <= ROWS_LISTED => {
            format!("rows {} and {last}", list(init).join(", "))
        }
        _ => format!(
            "{} rows: {}, ... and {}",
            rows.len(),
            list(&rows[..ROWS_LISTED - 1]).join(", "),
            rows[rows.len() - 1]
        ),
    }
}

/// A table's key columns in read batches, compared as typed tuples.
struct KeyColumns {
    def: &'static TableDef,
    indices: Vec<usize>,
    types: Vec<DataType>,
    first_index: usize,
    converter: RowConverter,
}

impl KeyColumns {
    fn new(def: &'static TableDef) -> Result<Self> {
        let schema = def.arrow_schema();
        let mut indices = Vec::new();
        let mut types = Vec::new();
        for k in def.primary_key {
            let i = schema
                .index_of(k)
                .map_err(|source| arrow_err("finding the key columns", source))?;
            indices.push(i);
            types.push(schema.field(i).data_type().clone());
        }
        let converter = RowConverter::new(types.iter().cloned().map(SortField::new).collect())
            .map_err(|source| arrow_err("comparing keys", source))?;
        Ok(Self {
            def,
            first_index: indices.first().copied().unwrap_or(0),
            indices,
            types,
            converter,
        })
    }

    fn first(&self) -> &'static str {
        self.def.primary_key.first().copied().unwrap_or_default()
    }

    /// The key columns of a read batch.
    fn columns(&self, b: &RecordBatch) -> Vec<ArrayRef> {
        self.indices
            .iter()
            .map(|&i| Arc::clone(b.column(i)))
            .collect()
    }

    fn rows(&self, columns: &[ArrayRef]) -> Result<Vec<OwnedRow>> {
        let rows = self
            .converter
            .convert_columns(columns)
            .map_err(|source| arrow_err("comparing keys", source))?;
        Ok(rows.iter().map(|r| r.owned()).collect())
    }

    /// `payment_id "P1"`, `shop_id "S1", traffic_date 2026-11-11`: the key at `row` of
    /// `columns` (the key columns, in key order).
    fn describe(&self, columns: &[ArrayRef], row: usize) -> String {
        self.def
            .primary_key
            .iter()
            .zip(columns)
            .map(|(name, col)| {
                let v = text_at(col, row);
                if matches!(
                    col.data_type(),
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) {
                    format!("{name} {v:?}")
                } else {
                    format!("{name} {v}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}
