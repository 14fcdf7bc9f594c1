//! Reading a check's result rows into [`Found`] breaks, with their stable identity.

use std::collections::HashMap;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type, Decimal128Type};

use super::spec::{CheckSpec, REQUIRED_COLUMNS, Unit};
use crate::error::{PipelineError, Result};

/// A break as one run found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// `check:key1|key2`: the same break keeps this id across runs.
    pub id: String,
    pub kind: String,
    /// Days since 1970-01-01 (an Asia/Shanghai business date).
    pub break_date: i32,
    pub shop_id: Option<String>,
    /// `key=value, ...` for people.
    pub key_values: String,
    /// In hundredths (fen for money, 1/100 unit for quantities).
    pub expected: Option<i128>,
    pub actual: Option<i128>,
    pub difference: i128,
    pub amount_at_stake: i128,
    pub detail: Option<String>,
}

/// The identity of a break of `check` with these key values.
pub fn break_id(check: &str, keys: &[String]) -> String {
    format!("{check}:{}", keys.join("|"))
}

fn column<'a>(spec: &CheckSpec, b: &'a RecordBatch, name: &str) -> Result<&'a dyn Array> {
    b.column_by_name(name)
        .map(|c| c.as_ref())
        .ok_or_else(|| PipelineError::Check {
            check: spec.name.clone(),
            reason: format!(
                "the query returns no `{name}` column (it must return {} and its keys {})",
                REQUIRED_COLUMNS.join(", "),
                spec.keys.join(", ")
            ),
        })
}

fn as_type(
    spec: &CheckSpec,
    a: &dyn Array,
    name: &str,
    to: &DataType,
) -> Result<arrow::array::ArrayRef> {
    cast(a, to).map_err(|e| PipelineError::Check {
        check: spec.name.clone(),
        reason: format!("column `{name}` cannot be read as {to}: {e}"),
    })
}

fn texts(spec: &CheckSpec, b: &RecordBatch, name: &str) -> Result<Vec<Option<String>>> {
    let a = as_type(spec, column(spec, b, name)?, name, &DataType::Utf8)?;
    let s = a.as_string::<i32>();
    Ok((0..s.len())
        .map(|i| s.is_valid(i).then(|| s.value(i).to_string()))
        .collect())
}

fn hundredths(spec: &CheckSpec, b: &RecordBatch, name: &str) -> Result<Vec<Option<i128>>> {
    let a = as_type(
        spec,
        column(spec, b, name)?,
        name,
        &DataType::Decimal128(38, 2),
    )?;
    let d = a.as_primitive::<Decimal128Type>();
    Ok((0..d.len())
        .map(|i| d.is_valid(i).then(|| d.value(i)))
        .collect())
}

/// Reads every row of the check's result. Two rows with one identity are an error: a check's
/// query must return one row per key.
pub(crate) fn read_found(spec: &CheckSpec, batches: &[RecordBatch]) -> Result<Vec<Found>> {
    let mut out = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for b in batches.iter().filter(|b| b.num_rows() > 0) {
        let kind = texts(spec, b, "kind")?;
        let shop = texts(spec, b, "shop_id")?;
        let detail = texts(spec, b, "detail")?;
        let expected = hundredths(spec, b, "expected")?;
        let actual = hundredths(spec, b, "actual")?;
        let stake = match b.column_by_name("amount_at_stake") {
            Some(_) => Some(hundredths(spec, b, "amount_at_stake")?),
            None => None,
        };
        let dates = as_type(
            spec,
            column(spec, b, "break_date")?,
            "break_date",
            &DataType::Date32,
        )?;
        let dates = dates.as_primitive::<Date32Type>();
        let keys = spec
            .keys
            .iter()
            .map(|k| texts(spec, b, k))
            .collect::<Result<Vec<_>>>()?;
        for row in 0..b.num_rows() {
            let key_vals: Vec<String> = keys
                .iter()
                .map(|k| k[row].clone().unwrap_or_default())
                .collect();
            let id = break_id(&spec.name, &key_vals);
            if seen.insert(id.clone(), out.len()).is_some() {
                return Err(PipelineError::Check {
                    check: spec.name.clone(),
                    reason: format!(
                        "the query returned key {id} twice; it must return one row per key"
                    ),
                });
            }
            if !dates.is_valid(row) {
                return Err(PipelineError::Check {
                    check: spec.name.clone(),
                    reason: format!("break {id} has no break_date"),
                });
            }
            let difference = actual[row].unwrap_or(0) - expected[row].unwrap_or(0);
            let amount_at_stake = match (&stake, spec.unit) {
                (Some(s), _) => s[row].unwrap_or(0).abs(),
                (None, Unit::Money) => difference.abs(),
                (None, Unit::Qty) => 0,
            };
            out.push(Found {
                id,
                kind: kind[row].clone().unwrap_or_else(|| "UNSPECIFIED".into()),
                break_date: dates.value(row),
                shop_id: shop[row].clone(),
                key_values: spec
                    .keys
                    .iter()
                    .zip(&key_vals)
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                expected: expected[row],
                actual: actual[row],
                difference,
                amount_at_stake,
                detail: detail[row].clone(),
            });
        }
    }
    Ok(out)
}
