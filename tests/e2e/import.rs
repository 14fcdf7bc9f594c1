//! Imports are all or nothing, and errors name the row and column.

use crate::support::{Lake, fen, int, s};

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

// ---- Imports are validated like entry forms (security issue 11) ----

const ORDERS: &str = "order_id,platform_order_no,shop_id,platform,status,created_at,modified_at,order_date,goods_amount,discount_amount,freight_amount,pay_amount,is_cod\n";
const PAYMENTS: &str =
    "payment_id,order_id,shop_id,channel,txn_no,amount,paid_at,pay_date,status\n";

/// A payments row for order `O1` of shop `S01`.
fn payment(id: &str, amount: &str) -> String {
    format!("{id},O1,S01,bank,TX-{id},{amount},2026-11-11 10:00:00,2026-11-11,success\n")
}

/// A lake with shop S01, its order O1, and payment P0.
fn world() -> Lake {
    let lake = Lake::new();
    let shops = lake.file("shops.csv", "shop_id,platform,name\nS01,taobao,旗舰店\n");
    lake.ok(&["import", "shops", shops.to_str().expect("path")]);
    let orders = lake.file(
        "orders.csv",
        &format!("{ORDERS}O1,T1,S01,taobao,paid,2026-11-11 00:05:00,2026-11-11 00:06:00,2026-11-11,100.00,0,0,100.00,false\n"),
    );
    lake.ok(&["import", "orders", orders.to_str().expect("path")]);
    let p = lake.file("p0.csv", &format!("{PAYMENTS}{}", payment("P0", "100.00")));
    lake.ok(&["import", "payments", p.to_str().expect("path")]);
    lake
}

/// Imports `file` into `table` (with `extra` arguments), expects failure, checks that no
/// table changed, and returns stderr.
fn refused(lake: &Lake, table: &str, file: &std::path::Path, extra: &[&str]) -> String {
    let before = lake.tables();
    let mut args = vec!["import", table, file.to_str().expect("path")];
    args.extend_from_slice(extra);
    let err = lake.fails(&args);
    assert_eq!(lake.tables(), before, "the lake changed: {err}");
    assert!(err.contains("nothing was imported"), "{err}");
    assert!(err.contains("the header is row 1"), "{err}");
    err
}

fn has(err: &str, wanted: &[&str]) {
    for w in wanted {
        assert!(err.contains(w), "missing {w:?} in:\n{err}");
    }
}

#[test]
fn commas_in_numbers_must_group_thousands() {
    let lake = world();
    let bad = lake.file(
        "commas.csv",
        &format!(
            "{PAYMENTS}{}{}",
            payment("P1", "\"1,234.50\""),
            payment("P2", "\"1,23\"")
        ),
    );
    let err = refused(&lake, "payments", &bad, &[]);
    has(
        &err,
        &[
            "1 row(s) have errors",
            "row 3, column amount: is not a decimal number",
            "(value: \"1,23\")",
        ],
    );
    let days = lake.file(
        "suppliers.csv",
        "supplier_id,name,lead_time_days\nSUP1,甲,\"1,2,3\"\nSUP2,乙,7\n",
    );
    let err = refused(&lake, "suppliers", &days, &[]);
    has(
        &err,
        &[
            "row 2, column lead_time_days: is not a whole number",
            "(value: \"1,2,3\")",
        ],
    );

    // Thousands grouping is still fine, and exact.
    let good = lake.file(
        "grouped.csv",
        &format!("{PAYMENTS}{}", payment("P1", "\"1,234.50\"")),
    );
    let out = lake.ok(&["import", "payments", good.to_str().expect("path")]);
    assert!(out.contains("imported 1 of 1 rows"), "{out}");
    let r = lake.query("select amount from payments where payment_id = 'P1'");
    assert_eq!(fen(&r[0]["amount"]), 123_450);
}

