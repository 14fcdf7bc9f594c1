//! The demo world as Jushuitan sees it: order documents (with items and payments) in the
//! platform's wire format, for the Jushuitan simulator (`zhongtai simulate jushuitan`,
//! benchmarks, kill tests). The same seed gives the same documents.
//!
//! The inverse of `connectors::jushuitan::map_orders` for the fields it reads: the demo's ids
//! are already Jushuitan's (`jst:` + the ERP number), so `jst:123` becomes `o_id` 123; money
//! becomes yuan strings; instants become Asia/Shanghai wall-clock text; the canonical status
//! becomes the ERP status plus the platform status (`shop_status`) that maps back to it.

use arrow::array::{
    Array, AsArray, BooleanArray, Decimal128Array, Int64Array, RecordBatch,
    TimestampMicrosecondArray,
};
use serde_json::{Value, json};

use super::{DemoConfig, Gen};
use crate::error::{PipelineError, Result};

/// The ERP's number behind a canonical id (`jst:123` → 123).
fn number(id: &str) -> i64 {
    id.trim_start_matches("jst:").parse().unwrap_or(0)
}

fn yuan(fen: i128) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let f = fen.abs();
    format!("{sign}{}.{:02}", f / 100, f % 100)
}

fn wall(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|d| {
            d.with_timezone(&vocab::BUSINESS_TZ)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

fn site(platform: &str) -> &'static str {
    match platform {
        "taobao" => "Taobao",
        "tmall" => "Tmall",
        "jd" => "JD",
        "douyin" => "Douyin",
        _ => "Internal",
    }
}

/// Canonical status → (ERP status, platform status) that map back to it.
fn jst_status(status: &str) -> (&'static str, &'static str) {
    match status {
        "created" => ("WaitPay", "WAIT_BUYER_PAY"),
        "shipped" => ("Sent", "WAIT_BUYER_CONFIRM_GOODS"),
        "finished" => ("Sent", "TRADE_FINISHED"),
        "refunded" => ("Sent", "TRADE_CLOSED"),
        "closed" => ("Cancelled", "TRADE_CLOSED_BY_TAOBAO"),
        _ => ("WaitConfirm", "WAIT_SELLER_SEND_GOODS"),
    }
}

struct Cols<'a>(&'a RecordBatch);

impl<'a> Cols<'a> {
    fn col(&self, name: &str) -> Result<&'a dyn Array> {
        self.0
            .column_by_name(name)
            .map(|c| c.as_ref())
            .ok_or_else(|| PipelineError::Internal(format!("demo batch without column {name}")))
    }
    fn text(&self, name: &str, i: usize) -> Result<Option<&'a str>> {
        let c = self.col(name)?.as_string::<i32>();
        Ok(c.is_valid(i).then(|| c.value(i)))
    }
    fn money(&self, name: &str, i: usize) -> Result<i128> {
        let c = self.col(name)?;
        let c = c
            .as_any()
            .downcast_ref::<Decimal128Array>()
            .ok_or_else(|| PipelineError::Internal(format!("{name} is not money")))?;
        Ok(if c.is_valid(i) { c.value(i) } else { 0 })
    }
    fn int(&self, name: &str, i: usize) -> Result<i64> {
        let c = self.col(name)?;
        let c = c
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| PipelineError::Internal(format!("{name} is not int")))?;
        Ok(c.value(i))
    }
    fn ts(&self, name: &str, i: usize) -> Result<Option<i64>> {
        let c = self.col(name)?;
        let c = c
            .as_any()
            .downcast_ref::<TimestampMicrosecondArray>()
            .ok_or_else(|| PipelineError::Internal(format!("{name} is not a timestamp")))?;
        Ok(c.is_valid(i).then(|| c.value(i)))
    }
    fn flag(&self, name: &str, i: usize) -> Result<bool> {
        let c = self.col(name)?;
        let c = c
            .as_any()
            .downcast_ref::<BooleanArray>()
            .ok_or_else(|| PipelineError::Internal(format!("{name} is not bool")))?;
        Ok(c.value(i))
    }
}

/// The tables whose rows travel as Jushuitan documents.
pub(crate) const DIVERTED: &[&str] = &["orders", "order_items", "payments"];

