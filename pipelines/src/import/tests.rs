//! Imports are validated like entry forms: the rules come from the forms and the schema, every
//! error names its file row and column, and a refused file commits nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use warehouse::schema::CATALOG;
use warehouse::{LakeConfig, Owner, Warehouse};

use super::rules::{Rule, Target, entry_form, for_table, one_of, schema_words, target_of};
use super::*;
use crate::forms::fields::{RefKind, Ty};

async fn lake(dir: &tempfile::TempDir) -> Warehouse {
    Warehouse::open(&LakeConfig {
        url: dir.path().join("lake").display().to_string(),
        storage_options: HashMap::new(),
    })
    .await
    .expect("lake")
}

fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).expect("write");
    p
}

async fn import(
    wh: &Warehouse,
    table: &str,
    path: &Path,
    mode: ImportMode,
) -> Result<ImportReport> {
    import_file(
        wh,
        table,
        path,
        ImportOptions {
            mode,
            skip_bad_rows: false,
        },
    )
    .await
}

async fn ok(wh: &Warehouse, table: &str, path: &Path) -> ImportReport {
    import(wh, table, path, ImportMode::Append)
        .await
        .unwrap_or_else(|e| panic!("{table}: {e}"))
}

async fn refused(wh: &Warehouse, table: &str, path: &Path, mode: ImportMode) -> String {
    let before = wh.version(table).await.expect("version");
    let e = import(wh, table, path, mode)
        .await
        .expect_err("must be refused")
        .to_string();
    assert_eq!(
        wh.version(table).await.expect("version"),
        before,
        "a refused import commits nothing: {e}"
    );
    e
}

const ORDERS: &str = "order_id,platform_order_no,shop_id,platform,status,created_at,modified_at,order_date,goods_amount,discount_amount,freight_amount,pay_amount,is_cod\n";
const PAYMENTS: &str =
    "payment_id,order_id,shop_id,channel,txn_no,amount,paid_at,pay_date,status\n";

/// A lake with shop S01 and its order O1.
async fn shop_and_order(dir: &tempfile::TempDir) -> Warehouse {
    let wh = lake(dir).await;
    let shops = file(
        dir,
        "shops.csv",
        "shop_id,platform,name\nS01,taobao,旗舰店\n",
    );
    ok(&wh, "shops", &shops).await;
    let orders = file(
        dir,
        "orders.csv",
        &format!(
            "{ORDERS}O1,T1,S01,taobao,paid,2026-11-11 00:05:00,2026-11-11 00:06:00,2026-11-11,100.00,0,0,100.00,false\n"
        ),
    );
    ok(&wh, "orders", &orders).await;
    wh
}

#[test]
fn each_table_written_field_by_field_takes_its_entry_forms_rules() {
    let mapped: Vec<(&str, &str)> = CATALOG
        .iter()
        .filter_map(|d| entry_form(d).map(|(f, _)| (d.name, f.name)))
        .collect();
    assert_eq!(
        mapped,
        vec![
            ("brands", "brands"),
            ("categories", "categories"),
            ("spus", "products"),
            ("skus", "products"),
            ("orders", "orders"),
            ("order_items", "orders"),
            ("payments", "payments"),
            ("refunds", "returns"),
            ("stock_movements", "stock_movements"),
            ("suppliers", "suppliers"),
            ("purchase_orders", "purchase_orders"),
            ("purchase_order_lines", "purchase_orders"),
            ("purchase_receipts", "purchase_receipts"),
            ("cod_remittances", "cod_remittances"),
            ("marketing_expenses", "marketing_expenses"),
            ("salaries", "salaries"),
            ("shop_traffic", "shop_traffic"),
            ("campaigns", "campaigns"),
        ]
    );
    // A field named like a column always describes it: no rule is lost to a type mismatch.
    for d in CATALOG {
        let Some((form, fields)) = entry_form(d) else {
            continue;
        };
        let rules = for_table(d);
        for f in fields {
            if let Some(c) = d.column(f.name) {
                let has = rules.iter().any(|r| r.column == c.name);
                assert!(
                    has,
                    "{}.{} has no rule from form {}",
                    d.name, c.name, form.name
                );
            }
        }
    }
}

