//! Records → canonical rows, as the manifest's `[[streams.tables]]` say.
//!
//! Each table reads either one row per stream record or one row per nested child record
//! (`records = "items"`), where `$parent.` paths reach the stream record. Money is read
//! exactly into `Decimal128(18,2)` (fen, or yuan text parsed without floats), times become UTC
//! instants, `date` columns the Asia/Shanghai date of a time. Every row gets `source`. A value
//! that cannot be read is a [`StreamError::Record`] naming the record and the column: nothing is
//! guessed.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use serde_json::Value;

use super::path::{JsonPath, Row};
use super::settings::{ColumnSpec, ColumnType, TableSpec};
use super::timefmt::{TimeFormat, shanghai_days};
use crate::stream::{StreamError, TableRows};
use crate::tolerant;

/// One column, compiled.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub name: String,
    kind: ColumnType,
    path: Option<JsonPath>,
    prefix: String,
    format: TimeFormat,
    value: String,
    values: Option<BTreeMap<String, String>>,
    optional: bool,
}

/// One table, compiled.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub name: String,
    records: Option<JsonPath>,
    /// Index of the `replace_by` column.
    replace_by: Option<usize>,
    columns: Vec<Column>,
}

/// A column's compile error, naming where it is.
pub(crate) fn compile_column(name: &str, c: &ColumnSpec, child: bool) -> Result<Column, String> {
    let path = c.path.as_deref().map(JsonPath::parse).transpose()?;
    match (c.kind, &path, &c.value) {
        (ColumnType::Const, _, None) => return Err("type `const` needs `value`".into()),
        (_, Some(_), Some(_)) => return Err("set `path` or a fixed `value`, not both".into()),
        (_, None, None) => return Err("needs `path` (or a fixed `value`)".into()),
        _ => {}
    }
    if path.as_ref().is_some_and(|p| p.parent) && !child {
        return Err("`$parent.` paths are only for tables with `records`".into());
    }
    if c.values.is_some() && c.kind != ColumnType::Text {
        return Err("`values` is only for type `text`".into());
    }
    if c.prefix.is_some() && c.kind != ColumnType::Text {
        return Err("`prefix` is only for type `text`".into());
    }
    if c.format.is_some() && !matches!(c.kind, ColumnType::Time | ColumnType::Date) {
        return Err("`format` is only for types `time` and `date`".into());
    }
    Ok(Column {
        name: name.to_string(),
        kind: c.kind,
        path,
        prefix: c.prefix.clone().unwrap_or_default(),
        format: TimeFormat::parse(c.format.as_deref().unwrap_or("rfc3339"))?,
        value: c.value.clone().unwrap_or_default(),
        values: c.values.clone(),
        optional: c.optional,
    })
}

