//! After-sale cases (`/open/refund/single/query`) → `refunds`, one row per case. The case's
//! lines give the SKU (when there is exactly one) and the units returned. Jushuitan reports
//! no return-freight insurance, so `shipping_insurance_amount` is 0.

use serde_json::Value;

use super::source;
use crate::jushuitan::record::{Doc, RecordError};
use crate::stream::TableRows;
use crate::tolerant;
use vocab::rows::{Cell, Columns, Kind, Rows, text};

const COLUMNS: Columns = &[
    ("refund_id", Kind::Text, false),
    ("order_id", Kind::Text, false),
    ("order_item_id", Kind::Text, true),
    ("shop_id", Kind::Text, false),
    ("sku_id", Kind::Text, true),
    ("kind", Kind::Text, false),
    ("reason", Kind::Text, true),
    ("qty", Kind::Int, false),
    ("amount", Kind::Money, false),
    ("shipping_insurance_amount", Kind::Money, false),
    ("status", Kind::Text, false),
    ("created_at", Kind::Ts, false),
    ("refund_date", Kind::Date, false),
    ("completed_at", Kind::Ts, true),
    ("goods_received_at", Kind::Ts, true),
    ("source", Kind::Text, false),
];

/// After-sale `type` (§1.9.5) → canonical kind.
fn kind(t: &str) -> &'static str {
    match t {
        "仅退款" | "投诉" => "refund_only",
        "换货" | "补发" | "维修" => "exchange",
        _ => "return",
    }
}

/// After-sale `status` (§1.10) → canonical status.
fn status(s: &str) -> Option<&'static str> {
    match s {
        "WaitConfirm" => Some("pending"),
        "Confirmed" => Some("success"),
        "Cancelled" | "Merged" => Some("closed"),
        _ => None,
    }
}

pub(crate) fn key(v: &Value) -> Option<String> {
    tolerant::id(v.get("as_id"))
}

pub(crate) fn map(records: &[Value]) -> Result<Vec<TableRows>, RecordError> {
    let mut rows = Rows::new(COLUMNS);
    for v in records {
        let id = key(v).unwrap_or_else(|| "?".into());
        let d = Doc::new(v, "after-sale", &id);
        let as_id = d.jst_id("as_id")?;
        let st = d.need_text("status")?;
        let st = status(&st)
            .ok_or_else(|| d.err("status", format!("{st:?} is not an after-sale status")))?;
        let k = kind(&d.text("type").unwrap_or_default());
        let (created, day) = match d.time("as_date")? {
            Some(t) => t,
            None => d.need_time("created")?,
        };
        let mut qty = 0;
        let mut skus = Vec::new();
        let mut received: Option<i64> = None;
        for item in d.list("items") {
            let line = d.child(item, "items[].");
            qty += line
                .int("qty")?
                .ok_or_else(|| line.err("qty", "is missing"))?;
            let sku = line.need_text("sku_id")?;
            if !skus.contains(&sku) {
                skus.push(sku);
            }
            if let Some((at, _)) = line.time("receive_date")? {
                received = Some(received.map_or(at, |r: i64| r.max(at)));
            }
        }
        let completed = if st == "success" {
            d.time("confirm_date")?.map(|t| t.0)
        } else {
            None
        };
        rows.push([
            ("refund_id", text(as_id)),
            ("order_id", text(d.jst_id("o_id")?)),
            ("order_item_id", Cell::Text(None)),
            ("shop_id", text(d.jst_id("shop_id")?)),
            (
                "sku_id",
                Cell::Text((skus.len() == 1).then(|| skus.remove(0))),
            ),
            ("kind", text(k)),
            ("reason", Cell::Text(d.text("question_type"))),
            (
                "qty",
                Cell::Int(Some(if k == "refund_only" { 0 } else { qty })),
            ),
            ("amount", Cell::Money(Some(d.money("refund")?.unwrap_or(0)))),
            ("shipping_insurance_amount", Cell::Money(Some(0))),
            ("status", text(st)),
            ("created_at", Cell::Ts(Some(created))),
            ("refund_date", Cell::Date(Some(day))),
            ("completed_at", Cell::Ts(completed)),
            ("goods_received_at", Cell::Ts(received)),
            ("source", source()),
        ]);
    }
    Ok(vec![TableRows {
        table: "refunds".into(),
        batch: rows.finish(),
        replace: None,
    }])
}
