//! TOP trades → canonical `orders`, `order_items` and `payments`; refunds → `refunds`.
//!
//! Ids are prefixed `tb:` (`tb:<tid>`, lines `tb:<oid>`, the payment `tb:pay:<tid>`,
//! refunds `tb:<refund_id>`) so they never collide with other sources. `platform` is `tmall`
//! when the sub-orders' `seller_type` is `B` (or the trade type is `tmall_i18n`) and `taobao`
//! for `C` (§2.10); without a seller type the connector's configured platform is used.
//! Money strings are read exactly into fen. Times are Asia/Shanghai wall clock: instants go
//! to UTC and business dates stay Shanghai dates ([`shanghai_time`]). A line's amount is
//! `divide_order_fee` (the apportioned paid amount), falling back to its `total_fee`, never
//! `payment` (which includes the freight on single-line trades, §2.8). A value that cannot be
//! read is an error naming the trade and field.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use serde_json::Value;

use super::envelope::list;
use crate::tolerant;
use vocab::time::parse_platform_time as shanghai_time;

mod refunds;
pub use refunds::{MappedRefunds, map_refunds};

/// The `source` of every row this mapping produces.
pub const SOURCE: &str = "taobao";

/// Rows for the order tables.
#[derive(Debug)]
pub struct MappedTrades {
    pub orders: RecordBatch,
    pub order_items: RecordBatch,
    pub payments: RecordBatch,
}

/// A value that could not be mapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("TOP {kind} {id}: field `{field}`: {reason}")]
pub struct TopMappingError {
    pub kind: &'static str,
    pub id: String,
    pub field: String,
    pub reason: String,
}

/// Trade status (§2.9) → canonical status.
fn trade_status(s: &str) -> Option<&'static str> {
    Some(match s {
        "TRADE_NO_CREATE_PAY" | "WAIT_BUYER_PAY" | "PAY_PENDING" | "WAIT_PRE_AUTH_CONFIRM" => {
            "created"
        }
        "WAIT_SELLER_SEND_GOODS" | "PAID_FORBID_CONSIGN" => "paid",
        "SELLER_CONSIGNED_PART" | "WAIT_BUYER_CONFIRM_GOODS" | "TRADE_BUYER_SIGNED" => "shipped",
        "TRADE_FINISHED" => "finished",
        "TRADE_CLOSED" => "refunded",
        "TRADE_CLOSED_BY_TAOBAO" => "closed",
        _ => return None,
    })
}

pub(super) fn money() -> DataType {
    DataType::Decimal128(18, 2)
}

pub(super) fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

pub(super) fn dec() -> Decimal128Builder {
    Decimal128Builder::new().with_data_type(money())
}

pub(super) fn tsb() -> TimestampMicrosecondBuilder {
    TimestampMicrosecondBuilder::new().with_timezone("UTC")
}

/// Readers of one record that name it in their errors.
pub(super) struct Reader<'a> {
    kind: &'static str,
    id: &'a str,
}

