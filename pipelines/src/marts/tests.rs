//! Marts equal a direct aggregation of their source after every kind of write, and an
//! incremental refresh recomputes only the days a write touched.

use std::collections::HashMap;

use chrono::NaiveDate;
use warehouse::datafusion;
use warehouse::{LakeConfig, Owner, Warehouse};

use super::*;
use crate::demo::{DemoConfig, run_demo};

async fn table_text(wh: &Warehouse, sql: &str) -> String {
    let b = wh.query(sql).await.expect("query");
    arrow::util::pretty::pretty_format_batches(&b)
        .expect("fmt")
        .to_string()
}

const DIRECT: &str = "SELECT order_date, shop_id, count(*) AS orders, count(paid_at) AS paid, \
     sum(pay_amount) AS gmv FROM orders GROUP BY 1, 2 ORDER BY 1, 2";
const FROM_MART: &str = "SELECT order_date, shop_id, orders, paid_orders AS paid, gmv \
     FROM mart_daily_sales ORDER BY 1, 2";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_sales_mart_follows_appends_upserts_and_deletes_incrementally() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = Warehouse::open(&LakeConfig {
        url: dir.path().join("lake").display().to_string(),
        storage_options: HashMap::new(),
    })
    .await
    .expect("lake");
    let cfg = DemoConfig {
        orders: 6_000,
        skus: 200,
        days: 60,
        end_date: NaiveDate::from_ymd_opt(2026, 11, 24).expect("d"),
        seed: 5,
    };
    run_demo(&wh, &cfg, false, None, &|_| {})
        .await
        .expect("demo");
    let m = &MARTS[0];
    assert!(!is_fresh(&wh, m).await.expect("fresh?"));
    let r = refresh(&wh, m).await.expect("build");
    assert!(r.full && r.days == Some(60), "{r:?}");
    assert!(is_fresh(&wh, m).await.expect("fresh?"));
    assert_eq!(
        table_text(&wh, FROM_MART).await,
        table_text(&wh, DIRECT).await
    );
    // Nothing changed: nothing to do.
    assert_eq!(refresh(&wh, m).await.expect("noop").days, None);

    // Change two orders on two days (upsert) and delete every order of a third day.
    let changed = wh
        .query(
            "SELECT * FROM orders WHERE order_id IN (SELECT min(order_id) FROM orders \
             WHERE order_date IN (DATE '2026-10-01', DATE '2026-10-20') GROUP BY order_date)",
        )
        .await
        .expect("pick");
    let cols: Vec<String> = warehouse::schema::table("orders")
        .expect("orders")
        .columns
        .iter()
        .map(|c| {
            if c.name == "pay_amount" {
                "CAST(pay_amount + 100.00 AS DECIMAL(18,2)) AS pay_amount".to_string()
            } else {
                c.name.to_string()
            }
        })
        .collect();
    let ids: Vec<String> = changed
        .iter()
        .flat_map(|b| {
            let c = b.column_by_name("order_id").expect("id");
            let c = arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8).expect("utf8");
            let s = arrow::array::AsArray::as_string::<i32>(&c);
            s.iter()
                .flatten()
                .map(|v| format!("'{v}'"))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(ids.len(), 2);
    let new = wh
        .query(&format!(
            "SELECT {} FROM orders WHERE order_id IN ({})",
            cols.join(", "),
            ids.join(", ")
        ))
        .await
        .expect("new rows");
    wh.write("orders", Owner::Any)
        .upsert(&new)
        .await
        .expect("upsert");
    let day = datafusion::logical_expr::cast(
        datafusion::prelude::lit("2026-11-02"),
        arrow::datatypes::DataType::Date32,
    );
    wh.write("orders", Owner::Any)
        .delete(datafusion::prelude::col("order_date").eq(day))
        .await
        .expect("delete");
    let r = refresh(&wh, m).await.expect("incremental");
    assert!(!r.full, "{r:?}");
    // The demo writes one file per table, so the upsert rewrote it: every day is in the
    // changed files. What matters is that the result is exact and the version recorded.
    assert!(r.days.is_some_and(|d| d >= 3), "{r:?}");
    assert_eq!(
        table_text(&wh, FROM_MART).await,
        table_text(&wh, DIRECT).await
    );
    let gone = table_text(
        &wh,
        "SELECT count(*) AS n FROM mart_daily_sales WHERE order_date = DATE '2026-11-02'",
    )
    .await;
    assert!(gone.contains("| 0 "), "{gone}");
    assert!(is_fresh(&wh, m).await.expect("fresh?"));

    // An append of new orders on one day only touches that day.
    let extra = wh
        .query(&format!(
            "SELECT {} FROM orders WHERE order_date = DATE '2026-11-20' LIMIT 3",
            warehouse::schema::table("orders")
                .expect("orders")
                .columns
                .iter()
                .map(|c| if c.name == "order_id" {
                    "concat(order_id, '-x') AS order_id".to_string()
                } else {
                    c.name.to_string()
                })
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .await
        .expect("extra");
    wh.write("orders", Owner::Any)
        .append(&extra)
        .await
        .expect("append");
    let r = refresh(&wh, m).await.expect("append refresh");
    assert_eq!(r.days, Some(1), "{r:?}");
    assert_eq!(
        table_text(&wh, FROM_MART).await,
        table_text(&wh, DIRECT).await
    );
}