#[test]
fn payments_follow_the_payments_form() {
    let def = warehouse::schema::table("payments").expect("payments");
    let rules = for_table(def);
    let of = |c: &str| {
        rules
            .iter()
            .find(|r| r.column == c)
            .map(|r| r.rules.clone())
            .unwrap_or_default()
    };
    assert!(matches!(
        of("amount")[..],
        [Rule::Field(Ty::Money { min: 1 })]
    ));
    assert!(
        matches!(of("order_id")[..], [Rule::Field(Ty::Id), Rule::Ref { target, list: false }] if target == target_of(RefKind::Order))
    );
    assert!(
        matches!(of("channel")[..], [Rule::OneOf(w)] if w.contains(&"bank") && !w.contains(&"paypal"))
    );
    assert!(matches!(
        of("status")[..],
        [Rule::OneOf(["success", "reversed"])]
    ));
    assert!(matches!(of("paid_at")[..], [Rule::Field(Ty::Timestamp)]));
    assert!(
        matches!(of("pay_date")[..], [Rule::Calendar]),
        "a derived date still has the forms' years"
    );
    assert!(of("source").is_empty(), "owners are checked with the keys");
    // A child table's parent must exist, form or not.
    let lines = for_table(warehouse::schema::table("purchase_order_lines").expect("t"));
    let po = lines.iter().find(|r| r.column == "po_id").expect("po_id");
    assert!(po.rules.iter().any(|r| matches!(
        r,
        Rule::Ref {
            target: Target {
                table: "purchase_orders",
                ..
            },
            ..
        }
    )));
}

#[test]
fn word_lists_come_from_the_schema_and_the_forms() {
    assert_eq!(
        schema_words("pending | success | closed"),
        Some(vec!["pending", "success", "closed"])
    );
    assert_eq!(
        schema_words("sale | fee | insurance (a claim paid to the seller)"),
        Some(vec!["sale", "fee", "insurance"])
    );
    assert_eq!(
        schema_words("money | qty: what expected and actual count"),
        None
    );
    assert_eq!(schema_words("e.g. ztc (直通车), ylmf (引力魔方)"), None);
    assert_eq!(schema_words("carrier code (zto, yto, sf)"), None);
    // The schema may allow more than a person enters by hand (a count movement is booked by
    // the count form; platforms refund orders).
    let kinds = one_of("stock_movements", "kind").expect("kinds");
    assert_eq!(kinds, ["in", "out", "return", "adjust", "count"]);
    assert!(one_of("orders", "status").expect("s").contains(&"refunded"));
    // Where only the form lists them, the form's words.
    assert_eq!(
        one_of("cod_remittances", "carrier"),
        Some(&["zto", "yto", "sf", "jd", "ems", "yunda", "sto"][..])
    );
    assert_eq!(
        one_of("campaigns", "platform"),
        Some(&["taobao", "tmall", "jd", "douyin", "pinduoduo", "internal"][..])
    );
    assert!(
        one_of("platform_bills", "kind")
            .expect("k")
            .contains(&"insurance")
    );
    assert_eq!(one_of("shipments", "carrier"), None);
    // Every form's words for a column are among the schema's, where the schema lists any.
    for d in CATALOG {
        let Some((form, fields)) = entry_form(d) else {
            continue;
        };
        for f in fields {
            if let (Ty::Enum(words), Some(c)) = (f.ty, d.column(f.name))
                && let Some(schema) = schema_words(c.doc)
            {
                for w in words {
                    assert!(
                        schema.contains(w),
                        "{}: {}.{} {w}",
                        form.name,
                        d.name,
                        c.name
                    );
                }
            }
        }
    }
}