impl Reader<'_> {
    pub(super) fn err(&self, field: &str, reason: impl Into<String>) -> TopMappingError {
        TopMappingError {
            kind: self.kind,
            id: self.id.to_string(),
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(super) fn text(&self, v: &Value, field: &str) -> Result<String, TopMappingError> {
        tolerant::text(v.get(field)).ok_or_else(|| self.err(field, "is missing"))
    }

    pub(super) fn id(&self, v: &Value, field: &str) -> Result<String, TopMappingError> {
        tolerant::id(v.get(field)).ok_or_else(|| self.err(field, "is missing"))
    }

    pub(super) fn time(
        &self,
        v: &Value,
        field: &str,
    ) -> Result<Option<(i64, i32)>, TopMappingError> {
        match tolerant::text(v.get(field)) {
            None => Ok(None),
            Some(t) => shanghai_time(&t)
                .map(Some)
                .ok_or_else(|| self.err(field, format!("{t:?} is not yyyy-MM-dd HH:mm:ss"))),
        }
    }

    pub(super) fn need_time(&self, v: &Value, field: &str) -> Result<(i64, i32), TopMappingError> {
        self.time(v, field)?
            .ok_or_else(|| self.err(field, "is missing"))
    }

    pub(super) fn fen(&self, v: &Value, field: &str) -> Result<Option<i64>, TopMappingError> {
        tolerant::fen(v.get(field)).map_err(|e| self.err(field, e))
    }
}

struct OrderCols {
    order_id: StringBuilder,
    tid: StringBuilder,
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

struct ItemCols {
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

struct PayCols {
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

/// Maps trades (as `increment.get` or `fullinfo.get` return them, wrapped or flat) of the
/// shop `shop_id`; `platform` is used for trades whose sub-orders carry no `seller_type`.
pub fn map_trades(
    rows: &[Value],
    shop_id: &str,
    platform: Option<&str>,
) -> Result<MappedTrades, TopMappingError> {
    let s = StringBuilder::new;
    let mut o = OrderCols {
        order_id: s(),
        tid: s(),
        shop_id: s(),
        platform: s(),
        buyer: s(),
        status: s(),
        created: tsb(),
        paid: tsb(),
        modified: tsb(),
        order_date: Date32Builder::new(),
        goods: dec(),
        discount: dec(),
        freight: dec(),
        pay: dec(),
        cod: BooleanBuilder::new(),
        province: s(),
        city: s(),
        source: s(),
    };
    let mut it = ItemCols {
        id: s(),
        order_id: s(),
        shop_id: s(),
        sku_id: s(),
        qty: Int64Builder::new(),
        price: dec(),
        discount: dec(),
        amount: dec(),
        source: s(),
    };
    let mut p = PayCols {
        id: s(),
        order_id: s(),
        shop_id: s(),
        channel: s(),
        txn: s(),
        amount: dec(),
        paid: tsb(),
        pay_date: Date32Builder::new(),
        status: s(),
        source: s(),
    };
    for row in rows {
        map_trade(row, shop_id, platform, &mut o, &mut it, &mut p)?;
    }
    Ok(MappedTrades {
        orders: finish_orders(o),
        order_items: finish_items(it),
        payments: finish_pays(p),
    })
}

fn map_trade(
    row: &Value,
    shop_id: &str,
    platform: Option<&str>,
    o: &mut OrderCols,
    it: &mut ItemCols,
    p: &mut PayCols,
) -> Result<(), TopMappingError> {
    let tid = tolerant::id(row.get("tid")).or_else(|| tolerant::id(row.get("tid_str")));
    let tid_text = tid.clone().unwrap_or_else(|| "?".into());
    let r = Reader {
        kind: "trade",
        id: &tid_text,
    };
    let tid = tid.ok_or_else(|| r.err("tid", "is missing"))?;
    let order_id = format!("tb:{tid}");
    let status_text = r.text(row, "status")?;
    let status = trade_status(&status_text)
        .ok_or_else(|| r.err("status", format!("unknown status {status_text:?}")))?;
    let (created, order_day) = r.need_time(row, "created")?;
    let (modified, _) = r.need_time(row, "modified")?;
    let pay_time = r.time(row, "pay_time")?;
    let pay = r
        .fen(row, "payment")?
        .ok_or_else(|| r.err("payment", "is missing"))?;
    let freight = r.fen(row, "post_fee")?.unwrap_or(0);
    let lines = list(row, "orders", "order").map_err(|e| r.err("orders", e.to_string()))?;
    if lines.is_empty() {
        return Err(r.err("orders", "has no sub-orders"));
    }
    let mut seller_type = None;
    let mut line_gross = 0i64;
    for line in &lines {
        let oid = r.id(line, "oid").or_else(|_| r.id(line, "oid_str"))?;
        let sku = tolerant::text(line.get("outer_sku_id"))
            .or_else(|| tolerant::text(line.get("sku_id")))
            .or_else(|| tolerant::id(line.get("num_iid")))
            .ok_or_else(|| r.err("orders.outer_sku_id", "is missing (and sku_id, num_iid)"))?;
        let qty =
            tolerant::int(line.get("num")).ok_or_else(|| r.err("orders.num", "is missing"))?;
        let price = r
            .fen(line, "price")?
            .ok_or_else(|| r.err("orders.price", "is missing"))?;
        let amount = match r.fen(line, "divide_order_fee")? {
            Some(a) => a,
            None => r
                .fen(line, "total_fee")?
                .ok_or_else(|| r.err("orders.divide_order_fee", "is missing (and total_fee)"))?,
        };
        line_gross += qty * price;
        seller_type = seller_type.or_else(|| tolerant::text(line.get("seller_type")));
        it.id.append_value(format!("tb:{oid}"));
        it.order_id.append_value(&order_id);
        it.shop_id.append_value(shop_id);
        it.sku_id.append_value(sku);
        it.qty.append_value(qty);
        it.price.append_value(i128::from(price));
        it.discount.append_value(i128::from(qty * price - amount));
        it.amount.append_value(i128::from(amount));
        it.source.append_value(SOURCE);
    }
    let trade_type = tolerant::text(row.get("type")).unwrap_or_default();
    let platform = match seller_type.as_deref() {
        Some("B") => "tmall",
        Some("C") if trade_type != "tmall_i18n" => "taobao",
        _ if trade_type == "tmall_i18n" => "tmall",
        _ => platform.ok_or_else(|| {
            r.err(
                "orders.seller_type",
                "is missing and the connector has no `platform` setting",
            )
        })?,
    };
    let goods = r.fen(row, "total_fee")?.unwrap_or(line_gross);
    o.order_id.append_value(&order_id);
    o.tid.append_value(&tid);
    o.shop_id.append_value(shop_id);
    o.platform.append_value(platform);
    o.buyer.append_option(
        tolerant::text(row.get("buyer_open_uid")).or_else(|| tolerant::text(row.get("buyer_nick"))),
    );
    o.status.append_value(status);
    o.created.append_value(created);
    o.paid.append_option(pay_time.map(|t| t.0));
    o.modified.append_value(modified);
    o.order_date.append_value(order_day);
    o.goods.append_value(i128::from(goods));
    o.discount.append_value(i128::from(goods + freight - pay));
    o.freight.append_value(i128::from(freight));
    o.pay.append_value(i128::from(pay));
    o.cod.append_value(trade_type == "cod");
    o.province
        .append_option(tolerant::text(row.get("receiver_state")));
    o.city
        .append_option(tolerant::text(row.get("receiver_city")));
    o.source.append_value(SOURCE);
    if let Some((at, day)) = pay_time {
        p.id.append_value(format!("tb:pay:{tid}"));
        p.order_id.append_value(&order_id);
        p.shop_id.append_value(shop_id);
        p.channel.append_value("alipay");
        p.txn
            .append_value(tolerant::text(row.get("alipay_no")).unwrap_or_else(|| tid.clone()));
        p.amount.append_value(i128::from(pay));
        p.paid.append_value(at);
        p.pay_date.append_value(day);
        p.status.append_value("success");
        p.source.append_value(SOURCE);
    }
    Ok(())
}

pub(super) fn batch(fields: Vec<(&str, DataType, bool)>, arrays: Vec<ArrayRef>) -> RecordBatch {
    let schema = Schema::new(
        fields
            .into_iter()
            .map(|(n, t, null)| Field::new(n, t, null))
            .collect::<Vec<_>>(),
    );
    RecordBatch::try_new(Arc::new(schema), arrays).expect("builders match the schema")
}

fn finish_orders(mut o: OrderCols) -> RecordBatch {
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
            Arc::new(o.tid.finish()),
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

fn finish_items(mut i: ItemCols) -> RecordBatch {
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

fn finish_pays(mut p: PayCols) -> RecordBatch {
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

#[cfg(test)]
mod tests;
