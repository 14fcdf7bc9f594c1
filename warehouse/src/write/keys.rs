//! Primary keys as typed tuples. Keys are compared with Arrow's row format, so
//! `("S|A", "B")` and `("S", "A|B")` are two keys, and a date stays a date; text is made only
//! for messages, one `column = value` pair at a time.

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::row::{OwnedRow, RowConverter, SortField};
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::error::{Result, WarehouseError};
use crate::schema::TableDef;

/// Converts a table's key columns into comparable rows.
pub(crate) struct KeyRows {
    def: &'static TableDef,
    converter: RowConverter,
}

impl KeyRows {
    pub(crate) fn new(def: &'static TableDef) -> Result<Self> {
        let schema = def.arrow_schema();
        let fields = def
            .primary_key
            .iter()
            .map(|k| {
                schema
                    .field_with_name(k)
                    .map(|f| SortField::new(f.data_type().clone()))
                    .map_err(|e| arrow_err("reading key columns", e))
            })
            .collect::<Result<Vec<_>>>()?;
        let converter = RowConverter::new(fields).map_err(|e| arrow_err("comparing keys", e))?;
        Ok(Self { def, converter })
    }

    /// The key columns of a batch conformed to the table.
    pub(crate) fn columns(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        self.def
            .primary_key
            .iter()
            .map(|k| {
                batch
                    .column_by_name(k)
                    .cloned()
                    .ok_or_else(|| WarehouseError::Schema {
                        table: self.def.name.into(),
                        reason: format!("key column `{k}` is missing"),
                    })
            })
            .collect()
    }

    /// One comparable key per row of `batch`.
    pub(crate) fn rows(&self, batch: &RecordBatch) -> Result<Vec<OwnedRow>> {
        let cols = self.columns(batch)?;
        let rows = self
            .converter
            .convert_columns(&cols)
            .map_err(|e| arrow_err("comparing keys", e))?;
        Ok(rows.iter().map(|r| r.owned()).collect())
    }
}

/// Refuses input that repeats a key (MERGE cannot choose between two source rows and an append
/// would double a row); the error names the key and the rows, counted from 1 across batches.
pub(crate) fn refuse_repeated_keys(def: &'static TableDef, batches: &[RecordBatch]) -> Result<()> {
    let keys = KeyRows::new(def)?;
    let mut seen: HashMap<OwnedRow, usize> = HashMap::new();
    let mut offset = 0usize;
    for b in batches {
        for (i, k) in keys.rows(b)?.into_iter().enumerate() {
            let row = offset + i + 1;
            if let Some(first) = seen.insert(k, row) {
                return Err(WarehouseError::Schema {
                    table: def.name.into(),
                    reason: format!(
                        "primary key {} appears more than once in the input (rows {first} and {row})",
                        describe(def, &keys.columns(b)?, i)?
                    ),
                });
            }
        }
        offset += b.num_rows();
    }
    Ok(())
}

/// `a = 'x', b = 2026-01-01`: one row's key, each part named and text quoted.
pub(crate) fn describe(def: &TableDef, columns: &[ArrayRef], row: usize) -> Result<String> {
    let opts = FormatOptions::default();
    let mut parts = Vec::with_capacity(columns.len());
    for (name, c) in def.primary_key.iter().zip(columns) {
        let f = ArrayFormatter::try_new(c.as_ref() as &dyn Array, &opts)
            .map_err(|e| arrow_err("formatting keys", e))?;
        let v = f.value(row).to_string();
        let v = if c.data_type().is_numeric()
            || matches!(c.data_type(), arrow::datatypes::DataType::Date32)
        {
            v
        } else {
            format!("'{}'", v.replace('\'', "''"))
        };
        parts.push(format!("{name} = {v}"));
    }
    Ok(parts.join(", "))
}

fn arrow_err(op: &'static str, source: arrow::error::ArrowError) -> WarehouseError {
    WarehouseError::Arrow { op, source }
}
