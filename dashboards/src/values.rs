//! Arrow cells as JSON values for inline chart data.
//!
//! Money (`Decimal128`) is written from its exact decimal text as a JSON number; integers as
//! integers; dates as `YYYY-MM-DD` and instants as RFC 3339 UTC, which Vega-Lite parses as
//! temporal values; null as null. A number on a chart is the number in SQL, digit for digit,
//! for values of up to 15 significant digits (a trillion yuan with fen), the precision a
//! browser's numbers keep.

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Int64Type};
use serde_json::{Map, Number, Value};

use crate::DashError;

fn cell(panel: &str, name: &str, a: &ArrayRef, i: usize) -> Result<Value, DashError> {
    if a.is_null(i) {
        return Ok(Value::Null);
    }
    let err = |reason: String| DashError::Cell {
        panel: panel.to_string(),
        column: name.to_string(),
        reason,
    };
    Ok(match a.data_type() {
        DataType::Int64 => Value::from(a.as_primitive::<Int64Type>().value(i)),
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => {
            let c = arrow::compute::cast(a, &DataType::Int64).map_err(|e| err(e.to_string()))?;
            Value::from(c.as_primitive::<Int64Type>().value(i))
        }
        DataType::Boolean => Value::from(a.as_boolean().value(i)),
        DataType::Decimal128(_, _) | DataType::Float32 | DataType::Float64 => {
            let text = arrow::util::display::array_value_to_string(a, i)
                .map_err(|e| err(e.to_string()))?;
            let n: f64 = text
                .parse()
                .map_err(|e| err(format!("{text:?} is not a number: {e}")))?;
            Value::Number(Number::from_f64(n).ok_or_else(|| err(format!("{text} is not finite")))?)
        }
        DataType::Timestamp(_, _) => {
            let text = arrow::util::display::array_value_to_string(a, i)
                .map_err(|e| err(e.to_string()))?;
            // Arrow prints UTC instants as `2026-11-20T02:00:00` (+ `Z` when zoned).
            let t = text.trim_end_matches('Z');
            Value::from(format!("{t}Z"))
        }
        _ => Value::from(
            arrow::util::display::array_value_to_string(a, i).map_err(|e| err(e.to_string()))?,
        ),
    })
}

/// The rows of `batches` as JSON objects keyed by column name.
pub fn rows_json(panel: &str, batches: &[RecordBatch]) -> Result<Vec<Value>, DashError> {
    let mut out = Vec::new();
    for b in batches {
        let schema = b.schema();
        for i in 0..b.num_rows() {
            let mut row = Map::new();
            for (f, a) in schema.fields().iter().zip(b.columns()) {
                row.insert(f.name().clone(), cell(panel, f.name(), a, i)?);
            }
            out.push(Value::Object(row));
        }
    }
    Ok(out)
}
