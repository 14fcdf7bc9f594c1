//! Header checks and typed batch building.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;

use super::coerce::{self, Cell};
use super::source::RawTable;
use super::{CellError, FileError, FileRead, RejectedRow};

const BATCH_ROWS: usize = 64 * 1024;

enum Col {
    Text(StringBuilder),
    Int(Int64Builder),
    Dec(Decimal128Builder, i8),
    Bool(BooleanBuilder),
    Date(Date32Builder),
    Ts(TimestampMicrosecondBuilder),
}

enum Val {
    Null,
    Text(String),
    Int(i64),
    Dec(i128),
    Bool(bool),
    Date(i32),
    Ts(i64),
}

fn builder(ty: &DataType) -> Option<Col> {
    Some(match ty {
        DataType::Utf8 => Col::Text(StringBuilder::new()),
        DataType::Int64 => Col::Int(Int64Builder::new()),
        DataType::Decimal128(p, s) => Col::Dec(
            Decimal128Builder::new()
                .with_precision_and_scale(*p, *s)
                .ok()?,
            *s,
        ),
        DataType::Boolean => Col::Bool(BooleanBuilder::new()),
        DataType::Date32 => Col::Date(Date32Builder::new()),
        DataType::Timestamp(TimeUnit::Microsecond, tz) => {
            Col::Ts(TimestampMicrosecondBuilder::new().with_timezone_opt(tz.clone()))
        }
        _ => return None,
    })
}

fn parse(col: &Col, cell: &Cell) -> Result<Val, String> {
    if let Some(reason) = coerce::unreadable(cell) {
        return Err(reason);
    }
    if cell.is_empty() {
        return Ok(Val::Null);
    }
    Ok(match col {
        Col::Text(_) => Val::Text(coerce::to_text(cell)),
        Col::Int(_) => Val::Int(coerce::to_i64(cell)?),
        Col::Dec(_, s) => Val::Dec(coerce::to_decimal(cell, *s)?),
        Col::Bool(_) => Val::Bool(coerce::to_bool(cell)?),
        Col::Date(_) => Val::Date(coerce::to_date32(cell)?),
        Col::Ts(_) => Val::Ts(coerce::to_timestamp_us(cell)?),
    })
}

fn push(col: &mut Col, v: Val) {
    match (col, v) {
        (Col::Text(b), Val::Text(s)) => b.append_value(s),
        (Col::Int(b), Val::Int(i)) => b.append_value(i),
        (Col::Dec(b, _), Val::Dec(d)) => b.append_value(d),
        (Col::Bool(b), Val::Bool(x)) => b.append_value(x),
        (Col::Date(b), Val::Date(d)) => b.append_value(d),
        (Col::Ts(b), Val::Ts(t)) => b.append_value(t),
        (Col::Text(b), _) => b.append_null(),
        (Col::Int(b), _) => b.append_null(),
        (Col::Dec(b, _), _) => b.append_null(),
        (Col::Bool(b), _) => b.append_null(),
        (Col::Date(b), _) => b.append_null(),
        (Col::Ts(b), _) => b.append_null(),
    }
}

fn finish(col: &mut Col) -> ArrayRef {
    match col {
        Col::Text(b) => Arc::new(b.finish()),
        Col::Int(b) => Arc::new(b.finish()),
        Col::Dec(b, _) => Arc::new(b.finish()),
        Col::Bool(b) => Arc::new(b.finish()),
        Col::Date(b) => Arc::new(b.finish()),
        Col::Ts(b) => Arc::new(b.finish()),
    }
}

