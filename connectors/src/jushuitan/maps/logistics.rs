//! Shipping info (`/open/logistic/query`) → `logistics_events`: one `collected` event per
//! order and waybill (the parcel handed to the carrier at `send_date`), pointing at the
//! shipment `jst:<o_id>:<l_id>` that the outbound stream writes. Rows without a waybill or a
//! send time (not shipped yet) produce no event. The rows carry no rowversion; their
//! `modified` (when present) orders two reads of one row.

use serde_json::Value;

use super::{carrier, shipment_id, source};
use crate::jushuitan::record::{Doc, RecordError};
use crate::stream::TableRows;
use crate::tolerant;
use vocab::rows::{Cell, Columns, Kind, Rows, text};

const COLUMNS: Columns = &[
    ("event_id", Kind::Text, false),
    ("shipment_id", Kind::Text, false),
    ("tracking_no", Kind::Text, false),
    ("carrier", Kind::Text, false),
    ("event_time", Kind::Ts, false),
    ("status", Kind::Text, false),
    ("location", Kind::Text, true),
    ("description", Kind::Text, true),
    ("source", Kind::Text, false),
];

/// `<o_id>:<l_id>` (an order shipped in several parcels has one row per waybill).
pub(crate) fn key(v: &Value) -> Option<String> {
    let o_id = tolerant::id(v.get("o_id"))?;
    Some(match tolerant::text(v.get("l_id")) {
        Some(l) => format!("{o_id}:{l}"),
        None => o_id,
    })
}

pub(crate) fn map(records: &[Value]) -> Result<Vec<TableRows>, RecordError> {
    let mut rows = Rows::new(COLUMNS);
    for v in records {
        let id = key(v).unwrap_or_else(|| "?".into());
        let d = Doc::new(v, "shipping info", &id);
        let o_id = d.need_id("o_id")?;
        let (Some(l_id), Some((at, _))) = (d.text("l_id"), d.time("send_date")?) else {
            continue;
        };
        let shipment = shipment_id(&o_id, &l_id);
        rows.push([
            ("event_id", text(format!("{shipment}:collected"))),
            ("shipment_id", text(shipment)),
            ("tracking_no", text(l_id)),
            ("carrier", text(carrier(&d.need_text("lc_id")?))),
            ("event_time", Cell::Ts(Some(at))),
            ("status", text("collected")),
            ("location", Cell::Text(None)),
            ("description", Cell::Text(d.text("logistics_company"))),
            ("source", source()),
        ]);
    }
    Ok(vec![TableRows {
        table: "logistics_events".into(),
        batch: rows.finish(),
        replace: None,
    }])
}