/// Compiles a table; `main` is the stream's last (cursor-carrying) table.
pub(crate) fn compile_table(t: &TableSpec, main: bool) -> Result<Table, String> {
    if main && (t.records.is_some() || t.replace_by.is_some()) {
        return Err(
            "the last table is the stream's main table: one row per record, without `records` or `replace_by`"
                .into(),
        );
    }
    if t.replace_by.is_some() && t.records.is_none() {
        return Err("`replace_by` is only for tables with `records`".into());
    }
    if t.columns.is_empty() {
        return Err("has no columns".into());
    }
    if t.columns.contains_key("source") {
        return Err("`source` is set by the connector; do not map it".into());
    }
    let child = t.records.is_some();
    let columns = t
        .columns
        .iter()
        .map(|(name, c)| compile_column(name, c, child).map_err(|e| format!("columns.{name}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let replace_by = match &t.replace_by {
        None => None,
        Some(col) => {
            let i = columns
                .iter()
                .position(|c| &c.name == col)
                .ok_or_else(|| format!("replace_by = `{col}` is not one of the table's columns"))?;
            let c = &columns[i];
            if !(c.kind == ColumnType::Const || c.path.as_ref().is_some_and(|p| p.parent)) {
                return Err(format!(
                    "replace_by = `{col}`: that column must read the parent (`$parent.` path)"
                ));
            }
            Some(i)
        }
    };
    Ok(Table {
        name: t.table.clone(),
        records: t.records.as_deref().map(JsonPath::parse).transpose()?,
        replace_by,
        columns,
    })
}

enum Builder {
    Text(StringBuilder),
    Int(Int64Builder),
    Money(Decimal128Builder),
    Bool(BooleanBuilder),
    Time(TimestampMicrosecondBuilder),
    Date(Date32Builder),
}

impl Builder {
    fn new(kind: ColumnType) -> Self {
        match kind {
            ColumnType::Text | ColumnType::Const => Builder::Text(StringBuilder::new()),
            ColumnType::Int => Builder::Int(Int64Builder::new()),
            ColumnType::Fen | ColumnType::Yuan => {
                Builder::Money(Decimal128Builder::new().with_data_type(DataType::Decimal128(18, 2)))
            }
            ColumnType::Bool => Builder::Bool(BooleanBuilder::new()),
            ColumnType::Time => {
                Builder::Time(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
            }
            ColumnType::Date => Builder::Date(Date32Builder::new()),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::Money(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Time(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
        }
    }
}

fn data_type(kind: ColumnType) -> DataType {
    match kind {
        ColumnType::Text | ColumnType::Const => DataType::Utf8,
        ColumnType::Int => DataType::Int64,
        ColumnType::Fen | ColumnType::Yuan => DataType::Decimal128(18, 2),
        ColumnType::Bool => DataType::Boolean,
        ColumnType::Time => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ColumnType::Date => DataType::Date32,
    }
}

/// A typed cell.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Text(String),
    Int(i64),
    Money(i64),
    Bool(bool),
    Time(i64),
    Date(i32),
}

fn absent(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        _ => false,
    }
}

impl Column {
    /// Reads this column of `row`; an error says why, without the column's name.
    fn read(&self, row: Row<'_>) -> Result<Cell, String> {
        let fixed;
        let (v, path) = match &self.path {
            Some(p) => (row.get(p), p.as_str()),
            None => {
                fixed = Value::String(self.value.clone());
                (Some(&fixed), "value")
            }
        };
        if absent(v) {
            return if self.optional {
                Ok(Cell::Null)
            } else {
                Err(format!("`{path}` is missing"))
            };
        }
        let v = v.unwrap_or(&Value::Null);
        let bad = |what: &str| format!("`{path}` = {v} is not {what}");
        Ok(match self.kind {
            ColumnType::Text | ColumnType::Const => {
                let text = tolerant::text(Some(v)).ok_or_else(|| bad("text"))?;
                let text = match &self.values {
                    None => text,
                    Some(map) => map.get(&text).cloned().ok_or_else(|| {
                        format!(
                            "`{}` = {text:?} is not one of the mapped values ({})",
                            path,
                            map.keys().cloned().collect::<Vec<_>>().join(", ")
                        )
                    })?,
                };
                Cell::Text(format!("{}{text}", self.prefix))
            }
            ColumnType::Int => {
                Cell::Int(tolerant::int(Some(v)).ok_or_else(|| bad("a whole number"))?)
            }
            ColumnType::Fen => Cell::Money(tolerant::int(Some(v)).ok_or_else(|| bad("whole fen"))?),
            ColumnType::Yuan => Cell::Money(
                tolerant::fen(Some(v))
                    .map_err(|e| format!("`{}`: {e}", path))?
                    .ok_or_else(|| bad("an amount"))?,
            ),
            ColumnType::Bool => Cell::Bool(tolerant::flag(Some(v)).ok_or_else(|| bad("a flag"))?),
            ColumnType::Time => Cell::Time(
                self.format
                    .read(v)
                    .map_err(|e| format!("`{}`: {e}", path))?
                    .timestamp_micros(),
            ),
            ColumnType::Date => Cell::Date(shanghai_days(
                self.format
                    .read(v)
                    .map_err(|e| format!("`{}`: {e}", path))?,
            )),
        })
    }
}

fn append(b: &mut Builder, cell: Cell) {
    match (b, cell) {
        (Builder::Text(b), Cell::Text(s)) => b.append_value(s),
        (Builder::Int(b), Cell::Int(i)) => b.append_value(i),
        (Builder::Money(b), Cell::Money(f)) => b.append_value(i128::from(f)),
        (Builder::Bool(b), Cell::Bool(x)) => b.append_value(x),
        (Builder::Time(b), Cell::Time(t)) => b.append_value(t),
        (Builder::Date(b), Cell::Date(d)) => b.append_value(d),
        (Builder::Text(b), _) => b.append_null(),
        (Builder::Int(b), _) => b.append_null(),
        (Builder::Money(b), _) => b.append_null(),
        (Builder::Bool(b), _) => b.append_null(),
        (Builder::Time(b), _) => b.append_null(),
        (Builder::Date(b), _) => b.append_null(),
    }
}

impl Table {
    /// Rows for `records`; `key` names a record in errors, `source` fills the `source` column.
    pub(crate) fn map(
        &self,
        stream: &str,
        records: &[Value],
        key: &dyn Fn(&Value) -> String,
        source: &str,
    ) -> Result<TableRows, StreamError> {
        let mut builders: Vec<Builder> =
            self.columns.iter().map(|c| Builder::new(c.kind)).collect();
        let mut sources = StringBuilder::new();
        let mut groups = Vec::new();
        let err = |record: &Value, column: &str, message: String| StreamError::Record {
            stream: stream.to_string(),
            record: key(record),
            message: format!("{}.{column}: {message}", self.name),
        };
        for record in records {
            let children: Vec<&Value> = match &self.records {
                None => vec![record],
                Some(p) => match p.get(record) {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(a)) => a.iter().collect(),
                    Some(o @ Value::Object(_)) => vec![o],
                    Some(other) => {
                        return Err(err(
                            record,
                            "records",
                            format!("`{}` = {other} is neither a list nor an object", p.as_str()),
                        ));
                    }
                },
            };
            if let Some(i) = self.replace_by {
                let c = &self.columns[i];
                let group = c
                    .read(Row {
                        record: &Value::Null,
                        parent: record,
                    })
                    .map_err(|e| err(record, &c.name, e))?;
                match group {
                    Cell::Text(g) => groups.push(g),
                    _ => return Err(err(record, &c.name, "the group is empty".into())),
                }
            }
            for child in children {
                let row = Row {
                    record: child,
                    parent: record,
                };
                for (c, b) in self.columns.iter().zip(builders.iter_mut()) {
                    let cell = c.read(row).map_err(|e| err(record, &c.name, e))?;
                    append(b, cell);
                }
                sources.append_value(source);
            }
        }
        let mut fields: Vec<Field> = self
            .columns
            .iter()
            .map(|c| Field::new(&c.name, data_type(c.kind), c.optional))
            .collect();
        fields.push(Field::new("source", DataType::Utf8, false));
        let mut arrays: Vec<ArrayRef> = builders.iter_mut().map(Builder::finish).collect();
        arrays.push(Arc::new(sources.finish()));
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|e| {
            StreamError::Settings(format!("table {}: building the batch: {e}", self.name))
        })?;
        Ok(TableRows {
            table: self.name.clone(),
            batch,
            replace: self
                .replace_by
                .map(|i| (self.columns[i].name.clone(), groups)),
        })
    }
}