/// Maps file columns onto target columns, checks every cell, and builds batches of good rows
/// (and of the rejected rows' readable cells).
pub(crate) fn assemble(
    path: &str,
    raw: RawTable,
    target: &SchemaRef,
) -> Result<FileRead, FileError> {
    let header_err = |reason: String| FileError::Header {
        path: path.to_string(),
        reason,
    };
    let norm = |s: &str| s.trim().trim_start_matches('\u{feff}').to_lowercase();
    // For each target column, the file column that feeds it.
    let mut sources: Vec<Option<usize>> = Vec::with_capacity(target.fields().len());
    for (i, h) in raw.header.iter().enumerate() {
        if h.trim().is_empty() {
            return Err(header_err(format!("column {} has an empty header", i + 1)));
        }
        if raw.header[..i].iter().any(|o| norm(o) == norm(h)) {
            return Err(header_err(format!(
                "column `{}` appears twice in the header",
                h.trim()
            )));
        }
        if !target.fields().iter().any(|f| norm(f.name()) == norm(h)) {
            let known: Vec<&str> = target.fields().iter().map(|f| f.name().as_str()).collect();
            return Err(header_err(format!(
                "unknown column `{}`; the table's columns are: {}",
                h.trim(),
                known.join(", ")
            )));
        }
    }
    let mut cols = Vec::with_capacity(target.fields().len());
    let mut partial_cols = Vec::with_capacity(target.fields().len());
    for f in target.fields() {
        let src = raw.header.iter().position(|h| norm(h) == norm(f.name()));
        if src.is_none() && !f.is_nullable() {
            return Err(header_err(format!(
                "required column `{}` is missing from the header",
                f.name()
            )));
        }
        sources.push(src);
        let unsupported = || {
            header_err(format!(
                "column `{}` has an unsupported type {}",
                f.name(),
                f.data_type()
            ))
        };
        cols.push(builder(f.data_type()).ok_or_else(unsupported)?);
        partial_cols.push(builder(f.data_type()).ok_or_else(unsupported)?);
    }
    // The rejected rows' readable cells, typed, for the caller's further checks.
    let partial_schema: SchemaRef = Arc::new(Schema::new(
        target
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), f.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));

    let mut batches = Vec::new();
    let mut rejected = Vec::new();
    let mut good_rows = Vec::new();
    let mut good_cells = Vec::new();
    let mut partial = Vec::new();
    let mut partial_rows = Vec::new();
    let mut partial_pending = 0usize;
    let mut pending = 0usize;
    let mut rows_read = 0usize;
    let empty = Cell::Empty;
    for (i, row) in raw.rows.into_iter().enumerate() {
        let file_row = i + 2; // header is row 1
        if row.is_empty() {
            continue;
        }
        rows_read += 1;
        let mut errors = Vec::new();
        let mut vals = Vec::with_capacity(cols.len());
        if row.len() > raw.header.len() {
            errors.push(CellError {
                row: file_row,
                column: format!("#{}", raw.header.len() + 1),
                value: row[raw.header.len()..]
                    .iter()
                    .map(Cell::display)
                    .collect::<Vec<_>>()
                    .join(","),
                reason: format!(
                    "row has {} cells but the header has {}",
                    row.len(),
                    raw.header.len()
                ),
            });
        }
        for ((f, src), col) in target.fields().iter().zip(&sources).zip(&cols) {
            let cell = src.and_then(|s| row.get(s)).unwrap_or(&empty);
            match parse(col, cell) {
                Ok(Val::Null) if !f.is_nullable() => errors.push(CellError {
                    row: file_row,
                    column: f.name().clone(),
                    value: String::new(),
                    reason: "is required but empty".into(),
                }),
                Ok(v) => {
                    vals.push(v);
                    continue;
                }
                Err(reason) => errors.push(CellError {
                    row: file_row,
                    column: f.name().clone(),
                    value: cell.display(),
                    reason,
                }),
            }
            vals.push(Val::Null);
        }
        if errors.is_empty() {
            for (col, v) in cols.iter_mut().zip(vals) {
                push(col, v);
            }
            good_rows.push(file_row);
            good_cells.push(row);
            pending += 1;
            if pending == BATCH_ROWS {
                batches.push(flush(target, &mut cols)?);
                pending = 0;
            }
        } else {
            for (col, v) in partial_cols.iter_mut().zip(vals) {
                push(col, v);
            }
            partial_rows.push(file_row);
            partial_pending += 1;
            if partial_pending == BATCH_ROWS {
                partial.push(flush(&partial_schema, &mut partial_cols)?);
                partial_pending = 0;
            }
            rejected.push(RejectedRow {
                row: file_row,
                cells: row.iter().map(Cell::display).collect(),
                errors,
            });
        }
    }
    if pending > 0 {
        batches.push(flush(target, &mut cols)?);
    }
    if partial_pending > 0 {
        partial.push(flush(&partial_schema, &mut partial_cols)?);
    }
    Ok(FileRead {
        batches,
        rejected,
        header: raw.header,
        rows_read,
        rows: good_rows,
        partial,
        partial_rows,
        cells: good_cells,
        sources,
    })
}

fn flush(target: &SchemaRef, cols: &mut [Col]) -> Result<RecordBatch, FileError> {
    let arrays = cols.iter_mut().map(finish).collect();
    RecordBatch::try_new(Arc::clone(target), arrays).map_err(|e| FileError::Unreadable {
        path: String::new(),
        reason: e.to_string(),
    })
}
