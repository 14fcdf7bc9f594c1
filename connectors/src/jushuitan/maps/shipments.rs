//! Sales outbound documents (`/open/orders/out/simple/query`) → `shipments`. Only documents
//! that have left the warehouse (`status = Confirmed`, with a waybill and an outbound time)
//! are parcels; the others produce no row. The shipment id is the order and its waybill, so
//! shipping info (`logistics.rs`) points at the same parcel. Jushuitan's outbound carries no
//! carrier charge, so `freight_cost` is 0 (carrier statements hold it); the weight is the
//! actual weight `f_weight` (else the estimate `weight`), in grams.

use serde_json::Value;

use super::{carrier, shipment_id, source};
use crate::jushuitan::record::{Doc, RecordError};
use crate::stream::TableRows;
use crate::tolerant;
use vocab::rows::{Cell, Columns, Kind, Rows, text};

const COLUMNS: Columns = &[
    ("shipment_id", Kind::Text, false),
    ("order_id", Kind::Text, false),
    ("shop_id", Kind::Text, false),
    ("warehouse_id", Kind::Text, false),
    ("carrier", Kind::Text, false),
    ("tracking_no", Kind::Text, false),
    ("status", Kind::Text, false),
    ("shipped_at", Kind::Ts, false),
    ("ship_date", Kind::Date, false),
    ("delivered_at", Kind::Ts, true),
    ("freight_cost", Kind::Money, false),
    ("weight_g", Kind::Int, false),
    ("dest_province", Kind::Text, true),
    ("dest_city", Kind::Text, true),
    ("source", Kind::Text, false),
];

pub(crate) fn key(v: &Value) -> Option<String> {
    tolerant::id(v.get("io_id"))
}

pub(crate) fn map(records: &[Value]) -> Result<Vec<TableRows>, RecordError> {
    let mut rows = Rows::new(COLUMNS);
    for v in records {
        let id = key(v).unwrap_or_else(|| "?".into());
        let d = Doc::new(v, "outbound", &id);
        d.need_id("io_id")?;
        if d.need_text("status")? != "Confirmed" {
            continue;
        }
        let o_id = d.need_id("o_id")?;
        let l_id = d.need_text("l_id")?;
        let (at, day) = d.need_time("io_date")?;
        let weight = match d.grams("f_weight")? {
            Some(g) if g > 0 => g,
            _ => d.grams("weight")?.unwrap_or(0),
        };
        rows.push([
            ("shipment_id", text(shipment_id(&o_id, &l_id))),
            ("order_id", text(format!("jst:{o_id}"))),
            ("shop_id", text(d.jst_id("shop_id")?)),
            ("warehouse_id", text(d.jst_id("wms_co_id")?)),
            ("carrier", text(carrier(&d.need_text("lc_id")?))),
            ("tracking_no", text(l_id)),
            ("status", text("shipped")),
            ("shipped_at", Cell::Ts(Some(at))),
            ("ship_date", Cell::Date(Some(day))),
            ("delivered_at", Cell::Ts(None)),
            ("freight_cost", Cell::Money(Some(0))),
            ("weight_g", Cell::Int(Some(weight))),
            ("dest_province", Cell::Text(d.text("receiver_state"))),
            ("dest_city", Cell::Text(d.text("receiver_city"))),
            ("source", source()),
        ]);
    }
    Ok(vec![TableRows {
        table: "shipments".into(),
        batch: rows.finish(),
        replace: None,
    }])
}