#[test]
fn unknown_shops_orders_and_words_are_refused() {
    let lake = world();
    let orders = lake.file(
        "o2.csv",
        &format!("{ORDERS}O2,T2,S99,taobao,paid,2026-11-11 00:05:00,2026-11-11 00:06:00,2026-11-11,1,0,0,1,false\n\
                  O3,T3,S01,taobao,lost,2026-11-11 00:05:00,2026-11-11 00:06:00,2026-11-11,1,0,0,1,false\n"),
    );
    let err = refused(&lake, "orders", &orders, &[]);
    has(
        &err,
        &[
            "row 2, column shop_id: unknown shop \"S99\"",
            "row 3, column status: must be one of created | paid | shipped | finished | closed | refunded, got \"lost\"",
        ],
    );
    let pays = lake.file(
        "pays.csv",
        &format!(
            "{PAYMENTS}P1,O404,S01,bank,TX1,1.00,2026-11-11 10:00:00,2026-11-11,success\n\
             P2,O1,S01,paypal,TX2,1.00,2026-11-11 10:00:00,2026-11-11,success\n\
             P3,O1,S01,bank,TX3,1.00,2026-11-11 10:00:00,2026-11-11,refunded\n"
        ),
    );
    let err = refused(&lake, "payments", &pays, &[]);
    has(
        &err,
        &[
            "3 row(s) have errors",
            "row 2, column order_id: unknown order \"O404\"",
            "row 3, column channel: must be one of alipay | wechat | jdpay | douyin_pay | bank | cash | cod, got \"paypal\"",
            "row 4, column status: must be one of success | reversed, got \"refunded\"",
        ],
    );
    // --skip-bad-rows does not let them in either: they go to the rejects file.
    let out = lake.ok(&[
        "import",
        "payments",
        pays.to_str().expect("path"),
        "--skip-bad-rows",
    ]);
    assert!(out.contains("imported 0 of 3 rows"), "{out}");
    assert_eq!(
        int(&lake.query("select count(*) as n from payments")[0]["n"]),
        1
    );
}

#[test]
fn amounts_and_dates_outside_the_forms_ranges_are_refused() {
    let lake = world();
    let pays = lake.file(
        "range.csv",
        &format!(
            "{PAYMENTS}{}{}P3,O1,S01,bank,TX3,1.00,9999-12-31 10:00:00,2026-11-11,success\n\
             P4,O1,S01,bank,TX4,1.00,2026-11-11 10:00:00,0001-01-01,success\n",
            payment("P1", "-5.00"),
            payment("P2", "0.00"),
        ),
    );
    let err = refused(&lake, "payments", &pays, &[]);
    has(
        &err,
        &[
            "row 2, column amount: must be at least 0.01, got -5.00",
            "row 3, column amount: must be at least 0.01, got 0.00",
            "row 4, column paid_at: year 9999 is outside 2000..2100",
            "row 5, column pay_date: year 1 is outside 2000..2100",
        ],
    );
    let orders = lake.file(
        "o-neg.csv",
        &format!("{ORDERS}O2,T2,S01,taobao,paid,0001-01-01 00:00:00,2026-11-11 00:06:00,2026-11-11,1,0,-1.00,1,false\n"),
    );
    let err = refused(&lake, "orders", &orders, &["--mode", "upsert"]);
    has(
        &err,
        &[
            "row 2, column created_at: year",
            "row 2, column freight_amount: must be at least 0.00, got -1.00",
        ],
    );
}

#[test]
fn bytes_that_are_not_text_and_nul_characters_are_refused() {
    let lake = world();
    // Latin-1 "Café" (0xE9) on row 3; a NUL inside a quoted cell on row 4.
    let bad = lake.path().join("latin1.csv");
    std::fs::write(
        &bad,
        b"warehouse_id,name,city\nW1,\xe6\x9d\xad\xe5\xb7\x9e\xe4\xbb\x93,\nW2,Caf\xe9,Paris\nW3,\"A\x00B\",\n",
    )
    .expect("write");
    let err = refused(&lake, "warehouses", &bad, &[]);
    has(
        &err,
        &[
            "2 row(s) have errors",
            "row 3, column name: is not text: byte 0xE9",
            "row 4, column name: contains a NUL character",
        ],
    );
    assert!(!err.contains("\u{fffd}杭"), "{err}");
    // A GBK file (Excel on a Chinese Windows) that decodes still imports, as GBK.
    let gbk = lake.path().join("gbk.csv");
    // 杭州仓 and 杭州 in GBK.
    std::fs::write(
        &gbk,
        b"warehouse_id,name,city\nW1,\xba\xbc\xd6\xdd\xb2\xd6,\xba\xbc\xd6\xdd\n",
    )
    .expect("write");
    lake.ok(&["import", "warehouses", gbk.to_str().expect("path")]);
    let r = lake.query("select name, city from warehouses");
    assert_eq!(
        (s(&r[0]["name"]), s(&r[0]["city"])),
        ("杭州仓".into(), "杭州".into())
    );
}

