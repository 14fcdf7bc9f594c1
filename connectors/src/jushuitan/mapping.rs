//! Jushuitan orders → canonical rows (`orders`, `order_items`, `payments`) as Arrow batches.
//!
//! Column names and types are the canonical ones (money `Decimal128(18,2)`, instants UTC,
//! business dates Asia/Shanghai); the warehouse fits them to its tables. Ids are prefixed with
//! `jst:` so rows from different sources never collide. Times on the wire are Asia/Shanghai
//! wall-clock `yyyy-MM-dd HH:mm:ss`. A value that cannot be read is an error naming the order
//! and the field: nothing is guessed.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use serde_json::Value;

use crate::tolerant;

/// The `source` of every row this mapping produces.
pub const SOURCE: &str = "jushuitan";

/// Rows for three canonical tables.
#[derive(Debug)]
pub struct MappedOrders {
    pub orders: RecordBatch,
    pub order_items: RecordBatch,
    pub payments: RecordBatch,
}

/// A value that could not be mapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Jushuitan order {o_id}: field `{field}`: {reason}")]
pub struct MappingError {
    pub o_id: String,
    pub field: String,
    pub reason: String,
}

/// Order status (§1.10) → canonical status, refined by the platform's own status
/// (`shop_status`, TOP's trade states) where the ERP's is coarser: a shipped order the buyer
/// confirmed is `finished`; one closed after payment (refunded in full) is `refunded`.
fn status(s: &str, shop_status: Option<&str>) -> &'static str {
    match (s, shop_status) {
        ("WaitPay", _) => "created",
        (_, Some("TRADE_FINISHED")) => "finished",
        (_, Some("TRADE_CLOSED")) => "refunded",
        ("Cancelled" | "Merged" | "Split", _) | (_, Some("TRADE_CLOSED_BY_TAOBAO")) => "closed",
        ("Sent", _) => "shipped",
        _ => "paid",
    }
}

fn money() -> DataType {
    DataType::Decimal128(18, 2)
}

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

struct Orders {
    order_id: StringBuilder,
    so_id: StringBuilder,
    shop_id: StringBuilder,
    platform: StringBuilder,
    buyer: StringBuilder,
    status: StringBuilder,
    created: TimestampMicrosecondBuilder,
    paid: TimestampMicrosecondBuilder,
    modified: TimestampMicrosecondBuilder,
    order_date: Date32Builder,
    goods: Decimal128Builder,
    discount: Decimal128Builder,
    freight: Decimal128Builder,
    pay: Decimal128Builder,
    cod: BooleanBuilder,
    province: StringBuilder,
    city: StringBuilder,
    source: StringBuilder,
}

struct Items {
    id: StringBuilder,
    order_id: StringBuilder,
    shop_id: StringBuilder,
    sku_id: StringBuilder,
    qty: Int64Builder,
    price: Decimal128Builder,
    discount: Decimal128Builder,
    amount: Decimal128Builder,
    source: StringBuilder,
}

struct Pays {
    id: StringBuilder,
    order_id: StringBuilder,
    shop_id: StringBuilder,
    channel: StringBuilder,
    txn: StringBuilder,
    amount: Decimal128Builder,
    paid: TimestampMicrosecondBuilder,
    pay_date: Date32Builder,
    status: StringBuilder,
    source: StringBuilder,
}

fn dec() -> Decimal128Builder {
    Decimal128Builder::new().with_data_type(money())
}

fn tsb() -> TimestampMicrosecondBuilder {
    TimestampMicrosecondBuilder::new().with_timezone("UTC")
}

/// Maps a page (or any number) of Jushuitan order documents.
pub fn map_orders(rows: &[Value]) -> Result<MappedOrders, MappingError> {
    map_orders_with(rows, &HashMap::new())
}

