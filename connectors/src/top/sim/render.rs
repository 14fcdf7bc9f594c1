//! World records → response JSON, honouring `fields` (unknown names are refused, as the
//! platform does) and the wrapped vs `simplify=true` list shapes.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use serde_json::{Map, Value, json};

use super::world::{PLACES, Refund, RefundStatus, Seller, Trade, TradeStatus};

pub(crate) const TRADE_FIELDS: &[&str] = &[
    "tid",
    "tid_str",
    "status",
    "type",
    "created",
    "modified",
    "pay_time",
    "payment",
    "total_fee",
    "post_fee",
    "discount_fee",
    "seller_nick",
    "buyer_nick",
    "buyer_open_uid",
    "receiver_state",
    "receiver_city",
    "alipay_no",
    "num",
    "orders",
];
pub(crate) const ORDER_FIELDS: &[&str] = &[
    "oid",
    "oid_str",
    "status",
    "title",
    "num_iid",
    "sku_id",
    "outer_sku_id",
    "num",
    "price",
    "total_fee",
    "payment",
    "divide_order_fee",
    "discount_fee",
    "refund_status",
    "seller_type",
];
pub(crate) const REFUND_FIELDS: &[&str] = &[
    "refund_id",
    "tid",
    "title",
    "buyer_nick",
    "seller_nick",
    "total_fee",
    "status",
    "created",
    "refund_fee",
    "oid",
    "good_status",
    "company_name",
    "sid",
    "payment",
    "reason",
    "desc",
    "has_good_return",
    "modified",
    "order_status",
    "refund_phase",
    "dispute_type",
    "num",
    "num_iid",
    "outer_id",
];

/// The `fields` a call asked for.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    top: HashSet<String>,
    /// Sub-fields of `orders` asked as `orders.x`; empty with `orders` in `top` = all.
    orders: HashSet<String>,
}

impl Fields {
    /// Parses `fields` against the known names; the error names the first unknown one.
    pub(crate) fn parse(text: &str, known: &[&str]) -> Result<Self, String> {
        let mut f = Fields::default();
        for name in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if let Some(sub) = name.strip_prefix("orders.")
                && known.contains(&"orders")
            {
                if !ORDER_FIELDS.contains(&sub) {
                    return Err(name.to_string());
                }
                f.orders.insert(sub.to_string());
                f.top.insert("orders".into());
            } else if known.contains(&name) {
                f.top.insert(name.to_string());
            } else {
                return Err(name.to_string());
            }
        }
        Ok(f)
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.top.contains(name)
    }

    pub(crate) fn remove(&mut self, name: &str) {
        self.top.remove(name);
    }
}

fn time(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// How to write ids and lists.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    pub ids_as_strings: bool,
    pub simplify: bool,
}

impl Style {
    fn id(self, id: i64) -> Value {
        if self.ids_as_strings {
            Value::from(id.to_string())
        } else {
            Value::from(id)
        }
    }

    /// A list as the platform wraps it: `{"trade":[…]}`, or bare under `simplify`.
    pub(crate) fn list(self, inner: &str, items: Vec<Value>) -> Value {
        if self.simplify {
            Value::Array(items)
        } else {
            json!({ inner: items })
        }
    }
}

fn retain(mut m: Map<String, Value>, keep: impl Fn(&str) -> bool) -> Value {
    m.retain(|k, _| keep(k));
    Value::Object(m)
}

/// A trade with the asked fields.
pub(crate) fn trade(t: &Trade, seller: &Seller, fields: &Fields, style: Style) -> Value {
    let paid = t.pay_time.is_some();
    let refunded = t.status == TradeStatus::Closed;
    let (province, city) = PLACES[usize::from(t.place) % PLACES.len()];
    let orders: Vec<Value> = t
        .lines
        .iter()
        .map(|l| {
            let gross = l.price * i64::from(l.num);
            // §2.8: Order.payment includes freight only for single-sub-order trades.
            let payment = if t.lines.len() == 1 {
                l.payment + t.post_fee
            } else {
                l.payment
            };
            let m = json!({
                "oid": style.id(l.oid), "oid_str": l.oid.to_string(), "status": t.status.as_str(),
                "title": format!("商品{}", l.num_iid % 1000), "num_iid": style.id(l.num_iid),
                "sku_id": (u64::from(l.sku) + 5_000_000).to_string(), "outer_sku_id": format!("SKU-{}", l.sku),
                "num": l.num, "price": yuan(l.price), "total_fee": yuan(l.payment), "payment": yuan(payment),
                "divide_order_fee": yuan(l.payment), "discount_fee": yuan(gross - l.payment),
                "refund_status": if refunded { "SUCCESS" } else { "NO_REFUND" },
                "seller_type": seller.seller_type.letter(),
            });
            let Value::Object(m) = m else { unreachable!("an object literal") };
            retain(m, |k| fields.orders.is_empty() || fields.orders.contains(k))
        })
        .collect();
    let mut m = json!({
        "tid": style.id(t.tid), "tid_str": t.tid.to_string(), "status": t.status.as_str(),
        "type": t.trade_type.as_str(), "created": time(t.created), "modified": time(t.modified),
        "payment": yuan(t.payment()), "total_fee": yuan(t.total_fee()), "post_fee": yuan(t.post_fee),
        "discount_fee": yuan(t.total_fee() - t.lines.iter().map(|l| l.payment).sum::<i64>()),
        "seller_nick": seller.nick, "buyer_nick": format!("b**{}", t.buyer % 1000),
        "buyer_open_uid": format!("AAH{:010}", t.buyer), "receiver_state": province, "receiver_city": city,
        "num": t.lines.iter().map(|l| l.num).sum::<u32>(),
        "orders": style.list("order", orders),
    });
    if paid {
        m["pay_time"] = json!(time(t.pay_time.unwrap_or(t.created)));
        m["alipay_no"] = json!(format!("2026{:018}", t.tid));
    }
    let Value::Object(m) = m else {
        unreachable!("an object literal")
    };
    retain(m, |k| fields.has(k))
}

/// A refund with the asked fields.
pub(crate) fn refund(r: &Refund, seller: &Seller, fields: &Fields, style: Style) -> Value {
    let good_status = if r.has_good_return {
        "BUYER_RETURNED_GOODS"
    } else {
        "BUYER_NOT_RECEIVED"
    };
    let m = json!({
        "refund_id": r.refund_id.to_string(), "tid": style.id(r.tid), "oid": style.id(r.oid),
        "title": "商品", "buyer_nick": "b**", "seller_nick": seller.nick,
        "total_fee": yuan(r.total_fee), "refund_fee": yuan(r.refund_fee),
        "payment": yuan(r.total_fee - if r.status == RefundStatus::Success { r.refund_fee } else { 0 }),
        "status": r.status.as_str(), "created": time(r.created), "modified": time(r.modified),
        "good_status": good_status, "has_good_return": r.has_good_return,
        "dispute_type": if r.has_good_return { "REFUND_AND_RETURN" } else { "REFUND" },
        "reason": "七天无理由", "desc": "", "company_name": "", "sid": "", "order_status": "TRADE_FINISHED",
        "refund_phase": "aftersale", "num": r.num, "num_iid": style.id(600_000_000_000), "outer_id": "",
    });
    let Value::Object(m) = m else {
        unreachable!("an object literal")
    };
    retain(m, |k| fields.has(k))
}
