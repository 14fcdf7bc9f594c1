//! `zhongtai metrics` against a demo lake: GMV and orders equal the generator's ledger per shop
//! and Shanghai day; derived metrics equal their components computed with plain SQL; user
//! metric files are picked up.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::support::{Lake, fen, int, s};

type Rows = Vec<Map<String, Value>>;

/// A demo lake (orders written directly: faster) and its ledger.
fn demo() -> (Lake, Value) {
    let lake = Lake::new();
    lake.ok(&[
        "demo",
        "--orders",
        "12000",
        "--skus",
        "400",
        "--days",
        "100",
        "--end-date",
        "2026-11-24",
        "--direct",
    ]);
    let ledger: Value = serde_json::from_slice(
        &std::fs::read(lake.path().join("demo-ledger.json")).expect("ledger"),
    )
    .expect("json");
    (lake, ledger)
}

fn metric(lake: &Lake, args: &[&str]) -> Rows {
    let mut a = vec!["metrics"];
    a.extend_from_slice(args);
    lake.json(&a)
}

/// `shop -> day -> (orders, pay fen)` from the ledger.
fn ledger_days(ledger: &Value) -> BTreeMap<(String, String), (i64, i64)> {
    let mut out = BTreeMap::new();
    for (shop, days) in ledger["orders"].as_object().expect("orders") {
        for (d, v) in days.as_object().expect("days") {
            out.insert((shop.clone(), d.clone()), (int(&v[0]), int(&v[1])));
        }
    }
    out
}

/// A decimal with at most `places` decimals, as an integer of `10^-places` units.
fn units(v: &Value, places: usize) -> i64 {
    let text = s(v);
    let neg = text.starts_with('-');
    let t = text.trim_start_matches('-');
    let (i, f) = t.split_once('.').unwrap_or((t, ""));
    assert!(f.len() <= places, "{text} has more than {places} decimals");
    let f = format!("{f:0<places$}");
    let n = i.parse::<i64>().expect("int part") * 10i64.pow(places as u32)
        + f.parse::<i64>().expect("frac part");
    if neg { -n } else { n }
}

#[test]
fn metrics_gmv_and_orders_equal_the_demo_ledger_per_shop_day_and_month() {
    let (lake, ledger) = demo();
    let want = ledger_days(&ledger);

    // Per shop and Shanghai day, to the fen.
    let gmv = metric(&lake, &["gmv", "--by", "shop,day"]);
    let orders = metric(&lake, &["orders", "--by", "shop,day"]);
    assert_eq!(
        gmv.len(),
        want.len(),
        "one row per shop and day with orders"
    );
    assert_eq!(orders.len(), want.len());
    for (g, o) in gmv.iter().zip(&orders) {
        let key = (s(&g["shop_id"]), s(&g["day"]));
        let (n, paid) = want
            .get(&key)
            .unwrap_or_else(|| panic!("{key:?} not in ledger"));
        assert_eq!(fen(&g["gmv"]), *paid, "{key:?}");
        assert_eq!(
            (s(&o["shop_id"]), s(&o["day"])),
            key,
            "same keys, same order"
        );
        assert_eq!(int(&o["orders"]), *n, "{key:?}");
    }
    // Those days include orders placed between 00:00 and 08:00 Shanghai time (the previous UTC
    // day), which a date derived in UTC would move.
    let early =
        lake.query("select count(*) as n from orders where order_date <> cast(created_at as date)");
    assert!(int(&early[0]["n"]) > 0, "the demo has early-morning orders");

    // Per month: the ledger's days summed by month.
    let mut months: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for ((shop, d), (n, paid)) in &want {
        let e = months
            .entry((shop.clone(), d[..7].to_string()))
            .or_default();
        e.0 += n;
        e.1 += paid;
    }
    let got: BTreeMap<(String, String), (i64, i64)> = metric(&lake, &["gmv", "--by", "shop,month"])
        .iter()
        .zip(metric(&lake, &["orders", "--by", "shop,month"]))
        .map(|(g, o)| {
            (
                (s(&g["shop_id"]), s(&g["month"])),
                (int(&o["orders"]), fen(&g["gmv"])),
            )
        })
        .collect();
    assert_eq!(got, months);
    assert!(got.keys().any(|(_, m)| m == "2026-11") && got.keys().any(|(_, m)| m == "2026-08"));

    // The whole lake in one number, and a period.
    let total = metric(&lake, &["gmv"]);
    assert_eq!(total.len(), 1);
    assert_eq!(
        fen(&total[0]["gmv"]),
        want.values().map(|v| v.1).sum::<i64>()
    );
    let nov = metric(
        &lake,
        &[
            "orders",
            "--by",
            "shop",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-11",
        ],
    );
    for r in &nov {
        let shop = s(&r["shop_id"]);
        let expected: i64 = want
            .iter()
            .filter(|((sh, d), _)| {
                *sh == shop && d.as_str() >= "2026-11-01" && d.as_str() <= "2026-11-11"
            })
            .map(|(_, v)| v.0)
            .sum();
        assert_eq!(int(&r["orders"]), expected, "{shop}");
    }
    assert_eq!(nov.len(), ledger["orders"].as_object().expect("o").len());

    // --shop restricts the rows to that shop, with the same values.
    let shop = want.keys().next().expect("a shop").0.clone();
    let only = metric(&lake, &["gmv", "--by", "shop,day", "--shop", &shop]);
    assert!(!only.is_empty());
    assert!(only.iter().all(|r| s(&r["shop_id"]) == shop), "{only:?}");
    assert_eq!(
        only.len(),
        want.keys().filter(|(sh, _)| *sh == shop).count()
    );
    let one = metric(&lake, &["gmv", "--shop", &shop]);
    assert_eq!(
        fen(&one[0]["gmv"]),
        want.iter()
            .filter(|((sh, _), _)| *sh == shop)
            .map(|(_, v)| v.1)
            .sum::<i64>()
    );
    // A quote in a shop id is data, not SQL.
    let none = metric(&lake, &["gmv", "--by", "shop", "--shop", "x' OR '1'='1"]);
    assert!(none.is_empty(), "{none:?}");

    // --sql prints the statement instead of running it; table output keeps two decimals.
    let sql = lake.ok(&["metrics", "gmv", "--by", "shop,month", "--sql"]);
    assert!(sql.contains("to_char(r.date, '%Y-%m') AS month"), "{sql}");
    let table = lake.ok(&["metrics", "gmv", "--by", "platform"]);
    assert!(table.lines().any(|l| l.contains("tmall")), "{table}");
}

