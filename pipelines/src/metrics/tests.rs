//! The compiler's SQL, its errors, quoting, derived composition, and every built-in metric run
//! on a small demo lake with each of its dimensions and grains.

#![allow(clippy::unwrap_used)]

use chrono::NaiveDate;

use super::formula::Formula;
use super::*;

fn cat() -> Catalog {
    Catalog::builtin().expect("built-in metrics load")
}

fn sql(q: &MetricQuery) -> String {
    compile(&cat(), q).unwrap_or_else(|e| panic!("{q:?}: {e}"))
}

fn q(metric: &str, by: &[&str]) -> MetricQuery {
    MetricQuery::new(metric).with_by(by).expect("by")
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

#[test]
fn base_metric_groups_by_dimension_columns_and_month_of_the_date_column() {
    let mut query = q("gmv", &["shop", "month"]);
    query.from = Some(day("2026-09-01"));
    query.to = Some(day("2026-09-30"));
    let s = sql(&query);
    assert!(s.starts_with("WITH m_gmv AS ("), "{s}");
    assert!(
        s.contains(
            "SELECT r.shop_id AS shop_id, to_char(r.date, '%Y-%m') AS month, sum(pay_amount) AS gmv"
        ),
        "{s}"
    );
    assert!(s.contains("FROM (\nSELECT order_date AS date"), "{s}");
    assert!(
        s.contains("WHERE r.date >= DATE '2026-09-01'\n    AND r.date <= DATE '2026-09-30'"),
        "{s}"
    );
    assert!(s.contains("GROUP BY 1, 2\n)"), "{s}");
    assert!(
        s.ends_with("SELECT shop_id, month, gmv\nFROM m_gmv\nORDER BY 1, 2"),
        "{s}"
    );
    // The date is never derived from a timestamp.
    assert!(!s.contains("created_at"), "{s}");

    let s = sql(&q("orders", &["year", "platform"]));
    assert!(
        s.contains(
            "SELECT r.platform AS platform, to_char(r.date, '%Y') AS year, count(*) AS orders"
        ),
        "{s}"
    );
    let s = sql(&q("orders", &["day"]));
    assert!(
        s.contains("SELECT r.date AS day, count(*) AS orders"),
        "{s}"
    );
    let s = sql(&q("orders", &[]));
    assert!(!s.contains("GROUP BY") && !s.contains("ORDER BY"), "{s}");
}

#[test]
fn shop_and_dimension_filters_are_quoted_and_applied_inside_the_relation() {
    let mut query = q("gmv", &["shop"]);
    query.shops = vec!["jst:10001".into(), "x' OR '1'='1".into()];
    let query = query
        .with_filter("platform=tmall")
        .and_then(|q| q.with_filter("platform=o'neil"))
        .expect("filters");
    let s = sql(&query);
    assert!(
        s.contains("r.shop_id IN ('jst:10001', 'x'' OR ''1''=''1')"),
        "{s}"
    );
    assert!(s.contains("r.platform IN ('tmall', 'o''neil')"), "{s}");
    // Before aggregation: the condition sits in the CTE, ahead of its GROUP BY.
    assert!(s.find("r.shop_id IN").expect("cond") < s.find("GROUP BY").expect("group"));

    let mut bad = q("gmv", &[]);
    bad.shops = vec!["a\nb".into()];
    let err = compile(&cat(), &bad)
        .expect_err("control character")
        .to_string();
    assert!(err.contains("--shop") && err.contains("control"), "{err}");
    let err = MetricQuery::new("gmv")
        .with_filter("platform")
        .expect_err("no =");
    assert!(err.to_string().contains("DIMENSION=VALUE"), "{err}");
}

#[test]
fn unknown_metric_dimension_and_grain_list_what_exists() {
    let err = compile(&cat(), &q("gmvv", &[]))
        .expect_err("unknown")
        .to_string();
    assert!(
        err.contains("`gmvv`") && err.contains("gmv,") && err.contains("conversion_rate"),
        "{err}"
    );
    let err = compile(&cat(), &q("gmv", &["sku"]))
        .expect_err("dim")
        .to_string();
    assert!(
        err.contains("`sku`") && err.contains("shop, platform, province"),
        "{err}"
    );
    let query = MetricQuery::new("gmv").with_filter("brand=x").expect("f");
    let err = compile(&cat(), &query).expect_err("filter dim").to_string();
    assert!(err.contains("`brand`"), "{err}");
    let err = Grain::parse("week").expect_err("grain").to_string();
    assert!(
        err.contains("week") && err.contains("day, month, year"),
        "{err}"
    );
    let err = MetricQuery::new("gmv")
        .with_by(&["day", "month"])
        .expect_err("two grains");
    assert!(
        err.to_string().contains("more than one time grain"),
        "{err}"
    );
}

#[test]
fn requests_a_metric_cannot_honour_are_refused() {
    let mut s = q("stock_on_hand", &[]);
    s.shops = vec!["jst:10001".into()];
    let err = compile(&cat(), &s).expect_err("no shop").to_string();
    assert!(
        err.contains("stock_on_hand") && err.contains("no shop dimension"),
        "{err}"
    );
    let err = compile(&cat(), &q("carrier_scorecard", &["shop"])).expect_err("table by");
    assert!(err.to_string().contains("table metric"), "{err}");
    let mut f = q("free_locations", &[]);
    f.to = Some(day("2026-01-01"));
    let err = compile(&cat(), &f).expect_err("undated").to_string();
    assert!(err.contains("no business date"), "{err}");
    let mut p = q("gmv", &[]);
    p.from = Some(day("2026-02-01"));
    p.to = Some(day("2026-01-01"));
    let err = compile(&cat(), &p).expect_err("from > to").to_string();
    assert!(err.contains("after"), "{err}");
}

#[test]
fn derived_metric_joins_one_cte_per_component_on_the_keys() {
    let mut query = q("gross_profit", &["shop", "month"]);
    query.shops = vec!["jst:10001".into()];
    let s = sql(&query);
    let parts = [
        "revenue",
        "cogs",
        "refunds",
        "freight_cost",
        "platform_fees",
        "marketing",
        "salaries",
    ];
    for p in parts {
        assert!(s.contains(&format!("m_{p} AS (")), "{p}: {s}");
        assert!(
            s.contains(&format!(
                "LEFT JOIN m_{p} ON (m_{p}.shop_id IS NOT DISTINCT FROM keys.shop_id) AND (m_{p}.month IS NOT DISTINCT FROM keys.month)"
            )),
            "{p}: {s}"
        );
        assert!(
            s.contains(&format!("SELECT shop_id, month FROM m_{p}")),
            "{s}"
        );
    }
    // The shop filter is inside every component's relation.
    assert_eq!(
        s.matches("r.shop_id IN ('jst:10001')").count(),
        parts.len(),
        "{s}"
    );
    assert!(
        s.contains(
            "CAST(((((((COALESCE(m_revenue.revenue, 0) - COALESCE(m_cogs.cogs, 0)) - COALESCE(m_refunds.refunds, 0))"
        ),
        "{s}"
    );
    assert!(
        s.contains("AS DECIMAL(38,2)) AS gross_profit\nFROM keys"),
        "{s}"
    );
    assert!(s.ends_with("ORDER BY 1, 2"), "{s}");

    // A ratio: exact decimals, NULL for a zero divisor.
    let s = sql(&q("conversion_rate", &["shop", "day"]));
    assert!(
        s.contains("CAST((CAST(COALESCE(m_orders.orders, 0) AS DECIMAL(38,10)) / NULLIF(CAST(COALESCE(m_visitors.visitors, 0) AS DECIMAL(38,10)), 0)) AS DECIMAL(18,6)) AS conversion_rate"),
        "{s}"
    );
    // Without keys the one-row components are crossed.
    let s = sql(&q("conversion_rate", &[]));
    assert!(s.contains("FROM m_orders CROSS JOIN m_visitors"), "{s}");
    // A derived metric supports the dimensions all components have.
    let err = compile(&cat(), &q("conversion_rate", &["province"])).expect_err("province");
    assert!(err.to_string().contains("shop, platform"), "{err}");
    // share(): the part of the period's total.
    let s = sql(&q("channel_share", &["platform", "month"]));
    assert!(
        s.contains("NULLIF(CAST(sum(COALESCE(m_gmv.gmv, 0)) OVER (PARTITION BY keys.month) AS DECIMAL(38,10)), 0)"),
        "{s}"
    );
}

#[test]
fn table_metric_filters_its_relation_then_runs_its_query() {
    let mut query = q("carrier_scorecard", &[]);
    query.shops = vec!["jst:10002".into()];
    query.from = Some(day("2026-10-01"));
    let s = sql(&query);
    assert!(
        s.starts_with("WITH filtered AS (\n  SELECT r.*\n  FROM (\n"),
        "{s}"
    );
    assert!(s.contains("r.date >= DATE '2026-10-01'"), "{s}");
    assert!(s.contains("r.shop_id IN ('jst:10002')"), "{s}");
    // The query's own WITH list continues after `filtered`.
    assert!(s.contains(")\n),\ncells AS ("), "{s}");
    let s = sql(&q("free_locations", &[]));
    assert!(
        s.contains("FROM locations\nWHERE sku_id IS NULL\n) AS r\n)\nSELECT"),
        "{s}"
    );
}

#[test]
fn formulas_parse_with_precedence_and_refuse_other_text() {
    let f = Formula::parse("a - b * (c + 2.5) / -d").expect("parse");
    assert_eq!(f.metrics(), ["a", "b", "c", "d"]);
    let v = |n: &str| n.to_uppercase();
    assert_eq!(
        f.sql(&v, ""),
        "(A - (CAST((B * (C + 2.5)) AS DECIMAL(38,10)) / NULLIF(CAST((-D) AS DECIMAL(38,10)), 0)))"
    );
    for bad in [
        "a; drop table x",
        "a + ",
        "(a",
        "a b",
        "'x'",
        "1.2.3",
        "sum(a)",
    ] {
        assert!(Formula::parse(bad).is_err(), "{bad}");
    }
    assert!(Formula::parse("share(gmv) * 100").expect("share").divides());
}

/// A catalog of the built-ins plus one user file `mine.toml`, loaded as `DATA_DIR/metrics`.
fn user(text: &str) -> Result<Catalog, MetricsError> {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("mine.toml"), text).expect("write");
    Catalog::load(dir.path())
}

