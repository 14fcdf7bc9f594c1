//! A small row-wise builder of canonical Arrow batches: a table is declared once as
//! `(column, kind, nullable)`, each row names every column with its cell, and `finish` builds
//! the columns (money `Decimal128(18,2)` from fen, instants UTC microseconds, dates `Date32`).
//!
//! Cells are addressed by column name, never by position: a row that names a column twice,
//! misses one or names one the table lacks is a mapping bug and panics naming the column (every
//! mapping has tests). The batch's schema is checked against the canonical table when it is
//! written (`warehouse`'s conform step casts by name and refuses a type it cannot hold).

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;

/// A column's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Money,
    Int,
    Ts,
    Date,
    Bool,
}

/// One value; its variant must match the column's kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(Option<String>),
    /// Fen.
    Money(Option<i64>),
    Int(Option<i64>),
    /// UTC microseconds.
    Ts(Option<i64>),
    /// Days since 1970-01-01.
    Date(Option<i32>),
    Bool(Option<bool>),
}

pub fn text(s: impl Into<String>) -> Cell {
    Cell::Text(Some(s.into()))
}

/// A table's columns.
pub type Columns = &'static [(&'static str, Kind, bool)];

/// Rows of one table, column-major.
#[derive(Debug)]
pub struct Rows {
    columns: Columns,
    cells: Vec<Vec<Cell>>,
}

impl Rows {
    pub fn new(columns: Columns) -> Self {
        Self {
            columns,
            cells: columns.iter().map(|_| Vec::new()).collect(),
        }
    }

    /// Adds a row: every column named once with its cell, in any order.
    pub fn push<const N: usize>(&mut self, row: [(&'static str, Cell); N]) {
        let mut seen = [false; 64];
        assert!(self.columns.len() <= seen.len(), "at most 64 columns");
        for (name, cell) in row {
            let Some(i) = self.columns.iter().position(|c| c.0 == name) else {
                panic!("column {name}: not a column of this table");
            };
            assert!(!seen[i], "column {name}: named twice in one row");
            seen[i] = true;
            self.cells[i].push(cell);
        }
        if let Some(missing) = (0..self.columns.len()).find(|&i| !seen[i]) {
            panic!("column {}: missing from a row", self.columns[missing].0);
        }
    }

    /// The batch; panics if a cell's variant does not match its column (a mapping bug).
    pub fn finish(self) -> RecordBatch {
        let mut fields = Vec::new();
        let mut arrays: Vec<ArrayRef> = Vec::new();
        for (&(name, kind, nullable), cells) in self.columns.iter().zip(self.cells) {
            let (ty, array) = build(name, kind, cells);
            fields.push(Field::new(name, ty, nullable));
            arrays.push(array);
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
            .expect("cells match the declared columns")
    }
}

fn mismatch(name: &str) -> ! {
    panic!("column {name}: a cell of the wrong kind")
}

fn build(name: &str, kind: Kind, cells: Vec<Cell>) -> (DataType, ArrayRef) {
    match kind {
        Kind::Text => {
            let mut b = StringBuilder::new();
            for c in cells {
                let Cell::Text(v) = c else { mismatch(name) };
                b.append_option(v);
            }
            (DataType::Utf8, Arc::new(b.finish()))
        }
        Kind::Money => {
            let ty = DataType::Decimal128(18, 2);
            let mut b = Decimal128Builder::new().with_data_type(ty.clone());
            for c in cells {
                let Cell::Money(v) = c else { mismatch(name) };
                b.append_option(v.map(i128::from));
            }
            (ty, Arc::new(b.finish()))
        }
        Kind::Int => {
            let mut b = Int64Builder::new();
            for c in cells {
                let Cell::Int(v) = c else { mismatch(name) };
                b.append_option(v);
            }
            (DataType::Int64, Arc::new(b.finish()))
        }
        Kind::Ts => {
            let mut b = TimestampMicrosecondBuilder::new().with_timezone("UTC");
            for c in cells {
                let Cell::Ts(v) = c else { mismatch(name) };
                b.append_option(v);
            }
            (
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                Arc::new(b.finish()),
            )
        }
        Kind::Date => {
            let mut b = Date32Builder::new();
            for c in cells {
                let Cell::Date(v) = c else { mismatch(name) };
                b.append_option(v);
            }
            (DataType::Date32, Arc::new(b.finish()))
        }
        Kind::Bool => {
            let mut b = BooleanBuilder::new();
            for c in cells {
                let Cell::Bool(v) = c else { mismatch(name) };
                b.append_option(v);
            }
            (DataType::Boolean, Arc::new(b.finish()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray, Decimal128Array};

    #[test]
    fn rows_become_typed_columns_with_exact_money() {
        const COLS: Columns = &[("id", Kind::Text, false), ("amount", Kind::Money, true)];
        let mut r = Rows::new(COLS);
        r.push([("id", text("a")), ("amount", Cell::Money(Some(1999)))]);
        r.push([("amount", Cell::Money(None)), ("id", text("b"))]);
        let b = r.finish();
        assert_eq!(
            b.schema().field(1).data_type(),
            &DataType::Decimal128(18, 2)
        );
        let m = b
            .column(1)
            .as_any()
            .downcast_ref::<Decimal128Array>()
            .expect("dec");
        assert_eq!((m.value(0), m.is_null(1)), (1999, true));
        assert_eq!(b.column(0).as_string::<i32>().value(1), "b");
    }

    const TWO: Columns = &[("id", Kind::Text, false), ("n", Kind::Int, true)];

    #[test]
    #[should_panic(expected = "column n: missing from a row")]
    fn a_row_missing_a_column_is_refused() {
        Rows::new(TWO).push([("id", text("a"))]);
    }

    #[test]
    #[should_panic(expected = "column id: named twice in one row")]
    fn a_column_named_twice_is_refused() {
        Rows::new(TWO).push([("id", text("a")), ("id", text("b")), ("n", Cell::Int(None))]);
    }

    #[test]
    #[should_panic(expected = "column qty: not a column of this table")]
    fn an_unknown_column_is_refused() {
        Rows::new(TWO).push([("id", text("a")), ("qty", Cell::Int(None))]);
    }
}
