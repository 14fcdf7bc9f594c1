//! Row building for canonical tables: [`TableBuf`], plus [`table_def`] (a catalog lookup that
//! fails as an internal error) and [`strings`] (any result column read back as text).
//!
//! A [`TableBuf`] owns one Arrow builder per column of one table, the position in the row
//! being built and the `source` value every row gets. Values are pushed in the table's column
//! order with typed methods, each naming its column:
//! `b.money("pay_amount", fen).bool("is_cod", false).null("receiver_province")`.
//! The name is a check against the schema, not a lookup: the buffer still fills columns by
//! position (the demo pushes millions of values), and a push whose name is not the column at
//! the current position, or whose type is not that column's, panics with the table and both
//! columns. Either is a programming error in the generator, which the tests catch.
//! [`TableBuf::end`] fills the trailing `source` column and closes the row.

use std::borrow::Cow;
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

/// A buffer of rows for one table, filled column by column with name-checked pushes.
pub(crate) struct TableBuf {
    pub(crate) def: &'static TableDef,
    cols: Vec<ColBuf>,
    at: usize,
    rows: usize,
    source: Cow<'static, str>,
}

impl TableBuf {
    pub(crate) fn new(def: &'static TableDef, source: impl Into<Cow<'static, str>>) -> Self {
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
            source: source.into(),
        }
    }

    /// The builder of the column at the current position, which must be `name`; moves on.
    #[track_caller]
    #[inline]
    fn next(&mut self, name: &'static str) -> &mut ColBuf {
        let i = self.at;
        let Some(col) = self.def.columns.get(i) else {
            panic!(
                "{}: row has too many values (pushed {name} past the last column)",
                self.def.name
            )
        };
        // Same literal: one pointer comparison; otherwise compare the text.
        if !(std::ptr::eq(col.name, name) || col.name == name) {
            panic!(
                "{}: column {} is {}, but the push names {name}",
                self.def.name,
                i + 1,
                col.name
            );
        }
        self.at += 1;
        &mut self.cols[i]
    }

    #[track_caller]
    #[cold]
    fn mismatch(&self, col: &str, want: &str) -> ! {
        let ty = self.def.columns[self.at - 1].ty.doc_name();
        panic!(
            "{}.{col}: pushed a {want} value into a {ty} column",
            self.def.name
        )
    }

    /// A text value.
    #[track_caller]
    pub(crate) fn text(&mut self, col: &'static str, v: &str) -> &mut Self {
        match self.next(col) {
            ColBuf::Text(b) => b.append_value(v),
            _ => self.mismatch(col, "text"),
        }
        self
    }

    /// A formatted text value, written without an intermediate `String`.
    #[track_caller]
    pub(crate) fn text_fmt(
        &mut self,
        col: &'static str,
        args: std::fmt::Arguments<'_>,
    ) -> &mut Self {
        match self.next(col) {
            ColBuf::Text(b) => {
                let _ = b.write_fmt(args);
                b.append_value("");
            }
            _ => self.mismatch(col, "text"),
        }
        self
    }

    /// An optional text value.
    #[track_caller]
    pub(crate) fn opt_text(&mut self, col: &'static str, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.text(col, v),
            None => self.null(col),
        }
    }

    /// A whole number.
    #[track_caller]
    pub(crate) fn int(&mut self, col: &'static str, v: i64) -> &mut Self {
        match self.next(col) {
            ColBuf::Int(b) => b.append_value(v),
            _ => self.mismatch(col, "int"),
        }
        self
    }

    /// Money in fen.
    #[track_caller]
    pub(crate) fn money(&mut self, col: &'static str, fen: i64) -> &mut Self {
        match self.next(col) {
            ColBuf::Money(b) => b.append_value(i128::from(fen)),
            _ => self.mismatch(col, "money"),
        }
        self
    }

    /// Optional money in fen.
    #[track_caller]
    pub(crate) fn opt_money(&mut self, col: &'static str, fen: Option<i64>) -> &mut Self {
        match fen {
            Some(fen) => self.money(col, fen),
            None => self.null(col),
        }
    }

    /// A yes/no flag.
    #[track_caller]
    pub(crate) fn bool(&mut self, col: &'static str, v: bool) -> &mut Self {
        match self.next(col) {
            ColBuf::Bool(b) => b.append_value(v),
            _ => self.mismatch(col, "bool"),
        }
        self
    }

    /// An instant in microseconds since the epoch.
    #[track_caller]
    pub(crate) fn ts(&mut self, col: &'static str, us: i64) -> &mut Self {
        match self.next(col) {
            ColBuf::Ts(b) => b.append_value(us),
            _ => self.mismatch(col, "timestamp"),
        }
        self
    }

    /// An optional instant in microseconds since the epoch.
    #[track_caller]
    pub(crate) fn opt_ts(&mut self, col: &'static str, us: Option<i64>) -> &mut Self {
        match us {
            Some(us) => self.ts(col, us),
            None => self.null(col),
        }
    }

    /// A date in days since 1970-01-01.
    #[track_caller]
    pub(crate) fn date(&mut self, col: &'static str, days: i32) -> &mut Self {
        match self.next(col) {
            ColBuf::Date(b) => b.append_value(days),
            _ => self.mismatch(col, "date"),
        }
        self
    }

    /// An optional date in days since 1970-01-01.
    #[track_caller]
    pub(crate) fn opt_date(&mut self, col: &'static str, days: Option<i32>) -> &mut Self {
        match days {
            Some(days) => self.date(col, days),
            None => self.null(col),
        }
    }

    /// A null, of whatever type the column has.
    #[track_caller]
    pub(crate) fn null(&mut self, col: &'static str) -> &mut Self {
        match self.next(col) {
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
    #[track_caller]
    pub(crate) fn end(&mut self) {
        if self.at + 1 < self.cols.len() {
            panic!(
                "{}: row has too few values (ended before column {}, {})",
                self.def.name,
                self.at + 1,
                self.def.columns[self.at].name
            );
        }
        let source = std::mem::take(&mut self.source);
        self.text(SOURCE_COLUMN, &source);
        self.source = source;
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

#[cfg(test)]
mod tests {
    use arrow::array::{Array as _, AsArray as _};
    use arrow::datatypes::{Date32Type, Decimal128Type, Int64Type, TimestampMicrosecondType};
    use warehouse::schema::{ColType, ColumnDef, TableDef};

    use super::TableBuf;

    const fn col(name: &'static str, ty: ColType, nullable: bool) -> ColumnDef {
        ColumnDef {
            name,
            ty,
            nullable,
            doc: "",
        }
    }

    /// One column of every type, an optional one of each kind, and `source`.
    static T: TableDef = TableDef {
        name: "t",
        doc: "a test table",
        primary_key: &["id"],
        parent: None,
        partition_by: &[],
        columns: &[
            col("id", ColType::Text, false),
            col("label", ColType::Text, true),
            col("qty", ColType::Int, false),
            col("amount", ColType::Money, false),
            col("refund", ColType::Money, true),
            col("flag", ColType::Bool, false),
            col("at", ColType::Timestamp, false),
            col("done_at", ColType::Timestamp, true),
            col("day", ColType::Date, false),
            col("due", ColType::Date, true),
            col("note", ColType::Text, true),
            col("source", ColType::Text, false),
        ],
    };

    #[test]
    fn a_correctly_named_row_builds_a_batch() {
        let mut b = TableBuf::new(&T, "test");
        assert!(b.take().is_none(), "no rows, no batch");
        b.text("id", "a")
            .opt_text("label", Some("x"))
            .int("qty", 3)
            .money("amount", 1_234)
            .opt_money("refund", None)
            .bool("flag", true)
            .ts("at", 1_000_000)
            .opt_ts("done_at", Some(2_000_000))
            .date("day", 20_000)
            .opt_date("due", None)
            .null("note")
            .end();
        b.text_fmt("id", format_args!("b{}", 2))
            .opt_text("label", None)
            .int("qty", -1)
            .money("amount", -5)
            .opt_money("refund", Some(99))
            .bool("flag", false)
            .ts("at", 3)
            .opt_ts("done_at", None)
            .date("day", 1)
            .opt_date("due", Some(2));
        b.text("note", "n").end();
        let batch = b.take().expect("two rows");
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.schema(), T.arrow_schema());
        let text = |n: &str| batch.column_by_name(n).unwrap().as_string::<i32>().clone();
        let id = text("id");
        assert_eq!((id.value(0), id.value(1)), ("a", "b2"));
        let label = text("label");
        assert_eq!((label.value(0), label.is_null(1)), ("x", true));
        let note = text("note");
        assert_eq!((note.is_null(0), note.value(1)), (true, "n"));
        let source = text("source");
        assert_eq!((source.value(0), source.value(1)), ("test", "test"));
        let qty = batch
            .column_by_name("qty")
            .unwrap()
            .as_primitive::<Int64Type>();
        assert_eq!(qty.values().to_vec(), vec![3, -1]);
        let amount = batch
            .column_by_name("amount")
            .unwrap()
            .as_primitive::<Decimal128Type>();
        assert_eq!(amount.values().to_vec(), vec![1_234, -5]);
        assert_eq!(amount.value_as_string(0), "12.34");
        let refund = batch
            .column_by_name("refund")
            .unwrap()
            .as_primitive::<Decimal128Type>();
        assert_eq!((refund.is_null(0), refund.value(1)), (true, 99));
        let flag = batch.column_by_name("flag").unwrap().as_boolean();
        assert_eq!((flag.value(0), flag.value(1)), (true, false));
        let ts = |n: &str| {
            batch
                .column_by_name(n)
                .unwrap()
                .as_primitive::<TimestampMicrosecondType>()
                .clone()
        };
        assert_eq!(ts("at").values().to_vec(), vec![1_000_000, 3]);
        let done = ts("done_at");
        assert_eq!((done.value(0), done.is_null(1)), (2_000_000, true));
        let date = |n: &str| {
            batch
                .column_by_name(n)
                .unwrap()
                .as_primitive::<Date32Type>()
                .clone()
        };
        assert_eq!(date("day").values().to_vec(), vec![20_000, 1]);
        let due = date("due");
        assert_eq!((due.is_null(0), due.value(1)), (true, 2));
        assert!(b.take().is_none(), "take empties the buffer");
    }

    #[test]
    #[should_panic(expected = "t: column 2 is label, but the push names note")]
    fn a_push_naming_the_wrong_column_panics() {
        let mut b = TableBuf::new(&T, "test");
        // `label` forgotten: `note` has the same type, so only the name catches it.
        b.text("id", "a").text("note", "x");
    }

    #[test]
    #[should_panic(expected = "t.qty: pushed a money value into a int64 column")]
    fn a_push_of_the_wrong_type_panics() {
        let mut b = TableBuf::new(&T, "test");
        b.text("id", "a").null("label").money("qty", 1);
    }

    #[test]
    #[should_panic(expected = "t: row has too few values (ended before column 2, label)")]
    fn ending_a_short_row_panics() {
        let mut b = TableBuf::new(&T, "test");
        b.text("id", "a").end();
    }
}