#[test]
fn user_files_add_and_override_metrics_and_errors_name_file_and_key() {
    let c = user(
        r#"
[[metric]]
name = "gmv"
title = "GMV (paid)"
title_zh = "支付金额"
description = "Only paid orders."
unit = "money"
relation = "SELECT order_date AS date, shop_id, pay_amount FROM orders WHERE paid_at IS NOT NULL"
expr = "sum(pay_amount)"
dimensions = ["shop"]

[[metric]]
name = "gmv_per_visitor"
title = "GMV per visitor"
title_zh = "UV价值"
description = "gmv / visitors"
unit = "money"
kind = "derived"
formula = "gmv / visitors"
"#,
    )
    .expect("user catalog");
    assert_eq!(c.get("gmv").expect("gmv").title, "GMV (paid)");
    assert!(c.get("gmv").expect("gmv").origin.ends_with("mine.toml"));
    let s = compile(&c, &q("gmv_per_visitor", &["shop"])).expect("compile");
    assert!(s.contains("WHERE paid_at IS NOT NULL"), "{s}");
    // gross_profit still composes, now over the same built-ins.
    assert!(compile(&c, &q("gross_profit", &["shop"])).is_ok());

    let base = "[[metric]]\nname = \"x\"\ntitle = \"X\"\ntitle_zh = \"X\"\ndescription = \"x\"\nunit = \"count\"\n";
    let cases = [
        (format!("{base}relation = \"orders\"\n"), "`expr`"),
        (
            format!("{base}relation = \"orders\"\nexpr = \"count(*)\"\nbogus = 1\n"),
            "bogus",
        ),
        (
            format!("{base}kind = \"derived\"\nformula = \"gmv / nope\"\n"),
            "`nope`",
        ),
        (
            format!("{base}kind = \"derived\"\nformula = \"gmv +\"\n"),
            "`formula`",
        ),
        (
            format!("{base}kind = \"derived\"\nformula = \"x + 1\"\n"),
            "refers back",
        ),
        (
            format!("{base}relation = \"orders\"\nexpr = \"count(*)\"\ndimensions = [\"Shop\"]\n"),
            "`dimensions`",
        ),
        (
            base.replace("name = \"x\"", "name = \"list\"") + "relation = \"o\"\nexpr = \"1\"\n",
            "`name`",
        ),
        (
            base.replace("unit = \"count\"", "unit = \"furlongs\""),
            "furlongs",
        ),
    ];
    for (text, want) in cases {
        let err = user(&text).expect_err(want).to_string();
        assert!(
            err.contains("mine.toml") && err.contains(want),
            "{want}: {err}"
        );
    }
    // Two user files may not both define a name; one file may not define it twice.
    let one = format!("{base}relation = \"orders\"\nexpr = \"count(*)\"\n");
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("a.toml"), &one).expect("write");
    std::fs::write(dir.path().join("b.toml"), &one).expect("write");
    let err = Catalog::load(dir.path()).expect_err("twice").to_string();
    assert!(
        err.contains("b.toml") && err.contains("already defined in") && err.contains("a.toml"),
        "{err}"
    );
    let err = user(&format!("{one}{one}"))
        .expect_err("twice in one file")
        .to_string();
    assert!(
        err.contains("mine.toml") && err.contains("already defined"),
        "{err}"
    );
}

