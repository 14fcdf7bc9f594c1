//! SKUs (`/open/sku/query`) → `skus`. The SKU id is Jushuitan's `sku_id` as is (the code
//! order lines carry), the product is the style code `i_id`, the barcode `sku_code`.
//! `enabled` 1/0/−1 is active/draft/discontinued; prices are exact fen (an absent
//! `cost_price` is 0); `weight` (kg) becomes grams. Jushuitan gives no virtual, pre-order or
//! back-order flags (false) and no stock alert levels (null).

use serde_json::Value;

use super::source;
use crate::jushuitan::record::{Doc, RecordError};
use crate::jushuitan::rows::{Cell, Columns, Kind, Rows, text};
use crate::stream::TableRows;
use crate::tolerant;

const COLUMNS: Columns = &[
    ("sku_id", Kind::Text, false),
    ("spu_id", Kind::Text, false),
    ("name", Kind::Text, false),
    ("attributes", Kind::Text, true),
    ("barcode", Kind::Text, true),
    ("is_virtual", Kind::Bool, false),
    ("allow_preorder", Kind::Bool, false),
    ("allow_backorder", Kind::Bool, false),
    ("lifecycle", Kind::Text, false),
    ("list_price", Kind::Money, false),
    ("cost_price", Kind::Money, false),
    ("weight_g", Kind::Int, true),
    ("low_stock", Kind::Int, true),
    ("high_stock", Kind::Int, true),
    ("source", Kind::Text, false),
];

pub(crate) fn key(v: &Value) -> Option<String> {
    tolerant::id(v.get("sku_id"))
}

pub(crate) fn map(records: &[Value]) -> Result<Vec<TableRows>, RecordError> {
    let mut rows = Rows::new(COLUMNS);
    for v in records {
        let id = key(v).unwrap_or_else(|| "?".into());
        let d = Doc::new(v, "SKU", &id);
        let lifecycle = match d.int("enabled")? {
            Some(1) | None => "active",
            Some(0) => "draft",
            Some(-1) => "discontinued",
            Some(other) => return Err(d.err("enabled", format!("{other} is not 1, 0 or -1"))),
        };
        let attributes = d
            .text("properties_value")
            .map(|p| serde_json::json!({ "properties_value": p }).to_string());
        rows.push(vec![
            text(d.need_id("sku_id")?),
            text(d.need_id("i_id")?),
            text(d.need_text("name")?),
            Cell::Text(attributes),
            Cell::Text(d.text("sku_code")),
            Cell::Bool(Some(false)),
            Cell::Bool(Some(false)),
            Cell::Bool(Some(false)),
            text(lifecycle),
            Cell::Money(Some(
                d.money("sale_price")?
                    .ok_or_else(|| d.err("sale_price", "is missing"))?,
            )),
            Cell::Money(Some(d.money("cost_price")?.unwrap_or(0))),
            Cell::Int(d.grams("weight")?),
            Cell::Int(None),
            Cell::Int(None),
            source(),
        ]);
    }
    Ok(vec![TableRows {
        table: "skus".into(),
        batch: rows.finish(),
        replace: None,
    }])
}
