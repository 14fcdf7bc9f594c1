//! Functions whose output can dwarf their input, wrapped so one call cannot allocate more than
//! [`MAX_CALL_BYTES`]: the wrapper computes what the call would build from its arguments
//! (lengths and counts, never the values) and refuses before the real function runs.

use std::any::Any;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, FieldRef, Int64Type};
use datafusion::common::config::ConfigOptions;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::FunctionRegistry as _;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature,
};
use datafusion::prelude::SessionContext;

/// Most bytes one call of a capped function may build (per batch: a call covers every row of
/// the batch it is evaluated on).
pub const MAX_CALL_BYTES: u128 = 64 << 20;

/// Rows a constant may be copied to: a call whose arguments are all constants folds into one
/// value, which a projection then repeats on every row of each batch (8,192, DataFusion's batch
/// size). So a constant may be at most `MAX_CALL_BYTES / BROADCAST_ROWS` (8 KiB).
pub const BROADCAST_ROWS: u128 = 8192;

/// How a capped function's output size follows from its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Rule {
    /// `repeat(text, n)`: `len(text) × n`.
    Repeat,
    /// `lpad/rpad(text, n[, fill])`: `n` characters of up to 4 bytes.
    Pad,
    /// `replace(text, from, to)`: every `from` in `text` becomes `to`.
    Replace,
    /// `regexp_replace(text, pattern, to[, flags])`: at most one match per byte, plus one.
    RegexpReplace,
    /// `range/generate_series([start,] stop[, step])`: 8 bytes an element.
    Series,
    /// `array_repeat(value, n)`: `n` copies of the value (8 bytes a byte or element of it).
    ArrayRepeat,
    /// `array_resize(list, n[, fill])`: `n` elements.
    ArrayResize,
}

/// The functions capped, by name, with their rule.
const CAPPED: &[(&str, Rule)] = &[
    ("repeat", Rule::Repeat),
    ("lpad", Rule::Pad),
    ("rpad", Rule::Pad),
    ("replace", Rule::Replace),
    ("regexp_replace", Rule::RegexpReplace),
    ("range", Rule::Series),
    ("generate_series", Rule::Series),
    ("array_repeat", Rule::ArrayRepeat),
    ("array_resize", Rule::ArrayResize),
];

/// Replaces the allocating functions of `ctx` with capped ones (same names, aliases,
/// signatures and results).
pub fn cap_functions(ctx: &SessionContext) {
    for (name, rule) in CAPPED {
        if let Ok(udf) = ctx.udf(name) {
            ctx.register_udf(ScalarUDF::new_from_impl(Capped {
                inner: Arc::clone(udf.inner()),
                rule: *rule,
            }));
        }
    }
}

#[derive(Debug)]
struct Capped {
    inner: Arc<dyn ScalarUDFImpl>,
    rule: Rule,
}

impl PartialEq for Capped {
    fn eq(&self, other: &Self) -> bool {
        self.rule == other.rule && self.inner.dyn_eq(other.inner.as_ref() as &dyn Any)
    }
}
impl Eq for Capped {}
impl std::hash::Hash for Capped {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.rule.hash(state);
        self.inner.dyn_hash(state);
    }
}

impl ScalarUDFImpl for Capped {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }
    fn signature(&self) -> &Signature {
        self.inner.signature()
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }
    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.inner.return_field_from_args(args)
    }
    fn with_updated_config(&self, config: &ConfigOptions) -> Option<ScalarUDF> {
        self.inner.with_updated_config(config).map(|u| {
            ScalarUDF::new_from_impl(Capped {
                inner: Arc::clone(u.inner()),
                rule: self.rule,
            })
        })
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }
    fn short_circuits(&self) -> bool {
        self.inner.short_circuits()
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let bytes = output_bytes(self.rule, &args.args, args.number_rows)?;
        if bytes > MAX_CALL_BYTES {
            return Err(DataFusionError::ResourcesExhausted(format!(
                "{}() would build {} MiB in one call (a constant counts once per row it may be repeated on, {BROADCAST_ROWS}); a function call may build at most {} MiB",
                self.inner.name(),
                bytes >> 20,
                MAX_CALL_BYTES >> 20
            )));
        }
        self.inner.invoke_with_args(args)
    }
}