/// Salaries per shop under the documented rule, computed here from plain SQL and the ledger:
/// own staff, plus shared pools per department and month split by the month's GMV (floor in
/// fen; the remainder to the largest-GMV shop, ties to the smaller id).
fn salaries_per_shop(lake: &Lake, ledger: &Value) -> BTreeMap<String, i64> {
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    for r in lake.query(
        "select shop_id, sum(gross_amount) as a from salaries where shop_id is not null group by 1",
    ) {
        *out.entry(s(&r["shop_id"])).or_default() += fen(&r["a"]);
    }
    let mut gmv: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for ((shop, d), (_, paid)) in ledger_days(ledger) {
        *gmv.entry(d[..7].to_string())
            .or_default()
            .entry(shop)
            .or_default() += paid;
    }
    let pools = lake.query(
        "select department, period, sum(gross_amount) as a from salaries where shop_id is null group by 1, 2",
    );
    assert!(!pools.is_empty(), "the demo has shared staff");
    for p in pools {
        let pool = i128::from(fen(&p["a"]));
        let shops = gmv
            .get(&s(&p["period"]))
            .expect("every salary month has GMV");
        let total: i128 = shops.values().map(|v| i128::from(*v)).sum();
        let mut given = 0i128;
        for (shop, g) in shops {
            let part = pool * i128::from(*g) / total;
            given += part;
            *out.entry(shop.clone()).or_default() += i64::try_from(part).expect("fits");
        }
        let largest = shops
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .expect("a shop");
        *out.entry(largest.0.clone()).or_default() += i64::try_from(pool - given).expect("fits");
    }
    out
}

fn per_shop(rows: &Rows, col: &str) -> BTreeMap<String, i64> {
    rows.iter()
        .map(|r| (s(&r["shop_id"]), fen(&r[col])))
        .collect()
}

fn plain(lake: &Lake, sql: &str) -> BTreeMap<String, i64> {
    per_shop(&lake.query(sql), "v")
}

