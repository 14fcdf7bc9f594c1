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

fn errors_of(read: &FileRead) -> Vec<String> {
    read.errors()
        .map(|e| format!("{}:{}:{}", e.row, e.column, e.reason))
        .collect()
}

#[test]
fn commas_must_group_thousands_in_whole_numbers_and_amounts() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = write(
        &dir,
        "n.csv",
        b"id,qty,amount\nA,\"1,234\",\"1,234.50\"\nB,\"1,2,3\",1\nC,1,\"1,23\"\nD,\"12,34\",\"1234,5\"\n",
    );
    let read = read_file(&p, &schema()).expect("read");
    assert_eq!(read.rows_ok(), 1);
    let qty = read.batches[0]
        .column(1)
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("i");
    assert_eq!(qty.value(0), 1234);
    let errs = errors_of(&read);
    assert_eq!(errs.len(), 4, "{errs:?}");
    assert!(errs[0].starts_with("3:qty:") && errs[0].contains("group thousands"));
    assert!(errs[1].starts_with("4:amount:") && errs[1].contains("group thousands"));
    assert!(errs[2].starts_with("5:qty:") && errs[3].starts_with("5:amount:"));
    use super::coerce::{Cell, to_i64};
    assert_eq!(to_i64(&Cell::Text("-1,234".into())), Ok(-1234));
    assert!(to_i64(&Cell::Text("¥8".into())).is_err());
    assert!(to_i64(&Cell::Text("1.0".into())).is_err());
}

#[test]
fn bytes_that_are_neither_utf8_nor_gbk_are_refused_by_row_and_column() {
    let dir = tempfile::tempdir().expect("tmp");
    // Latin-1 "Café" (0xE9 then a line break is no GBK character either) in an otherwise
    // UTF-8 file with Chinese text.
    let p = write(
        &dir,
        "l.csv",
        b"id,qty,amount,note\nA,1,1,\xe9\x80\x80\xe8\xb4\xa7\nB,1,1,Caf\xe9\nC,1,1,ok\n",
    );
    let read = read_file(&p, &schema()).expect("read");
    let errs = errors_of(&read);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("3:note:") && errs[0].contains("0xE9") && errs[0].contains("UTF-8"),
        "{errs:?}"
    );
    assert_eq!(read.rows_ok(), 2);
    let note = read.batches[0]
        .column(4)
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .expect("s");
    assert_eq!(note.value(0), "退货", "the UTF-8 cells are still UTF-8");
    assert!(
        !read.rejected[0].cells[3].is_empty(),
        "the bad cell is kept for the rejects file"
    );

    // A GBK file with one stray byte: the GBK cells decode, the stray one is named.
    let (mut gbk, _, _) = encoding_rs::GBK.encode("id,qty,amount,note\nA,1,1,退货\nB,1,1,x");
    let mut bytes = gbk.to_mut().clone();
    bytes.extend_from_slice(b"\xff\n");
    let p = write(&dir, "g2.csv", &bytes);
    let read = read_file(&p, &schema()).expect("read");
    let errs = errors_of(&read);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("3:note:") && errs[0].contains("0xFF"),
        "{errs:?}"
    );
    let note = read.batches[0]
        .column(4)
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .expect("s");
    assert_eq!(note.value(0), "退货");

    // In the header it is a file error naming the column.
    let p = write(&dir, "h.csv", b"id,qty,amount,n\xe9\nA,1,1,x\n");
    let e = read_file(&p, &schema()).unwrap_err().to_string();
    assert!(e.contains("column 4") && e.contains("0xE9"), "{e}");
}

#[test]
fn nul_and_control_characters_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = write(
        &dir,
        "c.csv",
        b"id,qty,amount,note\nA,1,1,a\x00b\nB,1,1,\x1b[31m\nC,1,1,\"tab\there\nand a line\"\nD\x00,1,1,\n",
    );
    let read = read_file(&p, &schema()).expect("read");
    let errs = errors_of(&read);
    assert_eq!(errs.len(), 3, "{errs:?}");
    assert!(errs[0].starts_with("2:note:") && errs[0].contains("NUL"));
    assert!(errs[1].starts_with("3:note:") && errs[1].contains("U+001B"));
    assert!(errs[2].starts_with("5:id:") && errs[2].contains("NUL"));
    assert_eq!(read.rows_ok(), 1, "tabs and line breaks are text");
}

#[test]
fn parquet_text_with_nul_is_refused() {
    use arrow::array::{Decimal128Array, Int64Array, StringArray};
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("n.parquet");
    let s = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("qty", DataType::Int64, false),
        Field::new("amount", DataType::Decimal128(18, 2), false),
    ]));
    let batch = arrow::record_batch::RecordBatch::try_new(
        s.clone(),
        vec![
            Arc::new(StringArray::from(vec!["A", "B\0"])),
            Arc::new(Int64Array::from(vec![1, 2])),
            Arc::new(
                Decimal128Array::from(vec![100, 200])
                    .with_precision_and_scale(18, 2)
                    .expect("dec"),
            ),
        ],
    )
    .expect("batch");
    let f = std::fs::File::create(&p).expect("create");
    let mut w = parquet::arrow::ArrowWriter::try_new(f, s, None).expect("writer");
    w.write(&batch).expect("write");
    w.close().expect("close");
    let read = read_file(&p, &schema()).expect("read");
    let errs = errors_of(&read);
    assert_eq!(errs, vec!["3:id:contains a NUL character (U+0000)"]);
    assert_eq!(read.rows_ok(), 1);
}

#[test]
fn a_caller_may_reject_good_rows_after_its_own_checks() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = write(
        &dir,
        "r.csv",
        b"id,qty,amount\nA,1,1.00\nB,x,2.00\nC,3,3.00\nD,4,4.00\n",
    );
    let mut read = read_file(&p, &schema()).expect("read");
    assert_eq!(read.rows, vec![2, 4, 5]);
    assert_eq!(read.cell_text(4, 0), "C");
    assert_eq!(read.cell_text(4, 2), "3.00");
    assert_eq!(read.cell_text(4, 4), "", "a column the file lacks");
    assert_eq!(read.cell_text(3, 1), "x", "a rejected row's cell");
    // The rejected row's readable cells are typed for the caller's checks; the bad one is null.
    assert_eq!(read.partial_rows, vec![3]);
    let p = &read.partial[0];
    assert_eq!(
        p.column(0)
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .expect("s")
            .value(0),
        "B"
    );
    assert!(p.column(1).is_null(0));
    let err = |row: usize, column: &str| CellError {
        row,
        column: column.into(),
        value: String::new(),
        reason: "refused by the caller".into(),
    };
    read.reject(vec![err(4, "id"), err(3, "amount")])
        .expect("reject");
    assert_eq!(read.rows, vec![2, 5]);
    assert_eq!(read.rows_ok(), 2);
    let ids = read.batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .expect("s");
    assert_eq!((ids.value(0), ids.value(1)), ("A", "D"));
    assert_eq!(read.cell_text(5, 0), "D");
    assert_eq!(read.cell_text(4, 0), "C", "moved to the rejected rows");
    let rejected: Vec<(usize, usize)> = read
        .rejected
        .iter()
        .map(|r| (r.row, r.errors.len()))
        .collect();
    assert_eq!(rejected, vec![(3, 2), (4, 1)]);
    assert_eq!(read.rejected[1].cells, vec!["C", "3", "3.00"]);
}