/// Maps order documents with each shop's platform code (by Jushuitan `shop_id`), as the
/// shop list gives it: the order API documents no platform field. An order whose shop the
/// list lacks falls back to its `shop_site` when present, else `unknown`, with a warning.
pub(crate) fn map_orders_with(
    rows: &[Value],
    platforms: &HashMap<String, String>,
) -> Result<MappedOrders, MappingError> {
    let mut o = Orders {
        order_id: StringBuilder::new(),
        so_id: StringBuilder::new(),
        shop_id: StringBuilder::new(),
        platform: StringBuilder::new(),
        buyer: StringBuilder::new(),
        status: StringBuilder::new(),
        created: tsb(),
        paid: tsb(),
        modified: tsb(),
        order_date: Date32Builder::new(),
        goods: dec(),
        discount: dec(),
        freight: dec(),
        pay: dec(),
        cod: BooleanBuilder::new(),
        province: StringBuilder::new(),
        city: StringBuilder::new(),
        source: StringBuilder::new(),
    };
    let mut it = Items {
        id: StringBuilder::new(),
        order_id: StringBuilder::new(),
        shop_id: StringBuilder::new(),
        sku_id: StringBuilder::new(),
        qty: Int64Builder::new(),
        price: dec(),
        discount: dec(),
        amount: dec(),
        source: StringBuilder::new(),
    };
    let mut p = Pays {
        id: StringBuilder::new(),
        order_id: StringBuilder::new(),
        shop_id: StringBuilder::new(),
        channel: StringBuilder::new(),
        txn: StringBuilder::new(),
        amount: dec(),
        paid: tsb(),
        pay_date: Date32Builder::new(),
        status: StringBuilder::new(),
        source: StringBuilder::new(),
    };
    for row in rows {
        map_one(row, platforms, &mut o, &mut it, &mut p)?;
    }
    Ok(MappedOrders {
        orders: finish_orders(o),
        order_items: finish_items(it),
        payments: finish_pays(p),
    })
}

