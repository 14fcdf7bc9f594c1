//! SKUs (`/open/sku/query`) → `skus`. The SKU id is Jushuitan's `sku_id` as is (the code
//! order lines carry), the product is the style code `i_id`, the barcode `sku_code`.
//! `enabled` 1/0/−1 is active/draft/discontinued; prices are exact fen (an absent
//! `cost_price` is 0); `weight` (kg) becomes grams. Jushuitan gives no virtual, pre-order or
//! back-order flags (false) and no stock alert levels (null).

use serde_json::Value;

use super::source;
use crate::jushuitan::record::{Doc, RecordError};
use crate::stream::TableRows;
use crate::tolerant;
use vocab::rows::{Cell, Columns, Kind, Rows, text};

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
        rows.push([
            ("sku_id", text(d.need_id("sku_id")?)),
            ("spu_id", text(d.need_id("i_id")?)),
            ("name", text(d.need_text("name")?)),
            ("attributes", Cell::Text(attributes)),
            ("barcode", Cell::Text(d.text("sku_code"))),
            ("is_virtual", Cell::Bool(Some(false))),
            ("allow_preorder", Cell::Bool(Some(false))),
            ("allow_backorder", Cell::Bool(Some(false))),
            ("lifecycle", text(lifecycle)),
            (
                "list_price",
                Cell::Money(Some(
                    d.money("sale_price")?
                        .ok_or_else(|| d.err("sale_price", "is missing"))?,
                )),
            ),
            (
                "cost_price",
                Cell::Money(Some(d.money("cost_price")?.unwrap_or(0))),
            ),
            ("weight_g", Cell::Int(d.grams("weight")?)),
            ("low_stock", Cell::Int(None)),
            ("high_stock", Cell::Int(None)),
            ("source", source()),
        ]);
    }
    Ok(vec![TableRows {
        table: "skus".into(),
        batch: rows.finish(),
        replace: None,
    }])
}
