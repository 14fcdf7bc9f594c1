//! Purchase orders (`/open/purchase/query`) → `purchase_order_lines` (the complete set per
//! PO) then `purchase_orders`. A line's amount is `qty × price` in exact fen and the PO's
//! total is the sum of its lines. The promised date is the earliest line `delivery_date`;
//! without one it is the order day (Jushuitan has no PO-level promise date).

use serde_json::Value;

use super::source;
use crate::jushuitan::record::{Doc, RecordError};
use crate::stream::TableRows;
use crate::tolerant;
use vocab::rows::{Cell, Columns, Kind, Rows, text};

const ORDERS: Columns = &[
    ("po_id", Kind::Text, false),
    ("supplier_id", Kind::Text, false),
    ("warehouse_id", Kind::Text, false),
    ("status", Kind::Text, false),
    ("ordered_at", Kind::Ts, false),
    ("promised_date", Kind::Date, false),
    ("total_amount", Kind::Money, false),
    ("source", Kind::Text, false),
];

const LINES: Columns = &[
    ("po_line_id", Kind::Text, false),
    ("po_id", Kind::Text, false),
    ("sku_id", Kind::Text, false),
    ("qty", Kind::Int, false),
    ("unit_cost", Kind::Money, false),
    ("amount", Kind::Money, false),
    ("source", Kind::Text, false),
];

/// PO `status` and `receive_status` (§1.9.7) → canonical status.
fn status(s: &str, received: Option<&str>) -> Option<&'static str> {
    Some(match (s, received) {
        ("Creating" | "WaitConfirm", _) => "draft",
        ("Confirmed", Some("Part_Received")) => "partial",
        ("Confirmed", Some("Received")) | ("Finished", _) => "received",
        ("Confirmed", _) => "ordered",
        ("Cancelled" | "Delete", _) => "closed",
        _ => return None,
    })
}

pub(crate) fn key(v: &Value) -> Option<String> {
    tolerant::id(v.get("po_id"))
}

pub(crate) fn map(records: &[Value]) -> Result<Vec<TableRows>, RecordError> {
    let mut pos = Rows::new(ORDERS);
    let mut lines = Rows::new(LINES);
    let mut ids = Vec::new();
    for v in records {
        let id = key(v).unwrap_or_else(|| "?".into());
        let d = Doc::new(v, "purchase order", &id);
        let po_id = d.jst_id("po_id")?;
        let st = d.need_text("status")?;
        let st = status(&st, d.text("receive_status").as_deref())
            .ok_or_else(|| d.err("status", format!("{st:?} is not a purchase status")))?;
        let (ordered, ordered_day) = d.need_time("po_date")?;
        let mut total = 0i64;
        let mut promised: Option<i32> = None;
        for item in d.list("items") {
            let line = d.child(item, "items[].");
            let qty = line
                .int("qty")?
                .ok_or_else(|| line.err("qty", "is missing"))?;
            let price = line
                .money("price")?
                .ok_or_else(|| line.err("price", "is missing"))?;
            let amount = qty
                .checked_mul(price)
                .ok_or_else(|| line.err("qty", "qty × price overflows"))?;
            total += amount;
            if let Some((_, day)) = line.time("delivery_date")? {
                promised = Some(promised.map_or(day, |p| p.min(day)));
            }
            lines.push([
                ("po_line_id", text(line.jst_id("poi_id")?)),
                ("po_id", text(po_id.clone())),
                ("sku_id", text(line.need_text("sku_id")?)),
                ("qty", Cell::Int(Some(qty))),
                ("unit_cost", Cell::Money(Some(price))),
                ("amount", Cell::Money(Some(amount))),
                ("source", source()),
            ]);
        }
        pos.push([
            ("po_id", text(po_id.clone())),
            ("supplier_id", text(d.jst_id("supplier_id")?)),
            ("warehouse_id", text(d.jst_id("wms_co_id")?)),
            ("status", text(st)),
            ("ordered_at", Cell::Ts(Some(ordered))),
            (
                "promised_date",
                Cell::Date(Some(promised.unwrap_or(ordered_day))),
            ),
            ("total_amount", Cell::Money(Some(total))),
            ("source", source()),
        ]);
        ids.push(po_id);
    }
    Ok(vec![
        TableRows {
            table: "purchase_order_lines".into(),
            batch: lines.finish(),
            replace: Some(("po_id".into(), ids)),
        },
        TableRows {
            table: "purchase_orders".into(),
            batch: pos.finish(),
            replace: None,
        },
    ])
}