fn map_one(
    row: &Value,
    platforms: &HashMap<String, String>,
    o: &mut Orders,
    it: &mut Items,
    p: &mut Pays,
) -> Result<(), MappingError> {
    let o_id = tolerant::id(row.get("o_id")).unwrap_or_else(|| "?".into());
    let err = |field: &str, reason: String| MappingError {
        o_id: o_id.clone(),
        field: field.into(),
        reason,
    };
    let need_text = |v: &Value, field: &str| {
        tolerant::text(v.get(field)).ok_or_else(|| err(field, "is missing".into()))
    };
    let time = |v: &Value, field: &str| -> Result<Option<(i64, i32)>, MappingError> {
        match tolerant::text(v.get(field)) {
            None => Ok(None),
            Some(t) => vocab::time::parse_platform_time(&t)
                .map(Some)
                .ok_or_else(|| err(field, format!("{t:?} is not yyyy-MM-dd HH:mm:ss"))),
        }
    };
    let amount = |v: &Value, field: &str| {
        tolerant::fen(v.get(field))
            .map_err(|e| err(field, e))
            .map(|f| f.unwrap_or(0))
    };
    if o_id == "?" {
        return Err(err("o_id", "is missing".into()));
    }
    let order_id = format!("jst:{o_id}");
    let shop_id = format!(
        "jst:{}",
        tolerant::id(row.get("shop_id")).ok_or_else(|| err("shop_id", "is missing".into()))?
    );
    let (created, created_day) = time(row, "created")?
        .or(time(row, "order_date")?)
        .ok_or_else(|| err("created", "is missing".into()))?;
    let (modified, _) =
        time(row, "modified")?.ok_or_else(|| err("modified", "is missing".into()))?;
    let order_day = time(row, "order_date")?.map_or(created_day, |t| t.1);
    let pay = amount(row, "pay_amount")?;
    let freight = amount(row, "freight")?;
    let discount = amount(row, "free_amount")?;
    o.order_id.append_value(&order_id);
    o.so_id.append_value(need_text(row, "so_id")?);
    o.shop_id.append_value(&shop_id);
    let raw_shop = tolerant::id(row.get("shop_id")).unwrap_or_default();
    o.platform.append_value(match platforms.get(&raw_shop) {
        Some(p) => p.clone(),
        None => match tolerant::text(row.get("shop_site")) {
            Some(site) => platform_code(&site),
            None => {
                tracing::warn!(shop = %shop_id, "the shop list has no platform for this shop: orders.platform is `unknown`");
                "unknown".to_string()
            }
        },
    });
    o.buyer.append_option(
        tolerant::text(row.get("shop_buyer_id")).or_else(|| tolerant::text(row.get("buyer_id"))),
    );
    let shop_status = tolerant::text(row.get("shop_status"));
    o.status
        .append_value(status(&need_text(row, "status")?, shop_status.as_deref()));
    o.created.append_value(created);
    o.paid.append_option(time(row, "pay_date")?.map(|t| t.0));
    o.modified.append_value(modified);
    o.order_date.append_value(order_day);
    o.goods.append_value(i128::from(pay - freight + discount));
    o.discount.append_value(i128::from(discount));
    o.freight.append_value(i128::from(freight));
    o.pay.append_value(i128::from(pay));
    o.cod
        .append_value(tolerant::flag(row.get("is_cod")).unwrap_or(false));
    o.province
        .append_option(tolerant::text(row.get("receiver_state")));
    o.city
        .append_option(tolerant::text(row.get("receiver_city")));
    o.source.append_value(SOURCE);
    for item in row
        .get("items")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
    {
        let oi = tolerant::id(item.get("oi_id"))
            .ok_or_else(|| err("items[].oi_id", "is missing".into()))?;
        let qty = tolerant::int(item.get("qty"))
            .ok_or_else(|| err("items[].qty", "is missing".into()))?;
        let price = amount(item, "price")?;
        let line = amount(item, "amount")?;
        it.id.append_value(format!("jst:{oi}"));
        it.order_id.append_value(&order_id);
        it.shop_id.append_value(&shop_id);
        it.sku_id
            .append_value(need_text(item, "sku_id").map_err(|e| err("items[].sku_id", e.reason))?);
        it.qty.append_value(qty);
        it.price.append_value(i128::from(price));
        it.discount.append_value(i128::from(qty * price - line));
        it.amount.append_value(i128::from(line));
        it.source.append_value(SOURCE);
    }
    for pay_row in row
        .get("pays")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
    {
        let id = tolerant::id(pay_row.get("pay_id"))
            .ok_or_else(|| err("pays[].pay_id", "is missing".into()))?;
        let (at, day) = time(pay_row, "pay_date")?
            .ok_or_else(|| err("pays[].pay_date", "is missing".into()))?;
        p.id.append_value(format!("jst:{id}"));
        p.order_id.append_value(&order_id);
        p.shop_id.append_value(&shop_id);
        p.channel.append_value(channel_code(
            tolerant::text(pay_row.get("payment")).as_deref(),
        ));
        p.txn.append_value(
            tolerant::text(pay_row.get("outer_pay_id")).unwrap_or_else(|| id.clone()),
        );
        p.amount
            .append_value(i128::from(amount(pay_row, "amount")?));
        p.paid.append_value(at);
        p.pay_date.append_value(day);
        p.status.append_value(
            tolerant::text(pay_row.get("status")).map_or("success", |s| {
                if s == "Cancelled" {
                    "reversed"
                } else {
                    "success"
                }
            }),
        );
        p.source.append_value(SOURCE);
    }
    Ok(())
}

fn batch(fields: Vec<(&str, DataType, bool)>, arrays: Vec<ArrayRef>) -> RecordBatch {
    let schema = Schema::new(
        fields
            .into_iter()
            .map(|(n, t, null)| Field::new(n, t, null))
            .collect::<Vec<_>>(),
    );
    RecordBatch::try_new(Arc::new(schema), arrays).expect("builders match the schema")
}

