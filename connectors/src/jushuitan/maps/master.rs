//! Master data: shops (`/open/shops/query`) → `shops`, warehouses (`/open/wms/partner/query`)
//! → `warehouses`. A shop's platform is its `shop_site` in lower case, as the orders mapping
//! writes `orders.platform`; warehouses carry no city (null).

use serde_json::Value;

use super::source;
use crate::jushuitan::record::{Doc, RecordError};
use crate::stream::TableRows;
use crate::tolerant;
use vocab::rows::{Cell, Columns, Kind, Rows, text};

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
        rows.push([
            ("shop_id", text(d.jst_id("shop_id")?)),
            (
                "platform",
                text(d.text("shop_site").map_or_else(
                    || "unknown".into(),
                    |s| crate::jushuitan::mapping::platform_code(&s),
                )),
            ),
            ("name", text(d.need_text("shop_name")?)),
            ("seller_nick", Cell::Text(d.text("nick"))),
            ("opened_at", Cell::Ts(d.time("created")?.map(|t| t.0))),
            ("source", source()),
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
        rows.push([
            ("warehouse_id", text(d.jst_id("wms_co_id")?)),
            ("name", text(d.need_text("name")?)),
            ("city", Cell::Text(None)),
            ("source", source()),
        ]);
    }
    Ok(vec![TableRows {
        table: "warehouses".into(),
        batch: rows.finish(),
        replace: None,
    }])
}
