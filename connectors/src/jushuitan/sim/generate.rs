//! Generated order documents for benchmarks and load tests: `n` realistic orders (two lines,
//! one payment, receiver fields) spread over `days` from `from`, already serialized for
//! [`SimWorld::load`](super::SimWorld::load). Amounts are exact fen written as yuan text.

use chrono::NaiveDateTime;
use serde_json::json;

use super::world::SimDoc;

const FORMAT: &str = "%Y-%m-%d %H:%M:%S";

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// The `i`-th generated order (1-based) of `n` over `days` from `from`, and its `pay_amount` in fen.
pub fn order(i: i64, n: i64, from: NaiveDateTime, days: i64) -> (SimDoc, i64) {
    let span = days * 24 * 3600;
    let created = from + chrono::Duration::seconds(i * span / n.max(1));
    let modified = created + chrono::Duration::minutes(i % 90);
    let (q1, p1, p2) = (1 + i % 3, 990 + i % 700, 1990 + i % 50);
    let (a1, a2) = (q1 * p1 - i % 7, p2);
    let freight = if i % 4 == 0 { 800 } else { 0 };
    let pay = a1 + a2 + freight;
    let t = |d: NaiveDateTime| d.format(FORMAT).to_string();
    let so_id = format!("TB{}", 100_000_000 + i);
    let doc = json!({
        "o_id": i, "so_id": so_id, "shop_id": 10 + i % 3, "shop_name": "旗舰店",
        "status": if i % 10 == 0 { "WaitConfirm" } else { "Sent" }, "type": "普通订单",
        "created": t(created), "order_date": t(created), "modified": t(modified),
        "pay_date": t(created + chrono::Duration::minutes(2)),
        "pay_amount": yuan(pay), "paid_amount": yuan(pay), "freight": yuan(freight), "free_amount": yuan(i % 7),
        "is_cod": false, "receiver_state": "浙江省", "receiver_city": "杭州市", "receiver_district": "西湖区",
        "shop_buyer_id": format!("buyer{}", i % 50_000), "l_id": format!("ZT{}", 700_000_000 + i), "lc_id": "ZTO",
        "items": [
            {"oi_id": i * 10 + 1, "sku_id": format!("SKU{}", i % 500), "i_id": format!("I{}", i % 100),
             "name": "商品", "qty": q1, "price": yuan(p1), "amount": yuan(a1)},
            {"oi_id": i * 10 + 2, "sku_id": "SKU-GIFT", "i_id": "GIFT", "name": "赠品", "qty": 1,
             "price": yuan(p2), "amount": yuan(a2)}
        ],
        "pays": [{"pay_id": format!("P{i}"), "outer_pay_id": format!("ALI{i}"),
                  "pay_date": t(created + chrono::Duration::minutes(2)), "amount": yuan(pay),
                  "payment": "支付宝", "status": "Confirmed"}]
    });
    let sim = SimDoc {
        key: i.to_string(),
        modified: Some(t(modified)),
        so_id: Some(so_id),
        json: doc.to_string(),
    };
    (sim, pay)
}

/// The shop list of the generated orders (their platform is known only from it, as on
/// the real platform, whose order documents carry no platform).
pub fn shops() -> Vec<SimDoc> {
    [
        (10, "淘宝", "旗舰店"),
        (11, "天猫", "天猫店"),
        (12, "京东", "京东店"),
    ]
    .into_iter()
    .map(|(id, site, name)| SimDoc {
        key: id.to_string(),
        modified: None,
        so_id: None,
        json: json!({"shop_id": id, "shop_site": site, "shop_name": name}).to_string(),
    })
    .collect()
}

/// `n` generated orders over `days` from `from`, lazily (nothing is held but the current one).
pub fn orders(n: i64, from: NaiveDateTime, days: i64) -> impl Iterator<Item = SimDoc> {
    (1..=n).map(move |i| order(i, n, from, days).0)
}