fn finish_orders(mut o: Orders) -> RecordBatch {
    batch(
        vec![
            ("order_id", DataType::Utf8, false),
            ("platform_order_no", DataType::Utf8, false),
            ("shop_id", DataType::Utf8, false),
            ("platform", DataType::Utf8, false),
            ("buyer_id", DataType::Utf8, true),
            ("status", DataType::Utf8, false),
            ("created_at", ts(), false),
            ("paid_at", ts(), true),
            ("modified_at", ts(), false),
            ("order_date", DataType::Date32, false),
            ("goods_amount", money(), false),
            ("discount_amount", money(), false),
            ("freight_amount", money(), false),
            ("pay_amount", money(), false),
            ("is_cod", DataType::Boolean, false),
            ("receiver_province", DataType::Utf8, true),
            ("receiver_city", DataType::Utf8, true),
            ("source", DataType::Utf8, false),
        ],
        vec![
            Arc::new(o.order_id.finish()),
            Arc::new(o.so_id.finish()),
            Arc::new(o.shop_id.finish()),
            Arc::new(o.platform.finish()),
            Arc::new(o.buyer.finish()),
            Arc::new(o.status.finish()),
            Arc::new(o.created.finish()),
            Arc::new(o.paid.finish()),
            Arc::new(o.modified.finish()),
            Arc::new(o.order_date.finish()),
            Arc::new(o.goods.finish()),
            Arc::new(o.discount.finish()),
            Arc::new(o.freight.finish()),
            Arc::new(o.pay.finish()),
            Arc::new(o.cod.finish()),
            Arc::new(o.province.finish()),
            Arc::new(o.city.finish()),
            Arc::new(o.source.finish()),
        ],
    )
}

fn finish_items(mut i: Items) -> RecordBatch {
    batch(
        vec![
            ("order_item_id", DataType::Utf8, false),
            ("order_id", DataType::Utf8, false),
            ("shop_id", DataType::Utf8, false),
            ("sku_id", DataType::Utf8, false),
            ("qty", DataType::Int64, false),
            ("unit_price", money(), false),
            ("discount_amount", money(), false),
            ("amount", money(), false),
            ("source", DataType::Utf8, false),
        ],
        vec![
            Arc::new(i.id.finish()),
            Arc::new(i.order_id.finish()),
            Arc::new(i.shop_id.finish()),
            Arc::new(i.sku_id.finish()),
            Arc::new(i.qty.finish()),
            Arc::new(i.price.finish()),
            Arc::new(i.discount.finish()),
            Arc::new(i.amount.finish()),
            Arc::new(i.source.finish()),
        ],
    )
}

fn finish_pays(mut p: Pays) -> RecordBatch {
    batch(
        vec![
            ("payment_id", DataType::Utf8, false),
            ("order_id", DataType::Utf8, false),
            ("shop_id", DataType::Utf8, false),
            ("channel", DataType::Utf8, false),
            ("txn_no", DataType::Utf8, false),
            ("amount", money(), false),
            ("paid_at", ts(), false),
            ("pay_date", DataType::Date32, false),
            ("status", DataType::Utf8, false),
            ("source", DataType::Utf8, false),
        ],
        vec![
            Arc::new(p.id.finish()),
            Arc::new(p.order_id.finish()),
            Arc::new(p.shop_id.finish()),
            Arc::new(p.channel.finish()),
            Arc::new(p.txn.finish()),
            Arc::new(p.amount.finish()),
            Arc::new(p.paid.finish()),
            Arc::new(p.pay_date.finish()),
            Arc::new(p.status.finish()),
            Arc::new(p.source.finish()),
        ],
    )
}

/// A platform's code for a shop site (`淘宝`, `Taobao`…); an unknown spelling is kept as it
/// is, lower-cased, and logged, so it shows instead of becoming `unknown`.
pub(crate) fn platform_code(site: &str) -> String {
    vocab::canon::platform(site).map_or_else(
        || {
            tracing::warn!(
                site,
                "a shop platform outside the schema's codes is kept as it is"
            );
            site.trim().to_lowercase()
        },
        str::to_string,
    )
}

/// A payment channel's code (`支付宝` → `alipay`…); an unknown one is kept as it is, logged.
fn channel_code(raw: Option<&str>) -> String {
    match raw {
        None => "unknown".into(),
        Some(r) => vocab::canon::payment_channel(r).map_or_else(
            || {
                tracing::warn!(
                    channel = r,
                    "a payment channel outside the schema's codes is kept as it is"
                );
                r.trim().to_string()
            },
            str::to_string,
        ),
    }
}
