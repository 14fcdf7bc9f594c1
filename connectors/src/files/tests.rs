use std::sync::Arc;

use arrow::array::{Array, Decimal128Array, Int64Array, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

use super::*;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("qty", DataType::Int64, false),
        Field::new("amount", DataType::Decimal128(18, 2), false),
        Field::new(
            "paid_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("note", DataType::Utf8, true),
    ]))
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).expect("write");
    p
}

#[test]
fn good_csv_is_typed_exactly() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = write(
        &dir,
        "a.csv",
        "id,qty,amount,paid_at\nA,2,\"1,234.5\",2026-11-11 00:30:00\nB,1,0.01,\n".as_bytes(),
    );
    let read = read_file(&p, &schema()).expect("read");
    assert_eq!(read.rows_ok(), 2);
    assert_eq!(read.rejected.len(), 0);
    let b = &read.batches[0];
    let amount = b
        .column(2)
        .as_any()
        .downcast_ref::<Decimal128Array>()
        .expect("dec");
    assert_eq!((amount.value(0), amount.value(1)), (123_450, 1));
    let ts = b
        .column(3)
        .as_any()
        .downcast_ref::<TimestampMicrosecondArray>()
        .expect("ts");
    // 2026-11-11 00:30 in Shanghai is 2026-11-10 16:30 UTC.
    let expected = chrono::DateTime::parse_from_rfc3339("2026-11-10T16:30:00Z")
        .expect("t")
        .timestamp_micros();
    assert_eq!(ts.value(0), expected);
    assert!(ts.is_null(1));
    assert_eq!(
        b.column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("i")
            .value(0),
        2
    );
}

#[test]
fn bad_cells_name_row_and_column() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = write(
        &dir,
        "b.csv",
        b"id,qty,amount\nA,1,9.99\nB,x,1.00\nC,1,1.005\n,1,1\n",
    );
    let read = read_file(&p, &schema()).expect("read");
    assert_eq!(read.rows_ok(), 1);
    let errs: Vec<String> = read
        .errors()
        .map(|e| format!("{}:{}", e.row, e.column))
        .collect();
    assert_eq!(errs, vec!["3:qty", "4:amount", "5:id"]);
    let e = read.errors().nth(1).expect("second error");
    assert!(e.reason.contains("more than 2 decimal places"), "{e}");
    assert_eq!(read.rejected[0].cells, vec!["B", "x", "1.00"]);
}

#[test]
fn header_problems_are_file_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let unknown = write(&dir, "c.csv", b"id,qty,amount,colour\nA,1,1,red\n");
    let e = read_file(&unknown, &schema()).unwrap_err().to_string();
    assert!(e.contains("unknown column `colour`"), "{e}");
    let missing = write(&dir, "d.csv", b"id,amount\nA,1\n");
    let e = read_file(&missing, &schema()).unwrap_err().to_string();
    assert!(e.contains("required column `qty`"), "{e}");
    let other = write(&dir, "e.json", b"{}");
    assert!(matches!(
        read_file(&other, &schema()),
        Err(FileError::UnknownFormat { .. })
    ));
}

#[test]
fn gbk_csv_from_chinese_excel_is_decoded() {
    let dir = tempfile::tempdir().expect("tmp");
    let (gbk, _, _) = encoding_rs::GBK.encode("id,qty,amount,note\nA,1,1,退货\n");
    let p = write(&dir, "g.csv", &gbk);
    let read = read_file(&p, &schema()).expect("read");
    let note = read.batches[0]
        .column(4)
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .expect("s");
    assert_eq!(note.value(0), "退货");
}

#[test]
fn cells_become_exact_decimals_through_the_shared_parser() {
    use super::coerce::{Cell, to_decimal};
    let text = |t: &str| Cell::Text(t.into());
    assert_eq!(to_decimal(&text(" ¥1,234.50 "), 2), Ok(123_450));
    assert_eq!(
        to_decimal(&Cell::Float(19.99), 2),
        Ok(1999),
        "the float's shortest text"
    );
    assert_eq!(to_decimal(&Cell::Float(0.1), 2), Ok(10));
    assert_eq!(to_decimal(&Cell::Int(-7), 2), Ok(-700));
    assert_eq!(
        to_decimal(&Cell::Float(1.005), 2).map_err(|e| e.contains("decimal places")),
        Err(true)
    );
    assert!(to_decimal(&text("12."), 2).is_err());
    assert!(to_decimal(&Cell::Float(f64::NAN), 2).is_err());
    assert!(to_decimal(&Cell::Bool(true), 2).is_err());
}
