//! Imports are all or nothing, and errors name the row and column.

use crate::support::{Lake, fen, int};

const GOOD: &str = "bill_line_id,shop_id,platform,order_id,platform_order_no,kind,amount,settled_at,settle_date\n\
B1,S01,taobao,O1,2001,sale,128.50,2026-11-11 00:30:00,2026-11-11\n\
B2,S01,taobao,O1,2001,fee,-0.77,2026-11-11 00:30:00,2026-11-11\n";

#[test]
fn malformed_csv_names_row_and_column_and_commits_nothing() {
    let lake = Lake::new();
    let good = lake.file("good.csv", GOOD);
    let out = lake.ok(&["import", "platform_bills", good.to_str().expect("path")]);
    assert!(out.contains("imported 2 of 2 rows"), "{out}");
    let before = lake.tables()["platform_bills"];
    assert_eq!(before.0, 2);

    let bad = lake.file(
        "bad.csv",
        "bill_line_id,shop_id,platform,kind,amount,settled_at,settle_date\n\
         B3,S01,taobao,sale,10.00,2026-11-12 10:00:00,2026-11-12\n\
         B4,S01,taobao,sale,12.3x,2026-11-12 10:00:00,2026-11-12\n\
         B5,S01,taobao,sale,1.00,not a time,2026-11-12\n",
    );
    let err = lake.fails(&["import", "platform_bills", bad.to_str().expect("path")]);
    assert!(err.contains("row 3, column amount"), "{err}");
    assert!(err.contains("row 4, column settled_at"), "{err}");
    assert_eq!(
        lake.tables()["platform_bills"],
        before,
        "version and rows unchanged"
    );

    // Unknown columns are refused before anything is read.
    let odd = lake.file("odd.csv", "bill_line_id,colour\nB9,red\n");
    let err = lake.fails(&["import", "platform_bills", odd.to_str().expect("path")]);
    assert!(err.contains("unknown column `colour`"), "{err}");
    assert_eq!(lake.tables()["platform_bills"], before);

    // --skip-bad-rows commits the good row and keeps the bad ones beside the input.
    let out = lake.ok(&[
        "import",
        "platform_bills",
        bad.to_str().expect("path"),
        "--skip-bad-rows",
    ]);
    assert!(out.contains("imported 1 of 3 rows"), "{out}");
    let rejects =
        std::fs::read_to_string(lake.path().join("bad.csv.rejects.csv")).expect("rejects file");
    assert!(
        rejects.contains("12.3x") && rejects.contains("not a time"),
        "{rejects}"
    );
    assert_eq!(
        rejects.lines().count(),
        3,
        "header + 2 rejected rows: {rejects}"
    );

    // The times are Asia/Shanghai wall clock; money is exact; source names the file.
    let r = lake
        .query("select sum(amount) as s, count(*) as n, min(source) as src from platform_bills");
    assert_eq!((fen(&r[0]["s"]), int(&r[0]["n"])), (12_850 - 77 + 1_000, 3));
    assert_eq!(r[0]["src"], "import:bad.csv");
    let r = lake.query(
        "select cast(settled_at as varchar) as t from platform_bills where bill_line_id = 'B1'",
    );
    assert!(
        r[0]["t"]
            .as_str()
            .expect("t")
            .starts_with("2026-11-10T16:30:00"),
        "{r:?}"
    );

    // Importing the same rows again would double them: refused.
    let err = lake.fails(&["import", "platform_bills", good.to_str().expect("path")]);
    assert!(
        err.contains("already exists") && err.contains("upsert"),
        "{err}"
    );
    assert_eq!(lake.tables()["platform_bills"].0, 3);
}

#[test]
fn xlsx_and_parquet_import_too() {
    let lake = Lake::new();
    // Build an XLSX and a Parquet file from a CSV import, through the lake itself.
    let csv = lake.file(
        "wh.csv",
        "warehouse_id,name,city\nW1,杭州仓,杭州\nW2,广州仓,\n",
    );
    lake.ok(&["import", "warehouses", csv.to_str().expect("path")]);
    let parquet = lake.path().join("wh.parquet");
    {
        use arrow::array::StringArray;
        use std::sync::Arc;
        let schema = Arc::new(arrow::datatypes::Schema::new(vec![
            arrow::datatypes::Field::new("warehouse_id", arrow::datatypes::DataType::Utf8, false),
            arrow::datatypes::Field::new("name", arrow::datatypes::DataType::Utf8, false),
        ]));
        let batch = arrow::record_batch::RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["W3"])),
                Arc::new(StringArray::from(vec!["天津仓"])),
            ],
        )
        .expect("batch");
        let f = std::fs::File::create(&parquet).expect("create");
        let mut w = parquet::arrow::ArrowWriter::try_new(f, schema, None).expect("writer");
        w.write(&batch).expect("write");
        w.close().expect("close");
    }
    lake.ok(&["import", "warehouses", parquet.to_str().expect("path")]);
    let xlsx = lake.path().join("wh.xlsx");
    {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in ["warehouse_id", "name", "city"].iter().enumerate() {
            ws.write_string(0, c as u16, *h).expect("h");
        }
        ws.write_string(1, 0, "W4").expect("c");
        ws.write_string(1, 1, "成都仓").expect("c");
        ws.write_string(1, 2, "成都").expect("c");
        wb.save(&xlsx).expect("save");
    }
    lake.ok(&["import", "warehouses", xlsx.to_str().expect("path")]);
    let r = lake
        .query("select string_agg(warehouse_id, ',' order by warehouse_id) as ids from warehouses");
    assert_eq!(r[0]["ids"], "W1,W2,W3,W4");
}