/// An argument's per-row numbers: one value for a scalar, one per row for an array.
enum Vals {
    One(Option<i128>),
    Many(Vec<Option<i128>>),
}

impl Vals {
    fn at(&self, row: usize) -> Option<i128> {
        match self {
            Vals::One(v) => *v,
            Vals::Many(v) => v.get(row).copied().flatten(),
        }
    }
}

fn as_array(v: &ColumnarValue) -> Result<(ArrayRef, bool)> {
    Ok(match v {
        ColumnarValue::Scalar(s) => (s.to_array_of_size(1)?, true),
        ColumnarValue::Array(a) => (Arc::clone(a), false),
    })
}

/// The values of an `Int64` array (what [`ints`] and [`lens`] cast to).
fn collect(a: &ArrayRef, scalar: bool) -> Vals {
    let v: Vec<Option<i128>> = a
        .as_primitive::<Int64Type>()
        .iter()
        .map(|x| x.map(i128::from))
        .collect();
    if scalar {
        Vals::One(v.first().copied().flatten())
    } else {
        Vals::Many(v)
    }
}

/// Whole-number arguments (`None` per row when null; `Vals::One(None)` when not a number).
fn ints(v: &ColumnarValue) -> Result<Vals> {
    let (a, scalar) = as_array(v)?;
    match arrow::compute::cast(&a, &DataType::Int64) {
        Ok(a) => Ok(collect(&a, scalar)),
        Err(_) => Ok(Vals::One(None)),
    }
}

/// Byte lengths of text (or binary) arguments; for other values their in-memory size.
fn lens(v: &ColumnarValue) -> Result<Vals> {
    let (a, scalar) = as_array(v)?;
    match arrow::compute::kernels::length::length(&a)
        .and_then(|l| arrow::compute::cast(&l, &DataType::Int64))
    {
        Ok(l) => Ok(collect(&l, scalar)),
        Err(_) => {
            let per_row = a.get_array_memory_size() / a.len().max(1);
            Ok(Vals::One(Some(per_row as i128)))
        }
    }
}

/// Nanoseconds in one unit of a date or timestamp type's integer value.
fn unit_nanos(t: &DataType) -> Option<i128> {
    use arrow::datatypes::TimeUnit;
    Some(match t {
        DataType::Date32 => 86_400_000_000_000,
        DataType::Date64 | DataType::Timestamp(TimeUnit::Millisecond, _) => 1_000_000,
        DataType::Timestamp(TimeUnit::Second, _) => 1_000_000_000,
        DataType::Timestamp(TimeUnit::Microsecond, _) => 1_000,
        DataType::Timestamp(TimeUnit::Nanosecond, _) => 1,
        _ => return None,
    })
}

/// An interval step as a count of `unit` nanoseconds (at least 1; a month counts as its
/// shortest, 28 days, so the estimate never falls below the real size).
fn interval_steps(v: &ColumnarValue, unit: i128) -> Result<Vals> {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{IntervalDayTimeType, IntervalMonthDayNanoType, IntervalYearMonthType};
    const DAY: i128 = 86_400_000_000_000;
    let (a, scalar) = as_array(v)?;
    let nanos: Vec<Option<i128>> = match a.data_type() {
        DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano) => a
            .as_primitive::<IntervalMonthDayNanoType>()
            .iter()
            .map(|x| {
                x.map(|i| {
                    i128::from(i.months).abs() * 28 * DAY
                        + i128::from(i.days).abs() * DAY
                        + i128::from(i.nanoseconds).abs()
                })
            })
            .collect(),
        DataType::Interval(arrow::datatypes::IntervalUnit::DayTime) => a
            .as_primitive::<IntervalDayTimeType>()
            .iter()
            .map(|x| {
                x.map(|i| {
                    i128::from(i.days).abs() * DAY + i128::from(i.milliseconds).abs() * 1_000_000
                })
            })
            .collect(),
        DataType::Interval(arrow::datatypes::IntervalUnit::YearMonth) => a
            .as_primitive::<IntervalYearMonthType>()
            .iter()
            .map(|x| x.map(|m| i128::from(m).abs() * 28 * DAY))
            .collect(),
        _ => return ints(v),
    };
    let steps: Vec<Option<i128>> = (0..a.len())
        .map(|i| {
            nanos
                .get(i)
                .copied()
                .flatten()
                .filter(|_| a.is_valid(i))
                .map(|n| (n / unit.max(1)).max(1))
        })
        .collect();
    Ok(if scalar {
        Vals::One(steps.first().copied().flatten())
    } else {
        Vals::Many(steps)
    })
}

