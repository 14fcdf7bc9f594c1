//! [`TableBuf`]: a typed row buffer for one canonical table.
//!
//! Values are pushed in the table's column order with typed methods; [`TableBuf::end`] fills
//! the trailing `source` column and closes the row. A type mismatch is a programming error in
//! the generator and panics with the table and column (tests catch it).

use std::fmt::Write as _;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::record_batch::RecordBatch;
use warehouse::schema::{ColType, MONEY_PRECISION, MONEY_SCALE, SOURCE_COLUMN, TableDef};

use crate::error::{PipelineError, Result};

enum ColBuf {
    Text(StringBuilder),
    Int(Int64Builder),
    Money(Decimal128Builder),
    Bool(BooleanBuilder),
    Ts(TimestampMicrosecondBuilder),
    Date(Date32Builder),
}

/// A buffer of rows for one table.
pub(crate) struct TableBuf {
    pub(crate) def: &'static TableDef,
    cols: Vec<ColBuf>,
    at: usize,
    rows: usize,
    source: &'static str,
}

impl TableBuf {
    pub(crate) fn new(def: &'static TableDef, source: &'static str) -> Self {
        assert_eq!(def.columns.last().map(|c| c.name), Some(SOURCE_COLUMN));
        let cols = def
            .columns
            .iter()
            .map(|c| match c.ty {
                ColType::Text => ColBuf::Text(StringBuilder::new()),
                ColType::Int => ColBuf::Int(Int64Builder::new()),
                ColType::Money => ColBuf::Money(
                    Decimal128Builder::new()
                        .with_precision_and_scale(MONEY_PRECISION, MONEY_SCALE)
                        .expect("valid decimal type"),
                ),
                ColType::Bool => ColBuf::Bool(BooleanBuilder::new()),
                ColType::Timestamp => {
                    ColBuf::Ts(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
                }
                ColType::Date => ColBuf::Date(Date32Builder::new()),
            })
            .collect();
        Self {
            def,
            cols,
            at: 0,
            rows: 0,
            source,
        }
    }

    fn next(&mut self) -> (&mut ColBuf, &'static str) {
        let name = self
            .def
            .columns
            .get(self.at)
            .map_or("<past the end>", |c| c.name);
        let i = self.at;
        self.at += 1;
        match self.cols.get_mut(i) {
            Some(c) => (c, name),
            None => panic!("{}: too many values in a row", self.def.name),
        }
    }

    fn mismatch(&self, col: &str, want: &str) -> ! {
        panic!("{}.{col}: pushed a {want} value", self.def.name)
    }

    /// A text value.
    pub(crate) fn s(&mut self, v: &str) -> &mut Self {
        match self.next() {
            (ColBuf::Text(b), _) => b.append_value(v),
            (_, c) => self.mismatch(c, "text"),
        }
        self
    }

    /// A formatted text value, written without an intermediate `String`.
    pub(crate) fn f(&mut self, args: std::fmt::Arguments<'_>) -> &mut Self {
        match self.next() {
            (ColBuf::Text(b), _) => {
                let _ = b.write_fmt(args);
                b.append_value("");
            }
            (_, c) => self.mismatch(c, "text"),
        }
        self
    }

    /// An optional text value.
    pub(crate) fn so(&mut self, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.s(v),
            None => self.null(),
        }
    }

    pub(crate) fn i(&mut self, v: i64) -> &mut Self {
        match self.next() {
            (ColBuf::Int(b), _) => b.append_value(v),
            (_, c) => self.mismatch(c, "int"),
        }
        self
    }

    /// Money in fen.
    pub(crate) fn m(&mut self, fen: i64) -> &mut Self {
        match self.next() {
            (ColBuf::Money(b), _) => b.append_value(i128::from(fen)),
            (_, c) => self.mismatch(c, "money"),
        }
        self
    }

    pub(crate) fn b(&mut self, v: bool) -> &mut Self {
        match self.next() {
            (ColBuf::Bool(b), _) => b.append_value(v),
            (_, c) => self.mismatch(c, "bool"),
        }
        self
    }

    /// An instant in microseconds since the epoch.
    pub(crate) fn t(&mut self, us: i64) -> &mut Self {
        match self.next() {
            (ColBuf::Ts(b), _) => b.append_value(us),
            (_, c) => self.mismatch(c, "timestamp"),
        }
        self
    }

    pub(crate) fn to(&mut self, us: Option<i64>) -> &mut Self {
        match us {
            Some(us) => self.t(us),
            None => self.null(),
        }
    }

    /// A date in days since 1970-01-01.
    pub(crate) fn d(&mut self, days: i32) -> &mut Self {
        match self.next() {
            (ColBuf::Date(b), _) => b.append_value(days),
            (_, c) => self.mismatch(c, "date"),
        }
        self
    }

    pub(crate) fn null(&mut self) -> &mut Self {
        match self.next().0 {
            ColBuf::Text(b) => b.append_null(),
            ColBuf::Int(b) => b.append_null(),
            ColBuf::Money(b) => b.append_null(),
            ColBuf::Bool(b) => b.append_null(),
            ColBuf::Ts(b) => b.append_null(),
            ColBuf::Date(b) => b.append_null(),
        }
        self
    }

    /// Closes the row, filling `source`.
    pub(crate) fn end(&mut self) {
        let source = self.source;
        self.s(source);
        assert_eq!(
            self.at,
            self.cols.len(),
            "{}: row has too few values",
            self.def.name
        );
        self.at = 0;
        self.rows += 1;
    }

    /// The buffered rows as a batch, leaving the buffer empty.
    pub(crate) fn take(&mut self) -> Option<RecordBatch> {
        if self.rows == 0 {
            return None;
        }
        self.rows = 0;
        let arrays: Vec<ArrayRef> = self
            .cols
            .iter_mut()
            .map(|c| -> ArrayRef {
                match c {
                    ColBuf::Text(b) => Arc::new(b.finish()),
                    ColBuf::Int(b) => Arc::new(b.finish()),
                    ColBuf::Money(b) => Arc::new(b.finish()),
                    ColBuf::Bool(b) => Arc::new(b.finish()),
                    ColBuf::Ts(b) => Arc::new(b.finish()),
                    ColBuf::Date(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        Some(
            RecordBatch::try_new(self.def.arrow_schema(), arrays)
                .expect("builder types match the schema"),
        )
    }
}

/// The canonical definition of `name`; a missing one is a programming error reported as such.
pub(crate) fn table_def(name: &str) -> Result<&'static TableDef> {
    warehouse::schema::table(name)
        .ok_or_else(|| PipelineError::Internal(format!("no canonical table {name}")))
}

/// Any column as optional text (Utf8, Utf8View, dates, numbers…), for reading query results
/// whose string type DataFusion chooses.
pub(crate) fn strings(column: &dyn arrow::array::Array) -> Result<Vec<Option<String>>> {
    use arrow::array::{Array as _, AsArray as _};
    let c = arrow::compute::cast(column, &arrow::datatypes::DataType::Utf8)
        .map_err(|e| PipelineError::Internal(format!("reading a column as text: {e}")))?;
    let s = c.as_string::<i32>();
    Ok((0..s.len())
        .map(|i| s.is_valid(i).then(|| s.value(i).to_string()))
        .collect())
}