#[test]
fn rows_are_listed_readably() {
    use super::keys::rows_text;
    assert_eq!(rows_text(&[3]), "row 3");
    assert_eq!(rows_text(&[3, 7]), "rows 3 and 7");
    assert_eq!(rows_text(&[3, 7, 9]), "rows 3, 7 and 9");
    let many: Vec<usize> = (2..40).collect();
    assert_eq!(
        rows_text(&many),
        "38 rows: 2, 3, 4, 5, 6, 7, 8, 9, 10, ... and 39"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_breaking_the_forms_rules_is_refused_row_by_row_and_commits_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = shop_and_order(&dir).await;
    let bad = file(
        &dir,
        "bad.csv",
        &format!(
            "{PAYMENTS}P1,O1,S01,bank,T1,10.00,2026-11-11 10:00:00,2026-11-11,success\n\
             P2,O404,S01,bank,T2,10.00,2026-11-11 10:00:00,2026-11-11,success\n\
             P3,O1,S01,paypal,T3,10.00,2026-11-11 10:00:00,2026-11-11,success\n\
             P4,O1,S01,bank,T4,-5.00,2026-11-11 10:00:00,2026-11-11,success\n\
             P5,O404,S01,bank,T5,\"1,23\",2026-11-11 10:00:00,2026-11-11,success\n\
             P1,O1,S01,bank,T6,10.00,2026-11-11 10:00:00,2026-11-11,success\n\
             P6,O1,S01,bank,T7,10.00,9999-12-31 10:00:00,0001-01-01,success\n\
             P7,O1,S01,bank,T8,10.00,2026-11-11 10:00:00,2026-11-11,refunded\n\
             P8,O1,S01,bank,T 9,0.00,2026-11-11 10:00:00,2026-11-11,success\n\
             P9,O1,S01,bank,T10,10.00,2026-11-11 10:00:00,2026-11-11,\n"
        ),
    );
    let e = refused(&wh, "payments", &bad, ImportMode::Append).await;
    for want in [
        "the header is row 1",
        "row 2, column payment_id: payment_id \"P1\" appears more than once, on rows 2 and 7",
        "row 3, column order_id: unknown order \"O404\"",
        "row 4, column channel: must be one of alipay | wechat | jdpay | douyin_pay | bank | cash | cod, got \"paypal\"",
        "row 5, column amount: must be at least 0.01, got -5.00",
        "row 6, column amount: is not a decimal number (a comma must group thousands",
        "row 6, column order_id: unknown order \"O404\"",
        "row 8, column paid_at: year 9999 is outside 2000..2100",
        "row 8, column pay_date: year 1 is outside 2000..2100",
        "row 9, column status: must be one of success | reversed, got \"refunded\"",
        "row 10, column txn_no:",
        "row 10, column amount: must be at least 0.01, got 0.00",
        "row 11, column status: is required but empty",
    ] {
        assert!(e.contains(want), "missing {want:?} in:\n{e}");
    }
    assert_eq!(
        e.matches("appears more than once, on rows 2 and 7").count(),
        1,
        "a repeated key is listed once: {e}"
    );
    assert!(e.contains("10 row(s) have errors"), "{e}");

    // --skip-bad-rows imports no row of the repeated key, and writes every bad row aside.
    let fixed = file(
        &dir,
        "mixed.csv",
        &format!(
            "{PAYMENTS}P1,O1,S01,bank,T1,10.00,2026-11-11 10:00:00,2026-11-11,success\n\
             P1,O1,S01,bank,T6,11.00,2026-11-11 10:00:00,2026-11-11,success\n\
             P2,O404,S01,bank,T2,10.00,2026-11-11 10:00:00,2026-11-11,success\n\
             P3,O1,S01,bank,T3,\"1,234.50\",2026-11-11 10:00:00,2026-11-11,success\n"
        ),
    );
    let r = import_file(
        &wh,
        "payments",
        &fixed,
        ImportOptions {
            mode: ImportMode::Append,
            skip_bad_rows: true,
        },
    )
    .await
    .expect("skip");
    assert_eq!((r.rows_read, r.rows_written, r.rejected), (4, 1, 3));
    let rejects = std::fs::read_to_string(r.rejects_file.expect("rejects")).expect("read");
    assert!(
        rejects.contains("appears more than once, on rows 2 and 3"),
        "{rejects}"
    );
    assert!(rejects.contains("unknown order"), "{rejects}");
    let b = wh
        .query("SELECT CAST(amount AS VARCHAR) AS a FROM payments")
        .await
        .expect("q");
    let a = arrow::util::pretty::pretty_format_batches(&b)
        .expect("fmt")
        .to_string();
    assert!(a.contains("1234.50"), "{a}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_shops_enums_and_whole_numbers_are_refused_where_forms_refuse_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = shop_and_order(&dir).await;
    let orders = file(
        &dir,
        "o2.csv",
        &format!(
            "{ORDERS}O2,T2,S99,taobao,paid,2026-11-11 00:05:00,2026-11-11 00:06:00,2026-11-11,1,0,-1.00,1,false\n"
        ),
    );
    let e = refused(&wh, "orders", &orders, ImportMode::Upsert).await;
    assert!(
        e.contains("row 2, column shop_id: unknown shop \"S99\""),
        "{e}"
    );
    assert!(
        e.contains("row 2, column freight_amount: must be at least 0.00"),
        "{e}"
    );
    let sup = file(
        &dir,
        "s.csv",
        "supplier_id,name,lead_time_days\nSUP1,甲,\"1,2,3\"\nSUP2,乙,400\nSUP3,丙,\"1,000\"\n",
    );
    let e = refused(&wh, "suppliers", &sup, ImportMode::Append).await;
    assert!(
        e.contains("row 2, column lead_time_days: is not a whole number"),
        "{e}"
    );
    assert!(
        e.contains("row 3, column lead_time_days: must be between 0 and 365, got 400"),
        "{e}"
    );
    assert!(
        e.contains("row 4, column lead_time_days: must be between 0 and 365, got 1000"),
        "{e}"
    );
    // A reference to the table itself may name a row of the same file.
    let cats = file(
        &dir,
        "c.csv",
        "category_id,parent_id,name,level,path\nC1,,家居,1,家居\nC2,C1,厨房,2,家居 > 厨房\nC3,C9,卫浴,2,家居 > 卫浴\n",
    );
    let e = refused(&wh, "categories", &cats, ImportMode::Append).await;
    assert!(
        e.contains("row 4, column parent_id: unknown category \"C9\""),
        "{e}"
    );
    assert!(e.contains("1 row(s) have errors"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_the_lake_holds_are_named_with_their_rows() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = shop_and_order(&dir).await;
    let p = file(
        &dir,
        "p.csv",
        &format!("{PAYMENTS}P1,O1,S01,bank,T1,10.00,2026-11-11 10:00:00,2026-11-11,success\n"),
    );
    ok(&wh, "payments", &p).await;
    // A form's payment, written as the form.
    let form_row = file(
        &dir,
        "f.csv",
        "payment_id,order_id,shop_id,channel,txn_no,amount,paid_at,pay_date,status,source\n\
         F1,O1,S01,cash,T2,5.00,2026-11-11 10:00:00,2026-11-11,success,form:payments\n",
    );
    let def = wh.def("payments").expect("def");
    let read = connectors::files::read_file(&form_row, &def.arrow_schema()).expect("read");
    wh.write("payments", Owner::source("form:payments"))
        .insert_new(&read.batches)
        .await
        .expect("form row");

    let again = file(
        &dir,
        "again.csv",
        &format!(
            "{PAYMENTS}P2,O1,S01,bank,T3,1.00,2026-11-11 10:00:00,2026-11-11,success\n\
             P1,O1,S01,bank,T1,10.00,2026-11-11 10:00:00,2026-11-11,success\n\
             F1,O1,S01,bank,T4,1.00,2026-11-11 10:00:00,2026-11-11,success\n"
        ),
    );
    let e = refused(&wh, "payments", &again, ImportMode::Append).await;
    assert!(e.contains("row 3, column payment_id: payment_id \"P1\" already exists (owned by `import:p.csv`); use --mode upsert"), "{e}");
    assert!(
        e.contains(
            "row 4, column payment_id: payment_id \"F1\" already exists (owned by `form:payments`)"
        ),
        "{e}"
    );
    // An upsert may replace the import's row, never the form's.
    let e = refused(&wh, "payments", &again, ImportMode::Upsert).await;
    assert!(
        e.contains("row 4, column payment_id: payment_id \"F1\" is owned by `form:payments`"),
        "{e}"
    );
    assert!(!e.contains("row 3"), "{e}");
    // Nor may a file claim another writer's name.
    let claim = file(
        &dir,
        "claim.csv",
        "payment_id,order_id,shop_id,channel,txn_no,amount,paid_at,pay_date,status,source\n\
         P9,O1,S01,bank,T9,1.00,2026-11-11 10:00:00,2026-11-11,success,jushuitan\n\
         P10,O1,S01,bank,T10,1.00,2026-11-11 10:00:00,2026-11-11,success,import:old.csv\n",
    );
    let e = refused(&wh, "payments", &claim, ImportMode::Append).await;
    assert!(
        e.contains("row 2, column source: names the owner `jushuitan`"),
        "{e}"
    );
    assert!(e.contains("1 row(s) have errors"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_problems_are_reported_at_once_up_to_a_cap() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = shop_and_order(&dir).await;
    let mut text = String::from(PAYMENTS);
    for i in 0..30 {
        text.push_str(&format!(
            "P{i},O{i},S01,bank,T{i},10.00,2026-11-11 10:00:00,2026-11-11,success\n"
        ));
    }
    let p = file(&dir, "many.csv", &text);
    let e = refused(&wh, "payments", &p, ImportMode::Append).await;
    assert!(e.contains("29 row(s) have errors"), "{e}");
    assert_eq!(
        e.matches("unknown order").count(),
        report::MAX_LISTED,
        "{e}"
    );
    assert!(e.contains("... and 9 more errors"), "{e}");
}

/// Writes `batches` as a CSV file the import reads back.
fn write_csv(path: &Path, batches: &[arrow::record_batch::RecordBatch]) {
    let f = std::fs::File::create(path).expect("create");
    let mut w = arrow::csv::WriterBuilder::new().with_header(true).build(f);
    for b in batches {
        w.write(b).expect("write csv");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_the_demo_writes_passes_the_import_checks() {
    // The rules refuse what forms refuse, not what the lake's own writers produce: every row
    // of a demo world, written out and read back as an import would, breaks no rule.
    let dir = tempfile::tempdir().expect("tmp");
    let wh = lake(&dir).await;
    let cfg = crate::demo::DemoConfig {
        orders: 400,
        skus: 30,
        days: 20,
        end_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 20).expect("d"),
        seed: 3,
    };
    crate::demo::run_demo(&wh, &cfg, false, None, &|_| {})
        .await
        .expect("demo");
    let mut checked = 0;
    for def in CATALOG {
        let batches = wh
            .query(&format!("SELECT * FROM {}", def.name))
            .await
            .expect("read");
        let batches: Vec<_> = batches
            .iter()
            .filter(|b| b.num_rows() > 0)
            .map(|b| warehouse::conform(def, b).expect("conform"))
            .collect();
        if batches.is_empty() {
            continue;
        }
        let path = dir.path().join(format!("{}.csv", def.name));
        write_csv(&path, &batches);
        let read = connectors::files::read_file(&path, &def.arrow_schema()).expect("read");
        let cell_errors: Vec<String> = read.errors().take(5).map(|e| e.to_string()).collect();
        assert!(cell_errors.is_empty(), "{}: {cell_errors:?}", def.name);
        let rules = for_table(def);
        let known = super::known::load(&wh, def, &rules, &read)
            .await
            .expect("known");
        let errors: std::collections::BTreeSet<String> = super::check::rows(&read, &rules, &known)
            .iter()
            .map(|e| format!("{}.{}: {}", def.name, e.column, e.reason))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
        assert!(
            super::keys::repeated(def, &read).expect("keys").is_empty(),
            "{}",
            def.name
        );
        checked += read.rows_ok();
    }
    assert!(checked > 1_000, "{checked} rows checked");
}