/// What a call would build, in bytes, over all its rows.
fn output_bytes(rule: Rule, args: &[ColumnarValue], rows: usize) -> Result<u128> {
    let all_scalar = args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
    let rows = if all_scalar { 1 } else { rows.max(1) };
    let total = per_call_bytes(rule, args, rows)?;
    Ok(if all_scalar {
        total.saturating_mul(BROADCAST_ROWS)
    } else {
        total
    })
}

fn per_call_bytes(rule: Rule, args: &[ColumnarValue], rows: usize) -> Result<u128> {
    let arg = |i: usize| args.get(i);
    let pos = |v: Option<i128>| v.unwrap_or(0).max(0) as u128;
    let mut total: u128 = 0;
    let vals = |i: usize, f: fn(&ColumnarValue) -> Result<Vals>| -> Result<Option<Vals>> {
        arg(i).map(f).transpose()
    };
    match rule {
        Rule::Repeat => {
            let (Some(s), Some(n)) = (vals(0, lens)?, vals(1, ints)?) else {
                return Ok(0);
            };
            for r in 0..rows {
                total = total.saturating_add(pos(s.at(r)).saturating_mul(pos(n.at(r))));
            }
        }
        Rule::Pad => {
            let Some(n) = vals(1, ints)? else {
                return Ok(0);
            };
            for r in 0..rows {
                total = total.saturating_add(pos(n.at(r)).saturating_mul(4));
            }
        }
        Rule::Replace | Rule::RegexpReplace => {
            let (Some(s), Some(to)) = (vals(0, lens)?, vals(2, lens)?) else {
                return Ok(0);
            };
            let from = if rule == Rule::Replace {
                vals(1, lens)?
            } else {
                None
            };
            for r in 0..rows {
                let len = pos(s.at(r));
                let matches = match &from {
                    Some(f) if pos(f.at(r)) > 0 => len / pos(f.at(r)),
                    Some(_) => 0,
                    None => len + 1,
                };
                total =
                    total.saturating_add(len.saturating_add(matches.saturating_mul(pos(to.at(r)))));
            }
        }
        Rule::Series => {
            let (start, stop, step) = match args.len() {
                1 => (None, vals(0, ints)?, None),
                2 => (vals(0, ints)?, vals(1, ints)?, None),
                _ => {
                    // Dates and timestamps step by an interval: express it in the unit the
                    // bounds are counted in (days, or the timestamp's unit).
                    let unit = arg(0).and_then(|a| unit_nanos(&a.data_type()));
                    let step = match (unit, arg(2)) {
                        (Some(unit), Some(s)) => Some(interval_steps(s, unit)?),
                        _ => vals(2, ints)?,
                    };
                    (vals(0, ints)?, vals(1, ints)?, step)
                }
            };
            let Some(stop) = stop else { return Ok(0) };
            for r in 0..rows {
                let (a, b) = (
                    start.as_ref().and_then(|s| s.at(r)).unwrap_or(0),
                    stop.at(r),
                );
                let Some(b) = b else { continue };
                let step = step
                    .as_ref()
                    .and_then(|s| s.at(r))
                    .unwrap_or(1)
                    .unsigned_abs()
                    .max(1);
                let n = (b - a).unsigned_abs() / step + 1;
                total = total.saturating_add(n.saturating_mul(8));
            }
        }
        Rule::ArrayRepeat => {
            let (Some(v), Some(n)) = (vals(0, lens)?, vals(1, ints)?) else {
                return Ok(0);
            };
            for r in 0..rows {
                let each = pos(v.at(r)).max(1).saturating_mul(8);
                total = total.saturating_add(each.saturating_mul(pos(n.at(r))));
            }
        }
        Rule::ArrayResize => {
            let Some(n) = vals(1, ints)? else {
                return Ok(0);
            };
            for r in 0..rows {
                total = total.saturating_add(pos(n.at(r)).saturating_mul(16));
            }
        }
    }
    Ok(total)
}
