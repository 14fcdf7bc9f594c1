//! Upserts replace changed rows without duplicates; older versions stay readable.

use crate::support::{Lake, fen, int};

const HEADER: &str = "order_id,platform_order_no,shop_id,platform,status,created_at,modified_at,order_date,goods_amount,discount_amount,freight_amount,pay_amount,is_cod\n";

#[test]
fn upsert_replaces_changed_orders_and_time_travel_reads_the_old_version() {
    let lake = Lake::new();
    // Orders name their shops, which must exist (imports check references like forms).
    let shops = lake.file(
        "shops.csv",
        "shop_id,platform,name\nS01,taobao,A\nS02,tmall,B\n",
    );
    lake.ok(&["import", "shops", shops.to_str().expect("path")]);
    let v1 = lake.file(
        "v1.csv",
        &format!(
            "{HEADER}O1,T1,S01,taobao,paid,2026-11-11 00:05:00,2026-11-11 00:06:00,2026-11-11,100.00,0,0,100.00,false\n\
             O2,T2,S01,taobao,paid,2026-11-11 09:00:00,2026-11-11 09:01:00,2026-11-11,50.00,5.00,0,45.00,false\n"
        ),
    );
    lake.ok(&["import", "orders", v1.to_str().expect("path")]);
    let first = lake.tables()["orders"].1;

    // O2 is refunded (status and amount change), O3 is new.
    let v2 = lake.file(
        "v2.csv",
        &format!(
            "{HEADER}O2,T2,S01,taobao,refunded,2026-11-11 09:00:00,2026-11-13 10:00:00,2026-11-11,50.00,5.00,0,45.00,false\n\
             O3,T3,S02,tmall,paid,2026-11-12 10:00:00,2026-11-12 10:00:00,2026-11-12,19.90,0,0,19.90,false\n"
        ),
    );
    lake.ok(&[
        "import",
        "orders",
        v2.to_str().expect("path"),
        "--mode",
        "upsert",
    ]);
    let r = lake.query(
        "select count(*) as n, count(distinct order_id) as k, sum(pay_amount) as paid from orders",
    );
    assert_eq!(
        (int(&r[0]["n"]), int(&r[0]["k"]), fen(&r[0]["paid"])),
        (3, 3, 16_490)
    );
    let r = lake.query("select status from orders where order_id = 'O2'");
    assert_eq!(r[0]["status"], "refunded");
    // Re-running the same upsert changes nothing.
    lake.ok(&[
        "import",
        "orders",
        v2.to_str().expect("path"),
        "--mode",
        "upsert",
    ]);
    assert_eq!(
        int(&lake.query("select count(*) as n from orders")[0]["n"]),
        3
    );

    // Time travel: the first version still says O2 was paid and O3 did not exist.
    let pin = format!("orders={first}");
    let r = lake.query_args(
        "select order_id, status from orders order by 1",
        &["--as-of", &pin],
    );
    assert_eq!(r.len(), 2);
    assert_eq!(r[1]["status"], "paid");
    let err = lake.fails(&["query", "select 1", "--as-of", "orders=99"]);
    assert!(err.contains("no version 99"), "{err}");

    // A file repeating a key cannot be upserted (which row would win?).
    let dup = lake.file(
        "dup.csv",
        &format!(
            "{HEADER}O4,T4,S01,taobao,paid,2026-11-12 10:00:00,2026-11-12 10:00:00,2026-11-12,1,0,0,1,false\n\
             O4,T4,S01,taobao,paid,2026-11-12 10:00:00,2026-11-12 10:00:00,2026-11-12,2,0,0,2,false\n"
        ),
    );
    let err = lake.fails(&[
        "import",
        "orders",
        dup.to_str().expect("path"),
        "--mode",
        "upsert",
    ]);
    assert!(
        err.contains("O4") && err.contains("more than once"),
        "{err}"
    );
}
