//! `zhongtai forecast` on a demo world that reaches back to last year's Double 11: the model
//! beats the naive baselines in the backtest, and suggestions are whole packs whose amounts
//! are exactly qty × cost price.

use std::collections::HashMap;

use serde_json::Value;

use crate::support::{Lake, fen, int, s};

fn num(v: &Value) -> f64 {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|t| t.parse().ok()))
        .unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn forecast_beats_the_naive_baseline_and_suggests_whole_packs_at_cost() {
    let lake = Lake::new();
    lake.ok(&[
        "demo",
        "--orders",
        "30000",
        "--skus",
        "300",
        "--days",
        "400",
        "--end-date",
        "2026-11-24",
        "--direct",
    ]);

    // Backtest: the last 28 days (Double 11 and after) held out.
    let rows = lake.json(&["forecast", "backtest"]);
    let wape = |method: &str| {
        let r = rows
            .iter()
            .find(|r| s(&r["scope"]) == "all" && s(&r["method"]) == method)
            .unwrap_or_else(|| panic!("no overall row for {method}: {rows:?}"));
        assert_eq!(s(&r["holdout_last"]), "2026-11-24");
        num(&r["wape"])
    };
    let (model, naive, seasonal) = (
        wape("model"),
        wape("naive_28d_mean"),
        wape("seasonal_naive_last_week"),
    );
    assert!(model < naive, "model WAPE {model} vs naive {naive}");
    assert!(
        model < seasonal,
        "model WAPE {model} vs seasonal naive {seasonal}"
    );
    // The holdout's actual units are the lake's own (orders not closed, by order date).
    let sold = lake.query(
        "select sum(i.qty) as units from order_items i join orders o on o.order_id = i.order_id \
         join skus k on k.sku_id = i.sku_id \
         where o.status <> 'closed' and not k.is_virtual \
           and o.order_date >= DATE '2026-10-28' and o.order_date <= DATE '2026-11-24'",
    );
    let all = rows
        .iter()
        .find(|r| s(&r["scope"]) == "all")
        .expect("overall row");
    assert_eq!(num(&all["actual_units"]) as i64, int(&sold[0]["units"]));

    // Suggestions: a longer horizon so that several SKUs need an order after the campaign.
    let rows = lake.json(&["forecast", "--horizon-days", "60"]);
    assert!(!rows.is_empty(), "no suggestions at all");
    let cost: HashMap<String, i64> = lake
        .query("select sku_id, cost_price from skus")
        .iter()
        .map(|r| (s(&r["sku_id"]), fen(&r["cost_price"])))
        .collect();
    let on_hand: HashMap<(String, String), i64> = lake
        .query(
            "select sku_id, warehouse_id, on_hand from stock_snapshots \
             where snapshot_date = DATE '2026-11-24'",
        )
        .iter()
        .map(|r| ((s(&r["sku_id"]), s(&r["warehouse_id"])), int(&r["on_hand"])))
        .collect();
    // Open purchase quantity: lines of POs still ordered, less what was received.
    let open: HashMap<(String, String), i64> = lake
        .query(
            "select l.sku_id, p.warehouse_id, sum(l.qty - coalesce(r.got, 0)) as open \
             from purchase_order_lines l join purchase_orders p on p.po_id = l.po_id \
             left join (select po_line_id, sum(qty_received) as got from purchase_receipts \
                        group by po_line_id) r on r.po_line_id = l.po_line_id \
             where p.status in ('ordered', 'partial') group by l.sku_id, p.warehouse_id",
        )
        .iter()
        .map(|r| ((s(&r["sku_id"]), s(&r["warehouse_id"])), int(&r["open"])))
        .collect();
    for r in &rows {
        let sku = s(&r["sku_id"]);
        let key = (sku.clone(), s(&r["warehouse_id"]));
        assert_eq!(
            int(&r["on_order"]),
            open.get(&key).copied().unwrap_or(0),
            "{sku}: on order"
        );
        let qty = int(&r["suggested_qty"]);
        assert!(
            qty > 0 && qty % 10 == 0,
            "{sku}: qty {qty} is not whole packs"
        );
        assert_eq!(
            fen(&r["suggested_amount"]),
            qty * cost[&sku],
            "{sku}: amount"
        );
        assert_eq!(
            int(&r["on_hand"]),
            on_hand[&(sku.clone(), s(&r["warehouse_id"]))],
            "{sku}: on hand is the latest snapshot"
        );
        assert_eq!(
            int(&r["reorder_point"]),
            int(&r["demand_lead_time"]) + int(&r["safety_stock"])
        );
        assert!(s(&r["order_by"]).as_str() >= "2026-11-24", "{r:?}");
    }

    // As of an earlier day: stock is that day's snapshot, and orders are due from that day.
    let rows = lake.json(&["forecast", "--as-of", "2026-10-01"]);
    assert!(!rows.is_empty(), "no suggestions before Double 11");
    let snap: HashMap<(String, String), i64> = lake
        .query(
            "select sku_id, warehouse_id, on_hand from stock_snapshots \
             where snapshot_date = DATE '2026-10-01'",
        )
        .iter()
        .map(|r| ((s(&r["sku_id"]), s(&r["warehouse_id"])), int(&r["on_hand"])))
        .collect();
    for r in &rows {
        let key = (s(&r["sku_id"]), s(&r["warehouse_id"]));
        assert_eq!(int(&r["on_hand"]), snap[&key], "{key:?}");
        assert!(s(&r["order_by"]).as_str() >= "2026-10-01", "{r:?}");
        assert_eq!(int(&r["suggested_qty"]) % 10, 0);
    }

    // A named SKU is listed even when nothing is to be ordered.
    let best = lake.query(
        "select i.sku_id from order_items i join skus k on k.sku_id = i.sku_id \
         where not k.is_virtual group by i.sku_id order by sum(i.qty) desc, i.sku_id limit 1",
    );
    let sku = s(&best[0]["sku_id"]);
    let rows = lake.json(&["forecast", "--sku", &sku]);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(s(&rows[0]["sku_id"]), sku);
    assert!(int(&rows[0]["demand_lead_time"]) > 0, "{rows:?}");
    let err = lake.fails(&["forecast", "--sku", "NO-SUCH-SKU"]);
    assert!(err.contains("NO-SUCH-SKU"), "{err}");
}