/// The shop-list documents (`/open/shops/query`) of the shops in one chunk's orders: the
/// order API carries no platform, so the connector learns it from this list.
pub(crate) fn shop_docs(chunk: &[(&'static str, RecordBatch)]) -> Result<Vec<Value>> {
    let Some((_, orders)) = chunk.iter().find(|(n, _)| *n == "orders") else {
        return Ok(Vec::new());
    };
    let c = Cols(orders);
    let mut seen = std::collections::BTreeMap::new();
    for i in 0..orders.num_rows() {
        let shop = c.text("shop_id", i)?.unwrap_or_default();
        let platform = c.text("platform", i)?.unwrap_or_default();
        seen.entry(shop).or_insert(platform);
    }
    Ok(seen
        .into_iter()
        .map(|(shop, platform)| {
            json!({"shop_id": number(shop), "shop_site": site(platform), "shop_name": shop})
        })
        .collect())
}

/// Turns one generator chunk's `orders`, `order_items` and `payments` into documents.
pub(crate) fn chunk_docs(
    chunk: &[(&'static str, RecordBatch)],
    out: &mut dyn FnMut(Value),
) -> Result<()> {
    use std::collections::HashMap;
    let get = |t: &str| chunk.iter().find(|(n, _)| *n == t).map(|(_, b)| b);
    let Some(orders) = get("orders") else {
        return Ok(());
    };
    let mut items: HashMap<&str, Vec<Value>> = HashMap::new();
    if let Some(b) = get("order_items") {
        let c = Cols(b);
        for i in 0..b.num_rows() {
            let line = c.text("order_item_id", i)?.unwrap_or_default();
            let order = c.text("order_id", i)?.unwrap_or_default();
            items.entry(order).or_default().push(json!({
                "oi_id": number(line),
                "sku_id": c.text("sku_id", i)?,
                "qty": c.int("qty", i)?,
                "price": yuan(c.money("unit_price", i)?),
                "amount": yuan(c.money("amount", i)?),
            }));
        }
    }
    let mut pays: HashMap<&str, Vec<Value>> = HashMap::new();
    if let Some(b) = get("payments") {
        let c = Cols(b);
        for i in 0..b.num_rows() {
            let order = c.text("order_id", i)?.unwrap_or_default();
            pays.entry(order).or_default().push(json!({
                "pay_id": number(c.text("payment_id", i)?.unwrap_or_default()),
                "outer_pay_id": c.text("txn_no", i)?,
                "pay_date": wall(c.ts("paid_at", i)?.unwrap_or_default()),
                "amount": yuan(c.money("amount", i)?),
                "payment": c.text("channel", i)?,
                "status": if c.text("status", i)? == Some("reversed") { "Cancelled" } else { "Confirmed" },
            }));
        }
    }
    let c = Cols(orders);
    for i in 0..orders.num_rows() {
        let order_id = c.text("order_id", i)?.unwrap_or_default();
        let created = wall(c.ts("created_at", i)?.unwrap_or_default());
        let (status, shop_status) = jst_status(c.text("status", i)?.unwrap_or_default());
        let mut doc = json!({
            "o_id": number(order_id),
            "so_id": c.text("platform_order_no", i)?,
            "shop_id": number(c.text("shop_id", i)?.unwrap_or_default()),
            "shop_buyer_id": c.text("buyer_id", i)?,
            "status": status,
            "shop_status": shop_status,
            "created": created,
            "order_date": created,
            "modified": wall(c.ts("modified_at", i)?.unwrap_or_default()),
            "pay_amount": yuan(c.money("pay_amount", i)?),
            "freight": yuan(c.money("freight_amount", i)?),
            "free_amount": yuan(c.money("discount_amount", i)?),
            "is_cod": c.flag("is_cod", i)?,
            "receiver_state": c.text("receiver_province", i)?,
            "receiver_city": c.text("receiver_city", i)?,
            "items": items.remove(order_id).unwrap_or_default(),
            "pays": pays.remove(order_id).unwrap_or_default(),
        });
        if let Some(p) = c.ts("paid_at", i)? {
            doc["pay_date"] = Value::from(wall(p));
        }
        out(doc);
    }
    Ok(())
}

/// A simulator world of the demo's orders (with their lines and payments) and the shop list
/// that gives their platforms. Runs on the calling thread (use `spawn_blocking`).
pub fn jushuitan_world(cfg: &DemoConfig) -> Result<connectors::jushuitan::sim::SimWorld> {
    use connectors::jushuitan::sim::{SHOPS, SimWorld};
    let world = SimWorld::default();
    let mut shops = std::collections::BTreeMap::new();
    let mut failed = None;
    Gen::new(cfg).run(cfg, |chunk, _done| {
        let docs =
            chunk_docs(&chunk, &mut |doc| world.upsert(doc)).and_then(|()| shop_docs(&chunk));
        match docs {
            Ok(list) => {
                for shop in list {
                    shops.entry(shop["shop_id"].to_string()).or_insert(shop);
                }
                true
            }
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    for shop in shops.into_values() {
        world.upsert_in(SHOPS, shop);
    }
    Ok(world)
}

/// Generates the demo world and hands each order document to `out`, in creation order.
/// Returns the number of documents. Runs on the calling thread (use `spawn_blocking`).
pub fn jushuitan_orders(cfg: &DemoConfig, out: &mut dyn FnMut(Value)) -> Result<u64> {
    let mut n = 0u64;
    let mut failed = None;
    Gen::new(cfg).run(cfg, |chunk, _done| {
        let mut count = |v: Value| {
            n += 1;
            out(v);
        };
        match chunk_docs(&chunk, &mut count) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    });
    match failed {
        Some(e) => Err(e),
        None => Ok(n),
    }
}