#[test]
fn derived_metrics_equal_their_components_and_user_metrics_are_loaded() {
    let (lake, ledger) = demo();

    // gross_profit per shop = components by plain SQL (salaries by the rule, computed here).
    let parts = [
        plain(
            &lake,
            "select shop_id, sum(pay_amount) as v from orders where paid_at is not null or (is_cod and status <> 'closed') group by 1",
        ),
        plain(
            &lake,
            "select i.shop_id, -sum(coalesce(i.cost_amount, i.qty * k.cost_price)) as v from order_items i join orders o on o.order_id = i.order_id join skus k on k.sku_id = i.sku_id where o.status <> 'closed' and (o.paid_at is not null or o.is_cod) group by 1",
        ),
        plain(
            &lake,
            "select shop_id, -sum(amount) as v from refunds where status = 'success' group by 1",
        ),
        plain(
            &lake,
            "select shop_id, -sum(freight_cost) as v from shipments group by 1",
        ),
        plain(
            &lake,
            "select shop_id, sum(amount) as v from platform_bills where kind in ('commission', 'fee') group by 1",
        ),
        plain(
            &lake,
            "select shop_id, -sum(amount) as v from marketing_expenses group by 1",
        ),
        salaries_per_shop(&lake, &ledger)
            .into_iter()
            .map(|(k, v)| (k, -v))
            .collect(),
    ];
    let mut want: BTreeMap<String, i64> = BTreeMap::new();
    for p in &parts {
        for (shop, v) in p {
            *want.entry(shop.clone()).or_default() += v;
        }
    }
    let got = per_shop(
        &metric(&lake, &["gross_profit", "--by", "shop"]),
        "gross_profit",
    );
    assert_eq!(got, want);
    // The salary allocation keeps every fen of the payroll.
    let sal = metric(&lake, &["salaries", "--by", "shop"]);
    assert!(
        sal.iter().all(|r| !r["shop_id"].is_null()),
        "all allocated: {sal:?}"
    );
    assert_eq!(
        sal.iter().map(|r| fen(&r["salaries"])).sum::<i64>(),
        int(&ledger["money"]["salaries.gross_amount"])
    );
    // Per month the parts add up to the per-shop total, and --shop gives that shop's part.
    let monthly = metric(&lake, &["gross_profit", "--by", "shop,month"]);
    let shop = want.keys().next().expect("shop").clone();
    let sum: i64 = monthly
        .iter()
        .filter(|r| s(&r["shop_id"]) == shop)
        .map(|r| fen(&r["gross_profit"]))
        .sum();
    assert_eq!(sum, want[&shop]);
    let scoped = metric(&lake, &["gross_profit", "--shop", &shop]);
    assert_eq!(fen(&scoped[0]["gross_profit"]), want[&shop]);

    // net_sales = sold orders minus the successful refunds of those orders.
    let sold = "o.status <> 'closed' and (o.paid_at is not null or o.is_cod)";
    let mut want = plain(
        &lake,
        &format!("select o.shop_id, sum(o.pay_amount) as v from orders o where {sold} group by 1"),
    );
    for (shop, v) in plain(
        &lake,
        &format!(
            "select f.shop_id, sum(f.amount) as v from refunds f join orders o on o.order_id = f.order_id \
             where f.status = 'success' and {sold} group by 1"
        ),
    ) {
        *want.entry(shop).or_default() -= v;
    }
    assert_eq!(
        per_shop(&metric(&lake, &["net_sales", "--by", "shop"]), "net_sales"),
        want
    );

    // conversion_rate = orders ÷ visitors per shop and day, rounded half-up to 6 places.
    let orders = ledger_days(&ledger);
    let visitors: BTreeMap<(String, String), i64> = lake
        .query("select shop_id, cast(traffic_date as varchar) as d, visitors from shop_traffic")
        .iter()
        .map(|r| ((s(&r["shop_id"]), s(&r["d"])), int(&r["visitors"])))
        .collect();
    let rates = metric(&lake, &["conversion_rate", "--by", "shop,day"]);
    assert_eq!(rates.len(), visitors.len());
    for r in &rates {
        let key = (s(&r["shop_id"]), s(&r["day"]));
        let n = i128::from(orders.get(&key).map_or(0, |v| v.0));
        let v = i128::from(visitors[&key]);
        let want = (2 * n * 1_000_000 + v) / (2 * v);
        assert_eq!(i128::from(units(&r["conversion_rate"], 6)), want, "{key:?}");
    }

    // Stock is taken as of the last day of the period, not summed over days.
    let stock = metric(
        &lake,
        &["stock_on_hand", "--by", "warehouse", "--to", "2026-10-31"],
    );
    let want: BTreeMap<String, i64> = lake
        .query("select warehouse_id, sum(on_hand) as n from stock_snapshots where snapshot_date = date '2026-10-31' group by 1")
        .iter()
        .map(|r| (s(&r["warehouse_id"]), int(&r["n"])))
        .collect();
    let got: BTreeMap<String, i64> = stock
        .iter()
        .map(|r| (s(&r["warehouse_id"]), int(&r["stock_on_hand"])))
        .collect();
    assert_eq!(got, want);
    assert!(!got.is_empty());
    // low_stock lists the SKUs below their level on that day.
    let low: Vec<String> = metric(&lake, &["low_stock", "--to", "2026-11-24"])
        .iter()
        .map(|r| s(&r["sku_id"]))
        .collect();
    let want: Vec<String> = lake
        .query("select n.sku_id from stock_snapshots n join skus k on k.sku_id = n.sku_id where n.snapshot_date = date '2026-11-24' and n.on_hand < k.low_stock order by 1")
        .iter()
        .map(|r| s(&r["sku_id"]))
        .collect();
    assert_eq!(low, want);

    // A table metric: its relation is filtered by shop and period before its query runs.
    let card = metric(
        &lake,
        &[
            "carrier_scorecard",
            "--shop",
            &shop,
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-31",
        ],
    );
    assert!(card.iter().all(|r| s(&r["shop_id"]) == shop), "{card:?}");
    let shipped = lake.query(&format!(
        "select count(*) as n from shipments where shop_id = '{shop}' \
         and ship_date between date '2026-10-01' and date '2026-10-31'"
    ));
    assert_eq!(
        card.iter().map(|r| int(&r["shipments"])).sum::<i64>(),
        int(&shipped[0]["n"])
    );
    for r in &card {
        let carriers: Vec<String> = card
            .iter()
            .filter(|x| x["province"] == r["province"])
            .map(|x| s(&x["carrier"]))
            .collect();
        assert!(carriers.contains(&s(&r["recommended_carrier"])), "{r:?}");
    }

    // A user metric in DATA_DIR/metrics is listed and computed; it may build on built-ins.
    let dir = lake.path().join("metrics");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("mine.toml"),
        r#"
[[metric]]
name = "cod_gmv"
title = "COD GMV"
title_zh = "货到付款金额"
description = "pay_amount of cash-on-delivery orders, by order_date."
unit = "money"
relation = "SELECT order_date AS date, shop_id, pay_amount FROM orders WHERE is_cod"
expr = "sum(pay_amount)"
dimensions = ["shop"]

[[metric]]
name = "cod_share"
title = "COD share"
title_zh = "货到付款占比"
description = "cod_gmv / gmv"
unit = "ratio"
kind = "derived"
formula = "cod_gmv / gmv"
"#,
    )
    .expect("write");
    let list = metric(&lake, &["list"]);
    let mine = list
        .iter()
        .find(|r| s(&r["name"]) == "cod_gmv")
        .expect("cod_gmv listed");
    assert!(s(&mine["file"]).ends_with("mine.toml"), "{mine:?}");
    assert!(list.iter().any(|r| s(&r["name"]) == "gross_profit"));
    let cod = per_shop(&metric(&lake, &["cod_gmv", "--by", "shop"]), "cod_gmv");
    let want = plain(
        &lake,
        "select shop_id, sum(pay_amount) as v from orders where is_cod group by 1",
    );
    assert_eq!(cod, want);
    assert!(!cod.is_empty());
    let share = metric(&lake, &["cod_share", "--by", "shop"]);
    assert_eq!(share.len(), ledger["orders"].as_object().expect("o").len());

    // A broken user file names itself and the key; unknown names list what exists.
    std::fs::write(
        dir.join("zz-broken.toml"),
        "[[metric]]\nname = \"x\"\ntitle = \"x\"\ntitle_zh = \"x\"\ndescription = \"x\"\nunit = \"count\"\nrelation = \"orders\"\n",
    )
    .expect("write");
    let err = lake.fails(&["metrics", "list"]);
    assert!(
        err.contains("zz-broken.toml") && err.contains("`expr`"),
        "{err}"
    );
    std::fs::remove_file(dir.join("zz-broken.toml")).expect("rm");
    let err = lake.fails(&["metrics", "gmw"]);
    assert!(err.contains("gmv") && err.contains("gross_profit"), "{err}");
    let err = lake.fails(&["metrics", "gmv", "--by", "sku"]);
    assert!(err.contains("shop, platform, province"), "{err}");
}

#[test]
fn cogs_falls_back_to_the_sku_cost_for_orders_synced_without_one() {
    // Through the Jushuitan connector (no --direct): the ERP gives no line cost.
    let lake = Lake::new();
    lake.ok(&[
        "demo",
        "--orders",
        "3000",
        "--skus",
        "100",
        "--days",
        "30",
        "--end-date",
        "2026-11-24",
    ]);
    let lines = lake.query("select count(*) as n, count(cost_amount) as c from order_items");
    assert!(int(&lines[0]["n"]) > 0);
    assert_eq!(int(&lines[0]["c"]), 0, "synced lines carry no cost");
    let want = plain(
        &lake,
        "select i.shop_id, sum(i.qty * k.cost_price) as v from order_items i \
         join orders o on o.order_id = i.order_id join skus k on k.sku_id = i.sku_id \
         where o.status <> 'closed' and (o.paid_at is not null or o.is_cod) group by 1",
    );
    let got = per_shop(&metric(&lake, &["cogs", "--by", "shop"]), "cogs");
    assert_eq!(got, want);
    assert!(got.values().all(|v| *v > 0), "{got:?}");
}