#[test]
fn key_errors_name_their_rows() {
    let lake = world();
    let dup = lake.file(
        "dup.csv",
        &format!(
            "{PAYMENTS}{}{}{}{}{}{}",
            payment("P2", "1.00"),
            payment("P1", "1.00"),
            payment("P3", "1.00"),
            payment("P4", "1.00"),
            payment("P5", "1.00"),
            payment("P1", "2.0x"),
        ),
    );
    // A row with a bad cell still counts: fixing the amount would not uncover the repeat.
    let err = refused(&lake, "payments", &dup, &[]);
    has(
        &err,
        &[
            "2 row(s) have errors",
            "row 3, column payment_id: payment_id \"P1\" appears more than once, on rows 3 and 7",
            "row 7, column amount: is not a decimal number",
        ],
    );
    let err = refused(&lake, "payments", &dup, &["--mode", "upsert"]);
    has(
        &err,
        &["payment_id \"P1\" appears more than once, on rows 3 and 7"],
    );
    // A key the lake already holds is named with its row and owner.
    let again = lake.file(
        "again.csv",
        &format!(
            "{PAYMENTS}{}{}",
            payment("P9", "1.00"),
            payment("P0", "1.00")
        ),
    );
    let err = refused(&lake, "payments", &again, &[]);
    has(
        &err,
        &["row 3, column payment_id: payment_id \"P0\" already exists (owned by `import:p0.csv`)"],
    );
}

#[test]
fn xlsx_and_parquet_cells_are_checked_like_csv() {
    let lake = world();
    let xlsx = lake.path().join("pays.xlsx");
    {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in PAYMENTS.trim().split(',').enumerate() {
            ws.write_string(0, c as u16, h).expect("h");
        }
        let rows = [
            [
                "P1",
                "O1",
                "S01",
                "bank",
                "TX1",
                "1,23",
                "2026-11-11 10:00:00",
                "2026-11-11",
                "success",
            ],
            [
                "P2",
                "O404",
                "S01",
                "paypal",
                "TX2",
                "1.00",
                "2026-11-11 10:00:00",
                "2026-11-11",
                "success",
            ],
        ];
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                ws.write_string(r as u32 + 1, c as u16, *v).expect("c");
            }
        }
        wb.save(&xlsx).expect("save");
    }
    let err = refused(&lake, "payments", &xlsx, &[]);
    has(
        &err,
        &[
            "row 2, column amount: is not a decimal number",
            "row 3, column order_id: unknown order \"O404\"",
            "row 3, column channel: must be one of",
        ],
    );

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
                Arc::new(StringArray::from(vec!["W1", "W2"])),
                Arc::new(StringArray::from(vec!["天津仓", "a\0b"])),
            ],
        )
        .expect("batch");
        let f = std::fs::File::create(&parquet).expect("create");
        let mut w = parquet::arrow::ArrowWriter::try_new(f, schema, None).expect("writer");
        w.write(&batch).expect("write");
        w.close().expect("close");
    }
    let err = refused(&lake, "warehouses", &parquet, &[]);
    has(&err, &["row 3, column name: contains a NUL character"]);
}

#[test]
fn many_problems_are_listed_at_once_up_to_twenty() {
    let lake = world();
    let mut text = String::from(PAYMENTS);
    for i in 1..=25 {
        text.push_str(&format!(
            "P{i},O{i}00,S01,bank,TX{i},1.00,2026-11-11 10:00:00,2026-11-11,success\n"
        ));
    }
    let f = lake.file("many.csv", &text);
    let err = refused(&lake, "payments", &f, &[]);
    has(
        &err,
        &[
            "25 row(s) have errors",
            "row 2, column order_id",
            "... and 5 more errors",
        ],
    );
    assert_eq!(err.matches("unknown order").count(), 20, "{err}");
}
