//! Stock per warehouse (`/open/inventory/query`) → `stock_snapshots`. The rows carry neither
//! their warehouse nor a date: the stream attaches `wms_co_id` (the request's warehouse) and
//! `zhongtai_snapshot_date` (the Shanghai day the snapshot is for) to each row before mapping.
//! `on_hand` is `qty`, the actual stock; Jushuitan's inventory carries no cost, so
//! `unit_cost` is 0 (the SKU's `cost_price` is in `skus`).

use chrono::NaiveDate;
use serde_json::Value;

use super::source;
use crate::jushuitan::record::{Doc, RecordError};
use crate::stream::TableRows;
use crate::tolerant;
use vocab::rows::{Cell, Columns, Kind, Rows, text};

/// The field the stream adds with the snapshot's day (`yyyy-MM-dd`).
pub(crate) const SNAPSHOT_DATE: &str = "zhongtai_snapshot_date";

const COLUMNS: Columns = &[
    ("snapshot_date", Kind::Date, false),
    ("sku_id", Kind::Text, false),
    ("warehouse_id", Kind::Text, false),
    ("on_hand", Kind::Int, false),
    ("unit_cost", Kind::Money, false),
    ("source", Kind::Text, false),
];

/// `<wms_co_id>:<sku_id>`.
pub(crate) fn key(v: &Value) -> Option<String> {
    Some(format!(
        "{}:{}",
        tolerant::id(v.get("wms_co_id"))?,
        tolerant::id(v.get("sku_id"))?
    ))
}

pub(crate) fn map(records: &[Value]) -> Result<Vec<TableRows>, RecordError> {
    let mut rows = Rows::new(COLUMNS);
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    for v in records {
        let id = key(v).unwrap_or_else(|| "?".into());
        let d = Doc::new(v, "inventory row", &id);
        let day = d.need_text(SNAPSHOT_DATE)?;
        let day = NaiveDate::parse_from_str(&day, "%Y-%m-%d")
            .map_err(|_| d.err(SNAPSHOT_DATE, format!("{day:?} is not yyyy-MM-dd")))?;
        let days = i32::try_from((day - epoch).num_days())
            .map_err(|_| d.err(SNAPSHOT_DATE, "out of range"))?;
        rows.push([
            ("snapshot_date", Cell::Date(Some(days))),
            ("sku_id", text(d.need_id("sku_id")?)),
            ("warehouse_id", text(d.jst_id("wms_co_id")?)),
            (
                "on_hand",
                Cell::Int(Some(
                    d.int("qty")?.ok_or_else(|| d.err("qty", "is missing"))?,
                )),
            ),
            ("unit_cost", Cell::Money(Some(0))),
            ("source", source()),
        ]);
    }
    Ok(vec![TableRows {
        table: "stock_snapshots".into(),
        batch: rows.finish(),
        replace: None,
    }])
}
