//! Checks every value of the read rows against its column's rules (`rules.rs`), the way an
//! entry form checks a submitted field: one error per bad cell, naming its file row and
//! column, with the form's wording.

use std::collections::{HashMap, HashSet};

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{Date32Type, Decimal128Type, Int64Type, TimestampMicrosecondType};
use connectors::files::{CellError, FileRead};
use serde_json::Value;
use warehouse::schema::ColType;

use super::known::Known;
use super::rules::{ColumnRules, Rule};
use crate::forms::fields::{Ty, check, fen_text};

/// Distinct values per column whose verdict is remembered (a column of repeating values,
/// such as a status, an order id or a day, is checked once per value).
const MEMO_VALUES: usize = 16 * 1024;

/// What a verdict depends on: the value, or for an instant its UTC day (a form's instant check
/// depends only on the year).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Text(String),
    Int(i64),
    Fen(i128),
    Bool(bool),
    Day(i64),
}

fn key(cr: &ColumnRules, col: &ArrayRef, row: usize) -> Key {
    match cr.ty {
        ColType::Text => Key::Text(text_at(col, row)),
        ColType::Int => Key::Int(col.as_primitive::<Int64Type>().value(row)),
        ColType::Money => Key::Fen(col.as_primitive::<Decimal128Type>().value(row)),
        ColType::Bool => Key::Bool(col.as_boolean().value(row)),
        ColType::Date => Key::Day(i64::from(col.as_primitive::<Date32Type>().value(row))),
        ColType::Timestamp => Key::Day(
            col.as_primitive::<TimestampMicrosecondType>()
                .value(row)
                .div_euclid(86_400_000_000),
        ),
    }
}

/// The typed rows of a read, batch by batch with the file row of each: the good rows, then
/// the rows rejected while reading (whose unreadable cells are null), so a row with a bad
/// cell still has its other problems reported.
pub(crate) fn typed(read: &FileRead) -> Vec<(&RecordBatch, &[usize])> {
    let mut out = Vec::new();
    for (batches, rows) in [
        (&read.batches, &read.rows),
        (&read.partial, &read.partial_rows),
    ] {
        let mut offset = 0;
        for b in batches {
            let n = b.num_rows();
            out.push((b, &rows[offset..offset + n]));
            offset += n;
        }
    }
    out
}

/// Every rule violation in `read`'s rows.
pub(crate) fn rows(read: &FileRead, rules: &[ColumnRules], known: &Known) -> Vec<CellError> {
    let parts = typed(read);
    let mut errors = Vec::new();
    for cr in rules {
        let mut memo: HashMap<Key, Option<String>> = HashMap::new();
        for (b, rows) in &parts {
            let col = b.column(cr.index);
            for (r, &row) in rows.iter().enumerate() {
                if !col.is_valid(r) {
                    continue;
                }
                let k = key(cr, col, r);
                let verdict = match memo.get(&k) {
                    Some(v) => v.clone(),
                    None => {
                        let v = problem(cr, col, r, known);
                        if memo.len() < MEMO_VALUES {
                            memo.insert(k, v.clone());
                        }
                        v
                    }
                };
                if let Some(reason) = verdict {
                    errors.push(CellError {
                        row,
                        column: cr.column.to_string(),
                        value: read.cell_text(row, cr.index),
                        reason,
                    });
                }
            }
        }
    }
    errors
}

/// Why the value at `row` of `col` breaks one of the column's rules (the first it breaks).
fn problem(cr: &ColumnRules, col: &ArrayRef, row: usize, known: &Known) -> Option<String> {
    for rule in &cr.rules {
        let verdict = match *rule {
            Rule::Field(ty) => json_value(cr.ty, ty, col, row).and_then(|v| check(ty, &v)),
            Rule::OneOf(words) => json_value(cr.ty, Ty::Enum(words), col, row)
                .and_then(|v| check(Ty::Enum(words), &v)),
            Rule::Calendar => {
                let ty = if cr.ty == ColType::Date {
                    Ty::Date
                } else {
                    Ty::Timestamp
                };
                json_value(cr.ty, ty, col, row).and_then(|v| check(ty, &v))
            }
            Rule::Ref { target, list } => {
                let text = text_at(col, row);
                let ids: Vec<&str> = if list {
                    text.split(',').map(str::trim).collect()
                } else {
                    vec![text.as_str()]
                };
                match ids.into_iter().find(|id| !known.contains(&target, id)) {
                    Some(id) => Err(format!(
                        "unknown {} {id:?} (table {} has no such {})",
                        target.noun, target.table, target.column
                    )),
                    None => Ok(Value::Null),
                }
            }
        };
        if let Err(reason) = verdict {
            return Some(reason);
        }
    }
    None
}

/// The value as the JSON an entry form would have received for a field of type `ty`
/// (money as `"12.30"`, dates `YYYY-MM-DD`, instants RFC 3339 UTC; attributes as their JSON
/// object, id lists split at commas).
fn json_value(col_ty: ColType, ty: Ty, col: &ArrayRef, row: usize) -> Result<Value, String> {
    Ok(match col_ty {
        ColType::Text => {
            let s = text_at(col, row);
            match ty {
                Ty::Attrs => serde_json::from_str(&s).map_err(|_| {
                    "must be a JSON object of text values, e.g. {\"颜色\": \"白\"}".to_string()
                })?,
                Ty::IdList => Value::Array(s.split(',').map(|p| Value::from(p.trim())).collect()),
                _ => Value::from(s),
            }
        }
        ColType::Int => Value::from(col.as_primitive::<Int64Type>().value(row)),
        ColType::Money => Value::from(fen_text(col.as_primitive::<Decimal128Type>().value(row))),
        ColType::Bool => Value::Bool(col.as_boolean().value(row)),
        ColType::Date => {
            let days = col.as_primitive::<Date32Type>().value(row);
            let day = chrono::NaiveDate::from_num_days_from_ce_opt(days.saturating_add(719_163))
                .ok_or("is not a date in range")?;
            Value::from(day.format("%Y-%m-%d").to_string())
        }
        ColType::Timestamp => {
            let us = col.as_primitive::<TimestampMicrosecondType>().value(row);
            let t = chrono::DateTime::from_timestamp_micros(us).ok_or("is not a time in range")?;
            Value::from(t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        }
    })
}

/// A text cell (any string layout), or the value's display for other types.
pub(crate) fn text_at(col: &ArrayRef, row: usize) -> String {
    match col.data_type() {
        arrow::datatypes::DataType::Utf8 => col.as_string::<i32>().value(row).to_string(),
        arrow::datatypes::DataType::LargeUtf8 => col.as_string::<i64>().value(row).to_string(),
        arrow::datatypes::DataType::Utf8View => col.as_string_view().value(row).to_string(),
        _ => arrow::util::display::ArrayFormatter::try_new(
            col.as_ref(),
            &arrow::util::display::FormatOptions::default(),
        )
        .map(|f| f.value(row).to_string())
        .unwrap_or_default(),
    }
}

/// The text values of column `index` in `read`'s rows (each id of a list when `list`), once
/// each.
pub(crate) fn distinct_texts(read: &FileRead, index: usize, list: bool) -> HashSet<String> {
    let mut out = HashSet::new();
    for (b, _) in typed(read) {
        let col = b.column(index);
        for r in 0..b.num_rows() {
            if col.is_valid(r) {
                let t = text_at(col, r);
                if list {
                    out.extend(t.split(',').map(|p| p.trim().to_string()));
                } else {
                    out.insert(t);
                }
            }
        }
    }
    out
}
