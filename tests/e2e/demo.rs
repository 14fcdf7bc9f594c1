//! The demo world in the lake equals the generator's own ledger.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::{Lake, fen, int, s};

#[test]
fn demo_totals_match_the_generators_ledger_per_shop_and_day() {
    let lake = Lake::new();
    let out = lake.ok(&[
        "demo",
        "--orders",
        "12000",
        "--skus",
        "400",
        "--days",
        "100",
        "--end-date",
        "2026-11-24",
    ]);
    assert!(
        out.contains("zhongtai query"),
        "summary says how to look: {out}"
    );
    let ledger: Value = serde_json::from_slice(
        &std::fs::read(lake.path().join("demo-ledger.json")).expect("ledger"),
    )
    .expect("json");

    // The must-show query, per shop.
    let rows = lake.query(
        "select shop_id, count(*) as n, sum(pay_amount) as paid from orders group by 1 order by 1",
    );
    let mut per_shop: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (shop, days) in ledger["orders"].as_object().expect("orders") {
        for v in days.as_object().expect("days").values() {
            let e = per_shop.entry(shop.clone()).or_default();
            e.0 += int(&v[0]);
            e.1 += int(&v[1]);
        }
    }
    let got: BTreeMap<String, (i64, i64)> = rows
        .iter()
        .map(|r| (s(&r["shop_id"]), (int(&r["n"]), fen(&r["paid"]))))
        .collect();
    assert_eq!(got, per_shop);
    assert_eq!(got.values().map(|v| v.0).sum::<i64>(), 12_000);
    // The summary printed the same totals.
    for (shop, (_, paid)) in &per_shop {
        let line = out
            .lines()
            .find(|l| l.starts_with(shop.as_str()))
            .expect("shop line in summary");
        assert!(line.ends_with(&pipelines::demo::yuan(*paid)), "{line}");
    }

    // Per shop and Asia/Shanghai business day, including orders placed between 00:00 and 08:00
    // local time (the previous UTC day).
    let rows = lake.query("select shop_id, cast(order_date as varchar) as d, count(*) as n, sum(pay_amount) as paid from orders group by 1, 2");
    let mut n = 0;
    for r in &rows {
        let want = &ledger["orders"][s(&r["shop_id"])][s(&r["d"])];
        assert_eq!(
            (int(&r["n"]), fen(&r["paid"])),
            (int(&want[0]), int(&want[1])),
            "{r:?}"
        );
        n += 1;
    }
    assert_eq!(
        n,
        ledger["orders"]
            .as_object()
            .expect("o")
            .values()
            .map(|d| d.as_object().expect("d").len())
            .sum::<usize>()
    );
    let early =
        lake.query("select count(*) as n from orders where order_date <> cast(created_at as date)");
    assert!(
        int(&early[0]["n"]) > 0,
        "some orders fall before 08:00 Shanghai time"
    );

    // Money sums of other tables equal the ledger to the fen.
    for (key, want) in ledger["money"].as_object().expect("money") {
        let (table, col) = key.split_once('.').expect("table.column");
        let r = lake.query(&format!("select sum({col}) as s from {table}"));
        assert_eq!(fen(&r[0]["s"]), int(want), "{key}");
    }

    // `tables` lists every canonical table with the rows the generator wrote.
    let tables = lake.tables();
    for def in warehouse::schema::CATALOG {
        let (rows, _) = tables
            .get(def.name)
            .unwrap_or_else(|| panic!("{} missing from `tables`", def.name));
        // The orders came through the Jushuitan connector, whose raw log holds each order once.
        let want = match def.name {
            "raw_records" => int(&ledger["rows"]["orders"]),
            // One row per shop and business day with orders.
            "mart_daily_sales" => ledger["orders"]
                .as_object()
                .expect("orders")
                .values()
                .map(|d| d.as_object().expect("days").len() as i64)
                .sum(),
            name => ledger["rows"].get(name).map_or(0, int),
        };
        assert_eq!(*rows as i64, want, "{}", def.name);
    }

    // The orders reached the lake through the connector, and every other table still joins them.
    let via = lake.query("select source, count(*) as n from orders group by 1");
    assert_eq!(via.len(), 1, "{via:?}");
    assert_eq!(s(&via[0]["source"]), "jushuitan");
    let orphans = lake.query(
        "select count(*) as n from refunds r left join orders o on r.order_id = o.order_id \
         where o.order_id is null",
    );
    assert_eq!(int(&orphans[0]["n"]), 0, "refunds whose order is missing");
    let statuses = lake.query("select count(distinct status) as n from orders");
    assert!(
        int(&statuses[0]["n"]) >= 5,
        "statuses survive the trip: {statuses:?}"
    );

    // A second demo refuses to double the data; --reset replaces it.
    let err = lake.fails(&["demo", "--orders", "100", "--end-date", "2026-11-24"]);
    assert!(err.contains("--reset"), "{err}");
    lake.ok(&[
        "demo",
        "--orders",
        "500",
        "--skus",
        "50",
        "--days",
        "30",
        "--end-date",
        "2026-11-24",
        "--reset",
    ]);
    assert_eq!(
        int(&lake.query("select count(*) as n from orders")[0]["n"]),
        500
    );
}

#[test]
fn query_is_read_only() {
    let lake = Lake::new();
    let csv = lake.file("w.csv", "warehouse_id,name\nW1,杭州仓\n");
    lake.ok(&["import", "warehouses", csv.to_str().expect("path")]);
    let before = lake.tables();
    let copied = lake.path().join("copied.csv");
    let copy = format!("copy (select * from warehouses) to '{}'", copied.display());
    for sql in [
        "create table x as select 1",
        "insert into warehouses select * from warehouses",
        "delete from warehouses",
        "drop table warehouses",
        copy.as_str(),
        "set datafusion.execution.batch_size = 1",
    ] {
        let err = lake.fails(&["query", sql]);
        assert!(
            err.contains("not supported") || err.contains("not allowed"),
            "{sql}: {err}"
        );
    }
    assert!(!copied.exists(), "COPY wrote a file");
    assert_eq!(lake.tables(), before, "no table changed");
    let err = lake.fails(&["query", "select * from no_such_table"]);
    assert!(err.contains("no_such_table"), "{err}");
}