#[test]
fn every_builtin_metric_is_documented_and_in_docs() {
    let docs = include_str!("../../../docs/metrics.md");
    for m in cat().all() {
        assert!(m.origin.starts_with("builtin:"), "{}", m.name);
        assert!(
            docs.contains(&format!("| `{}`<br>", m.name)),
            "docs/metrics.md has no row for `{}`",
            m.name
        );
        assert!(
            docs.contains(&m.description.replace('|', "\\|")),
            "docs/metrics.md does not give the definition of `{}` as its file does",
            m.name
        );
    }
}

/// Every built-in metric, with each of its dimensions and grains, a shop filter and a period,
/// plans and runs on a small demo lake. (Values are checked against independent SQL and the
/// demo ledger by the e2e tests in tests/e2e/metrics.rs.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_builtin_metric_runs_on_a_demo_lake() {
    use arrow::array::Array;
    let dir = tempfile::tempdir().expect("dir");
    let wh = warehouse::Warehouse::open(&warehouse::LakeConfig {
        url: dir.path().display().to_string(),
        ..Default::default()
    })
    .await
    .expect("lake");
    let cfg = crate::demo::DemoConfig {
        orders: 3_000,
        skus: 120,
        days: 45,
        end_date: day("2026-11-24"),
        seed: 7,
    };
    crate::demo::run_demo(&wh, &cfg, false, None, &|_| {})
        .await
        .expect("demo");
    let ctx = wh.session().await.expect("session");
    let c = cat();
    let run = |query: MetricQuery| {
        let ctx = ctx.clone();
        let c = c.clone();
        async move {
            let s = compile(&c, &query).unwrap_or_else(|e| panic!("{query:?}: {e}"));
            ctx.sql(&s)
                .await
                .unwrap_or_else(|e| panic!("{query:?}: {e}\n{s}"))
                .collect()
                .await
                .unwrap_or_else(|e| panic!("{query:?}: {e}\n{s}"))
        }
    };
    let mut nonempty = 0;
    for m in c.all() {
        let dims = c.dimensions(m).expect("dims");
        let dated = c.dated(m).expect("dated");
        let mut queries = vec![MetricQuery::new(&m.name)];
        if m.kind != Kind::Table {
            for d in &dims {
                queries.push(q(&m.name, &[d.as_str()]));
            }
            if dated {
                for g in ["day", "month", "year"] {
                    queries.push(q(&m.name, &[g]));
                }
                if let Some(d) = dims.first() {
                    queries.push(q(&m.name, &[d.as_str(), "month"]));
                }
            }
        }
        if dims.iter().any(|d| d == "shop") {
            let mut s = MetricQuery::new(&m.name);
            s.shops = vec!["jst:10001".into()];
            queries.push(s);
        }
        if dated {
            let mut p = MetricQuery::new(&m.name);
            p.from = Some(day("2026-10-15"));
            p.to = Some(day("2026-11-10"));
            queries.push(p);
        }
        for query in queries {
            let batches = run(query).await;
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            if rows > 0 && batches[0].column(batches[0].num_columns() - 1).null_count() < rows {
                nonempty += 1;
            }
        }
        // Every metric has some value on the whole lake (stock alerts depend on the day).
        let all = run(MetricQuery::new(&m.name)).await;
        assert!(
            ["low_stock", "high_stock"].contains(&m.name.as_str())
                || all.iter().map(|b| b.num_rows()).sum::<usize>() > 0,
            "{} is empty on the demo lake",
            m.name
        );
    }
    assert!(nonempty > 100, "{nonempty}");
}

#[test]
fn snapshot_metrics_take_the_last_date_of_each_period() {
    let mut query = q("stock_on_hand", &["warehouse", "month"]);
    query.to = Some(day("2026-10-31"));
    let s = sql(&query);
    assert!(
        s.contains(
            "r.date IN (SELECT max(s.date) FROM (\nSELECT n.snapshot_date AS date, n.sku_id, k.spu_id, p.category_id, p.brand_id, n.warehouse_id, n.on_hand\nFROM stock_snapshots n"
        ),
        "{s}"
    );
    assert!(
        s.contains("AS s WHERE s.date <= DATE '2026-10-31' GROUP BY to_char(s.date, '%Y-%m'))"),
        "{s}"
    );
    let s = sql(&q("stock_on_hand", &[]));
    assert!(
        s.contains("AS s)\n)"),
        "the whole history: its last date: {s}"
    );
    // Per day every snapshot is its own last one; additive metrics have no such clause.
    assert!(!sql(&q("stock_on_hand", &["day"])).contains("max(s.date)"));
    assert!(!sql(&q("stock_in", &["month"])).contains("max(s.date)"));
}
