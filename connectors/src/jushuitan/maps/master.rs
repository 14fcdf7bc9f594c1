//! Master data: shops (`/open/shops/query`) → `shops`, warehouses (`/open/wms/partner/query`)
//! → `warehouses`. A shop's platform is its `shop_site` in lower case, as the orders mapping
//! writes `orders.platform`; warehouses carry no city (null).

use serde_json::Value;

use super::source;
use crate::jushuitan::record::{Doc, RecordError};
use crate::jushuitan::rows::{Cell, Columns, Kind, Rows, text};
use crate::stream::TableRows;
use crate::tolerant;

const SHOPS: Columns = &[
    ("shop_id", Kind::Text, false),
    ("platform", Kind::Text, false),
    ("name", Kind::Text, false),
    ("seller_nick", Kind::Text, true),
    ("opened_at", Kind::Ts, true),
    ("source", Kind::Text, false),
];

const WAREHOUSES: Columns = &[
    ("warehouse_id", Kind::Text, false),
    ("name", Kind::Text, false),
    ("city", Kind::Text, true),
    ("source", Kind::Text, false),
];

pub(crate) fn shop_key(v: &Value) -> Option<String> {
    tolerant::id(v.get("shop_id"))
}

pub(crate) fn warehouse_key(v: &Value) -> Option<String> {
    tolerant::id(v.get("wms_co_id"))
}

pub(crate) fn map_shops(records: &[Value]) -> Result<Vec<TableRows>, RecordError> {
    let mut rows = Rows::new(SHOPS);
    for v in records {
        let id = shop_key(v).unwrap_or_else(|| "?".into());
        let d = Doc::new(v, "shop", &id);
        rows.push(vec![
            text(d.jst_id("shop_id")?),
            text(
                d.text("shop_site")
                    .map_or_else(|| "unknown".into(), |s| s.to_lowercase()),
            ),
            text(d.need_text("shop_name")?),
            Cell::Text(d.text("nick")),
            Cell::Ts(d.time("created")?.map(|t| t.0)),
            source(),
        ]);
    }
    Ok(vec![TableRows {
        table: "shops".into(),
        batch: rows.finish(),
        replace: None,
    }])
}

pub(crate) fn map_warehouses(records: &[Value]) -> Result<Vec<TableRows>, RecordError> {
    let mut rows = Rows::new(WAREHOUSES);
    for v in records {
        let id = warehouse_key(v).unwrap_or_else(|| "?".into());
        let d = Doc::new(v, "warehouse", &id);
        rows.push(vec![
            text(d.jst_id("wms_co_id")?),
            text(d.need_text("name")?),
            Cell::Text(None),
            source(),
        ]);
    }
    Ok(vec![TableRows {
        table: "warehouses".into(),
        batch: rows.finish(),
        replace: None,
    }])
}
