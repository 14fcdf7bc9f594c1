//! TOP refunds (`taobao.refunds.receive.get`) → canonical `refunds` rows.

use std::sync::Arc;

use arrow::array::{Date32Builder, Int64Builder, StringBuilder};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use serde_json::Value;

use super::{Reader, SOURCE, TopMappingError, batch, dec, money, ts, tsb};
use crate::tolerant;

/// Rows for `refunds`.
#[derive(Debug)]
pub struct MappedRefunds {
    pub refunds: RecordBatch,
}

/// Maps refunds of `taobao.refunds.receive.get` for the shop `shop_id`. `kind` is `exchange`
/// for exchange disputes, `return` when goods go back, else `refund_only`; `completed_at` is
/// the last change of a successful refund.
pub fn map_refunds(rows: &[Value], shop_id: &str) -> Result<MappedRefunds, TopMappingError> {
    let s = StringBuilder::new;
    let (mut id, mut order, mut line, mut shop, mut sku, mut kind, mut reason) =
        (s(), s(), s(), s(), s(), s(), s());
    let (mut qty, mut amount, mut insurance, mut status, mut source) =
        (Int64Builder::new(), dec(), dec(), s(), s());
    let (mut created, mut day, mut completed, mut received) =
        (tsb(), Date32Builder::new(), tsb(), tsb());
    for row in rows {
        let rid = tolerant::id(row.get("refund_id"));
        let rid_text = rid.clone().unwrap_or_else(|| "?".into());
        let r = Reader {
            kind: "refund",
            id: &rid_text,
        };
        let rid = rid.ok_or_else(|| r.err("refund_id", "is missing"))?;
        let tid = r.id(row, "tid")?;
        let st = r.text(row, "status")?;
        let dispute = tolerant::text(row.get("dispute_type")).unwrap_or_default();
        let goods_back = tolerant::flag(row.get("has_good_return")).unwrap_or(false)
            || dispute == "REFUND_AND_RETURN";
        let k = if dispute.contains("EXCHANGE") {
            "exchange"
        } else if goods_back {
            "return"
        } else {
            "refund_only"
        };
        let (at, d) = r.need_time(row, "created")?;
        let (modified, _) = r.need_time(row, "modified")?;
        let fee = r
            .fen(row, "refund_fee")?
            .ok_or_else(|| r.err("refund_fee", "is missing"))?;
        id.append_value(format!("tb:{rid}"));
        order.append_value(format!("tb:{tid}"));
        line.append_option(tolerant::id(row.get("oid")).map(|oid| format!("tb:{oid}")));
        shop.append_value(shop_id);
        sku.append_option(tolerant::text(row.get("outer_id")));
        kind.append_value(k);
        reason.append_option(tolerant::text(row.get("reason")));
        qty.append_value(if k == "refund_only" {
            0
        } else {
            tolerant::int(row.get("num")).unwrap_or(0)
        });
        amount.append_value(i128::from(fee));
        insurance.append_value(0);
        let canonical = match st.as_str() {
            "SUCCESS" => "success",
            "CLOSED" | "SELLER_REFUSE_BUYER" => "closed",
            _ => "pending",
        };
        status.append_value(canonical);
        created.append_value(at);
        day.append_value(d);
        completed.append_option((canonical == "success").then_some(modified));
        received.append_null();
        source.append_value(SOURCE);
    }
    let refunds = batch(
        vec![
            ("refund_id", DataType::Utf8, false),
            ("order_id", DataType::Utf8, false),
            ("order_item_id", DataType::Utf8, true),
            ("shop_id", DataType::Utf8, false),
            ("sku_id", DataType::Utf8, true),
            ("kind", DataType::Utf8, false),
            ("reason", DataType::Utf8, true),
            ("qty", DataType::Int64, false),
            ("amount", money(), false),
            ("shipping_insurance_amount", money(), false),
            ("status", DataType::Utf8, false),
            ("created_at", ts(), false),
            ("refund_date", DataType::Date32, false),
            ("completed_at", ts(), true),
            ("goods_received_at", ts(), true),
            ("source", DataType::Utf8, false),
        ],
        vec![
            Arc::new(id.finish()),
            Arc::new(order.finish()),
            Arc::new(line.finish()),
            Arc::new(shop.finish()),
            Arc::new(sku.finish()),
            Arc::new(kind.finish()),
            Arc::new(reason.finish()),
            Arc::new(qty.finish()),
            Arc::new(amount.finish()),
            Arc::new(insurance.finish()),
            Arc::new(status.finish()),
            Arc::new(created.finish()),
            Arc::new(day.finish()),
            Arc::new(completed.finish()),
            Arc::new(received.finish()),
            Arc::new(source.finish()),
        ],
    );
    Ok(MappedRefunds { refunds })
}
