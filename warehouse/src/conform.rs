//! Makes incoming batches fit a canonical table exactly, or says precisely why they do not.
//!
//! Columns are matched by name. Missing nullable columns are filled with nulls; missing
//! non-nullable columns, unknown columns, types that cannot be cast losslessly and nulls in
//! NOT NULL columns are errors naming the column (and the first offending row).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, new_null_array};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;

use crate::error::{Result, WarehouseError};
use crate::schema::TableDef;

/// Returns `batch` with exactly the table's columns, order and types.
pub fn conform(def: &TableDef, batch: &RecordBatch) -> Result<RecordBatch> {
    conform_to(def.name, &def.arrow_schema(), batch)
}

/// [`conform`] against an explicit schema (used for tables whose schema is loaded from the log).
pub fn conform_to(table: &str, target: &SchemaRef, batch: &RecordBatch) -> Result<RecordBatch> {
    let err = |reason: String| WarehouseError::Schema {
        table: table.to_string(),
        reason,
    };
    let input = batch.schema();
    if let Some(extra) = input
        .fields()
        .iter()
        .find(|f| target.field_with_name(f.name()).is_err())
    {
        return Err(err(format!("unknown column `{}`", extra.name())));
    }
    let strict = CastOptions {
        safe: false,
        ..Default::default()
    };
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(target.fields().len());
    for field in target.fields() {
        let array = match input.index_of(field.name()) {
            Ok(i) => {
                let col = batch.column(i);
                if col.data_type() == field.data_type() {
                    col.clone()
                } else if castable(col.data_type(), field.data_type()) {
                    cast_with_options(col, field.data_type(), &strict).map_err(|e| {
                        err(format!(
                            "column `{}`: cannot convert to {}: {e}",
                            field.name(),
                            field.data_type()
                        ))
                    })?
                } else {
                    return Err(err(format!(
                        "column `{}` is {} but the table stores {}",
                        field.name(),
                        col.data_type(),
                        field.data_type()
                    )));
                }
            }
            Err(_) if field.is_nullable() => new_null_array(field.data_type(), batch.num_rows()),
            Err(_) => {
                return Err(err(format!(
                    "required column `{}` is missing",
                    field.name()
                )));
            }
        };
        if !field.is_nullable() && array.null_count() > 0 {
            let row = (0..array.len()).find(|&r| array.is_null(r)).unwrap_or(0);
            return Err(err(format!(
                "column `{}` is required but row {row} is empty",
                field.name()
            )));
        }
        columns.push(array);
    }
    RecordBatch::try_new(Arc::clone(target), columns)
        .map_err(|e| err(format!("cannot assemble batch: {e}")))
}

/// Casts we accept silently: widening integers, decimals to the table's scale, and timestamps
/// in any unit or zone (they are instants). Floats never become money.
fn castable(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    matches!(
        (from, to),
        (Int8 | Int16 | Int32 | UInt8 | UInt16 | UInt32, Int64)
            | (
                Int8 | Int16 | Int32 | Int64 | Decimal128(_, _),
                Decimal128(_, _)
            )
            | (Timestamp(_, _), Timestamp(_, _))
            | (Date64, Date32)
            | (Utf8View | LargeUtf8, Utf8)
    )
}

#[cfg(test)]
mod tests;
