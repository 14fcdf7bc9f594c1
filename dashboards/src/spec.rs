//! A panel and its rows → a Vega-Lite v5 spec with the rows inline.

use arrow::array::RecordBatch;
use serde_json::{Map, Value, json};

use crate::DashError;
use crate::def::{Field, FieldType, Mark, Panel};
use crate::values::rows_json;

fn encode(f: &Field) -> Value {
    let mut e = Map::new();
    e.insert("field".into(), Value::from(f.field.clone()));
    e.insert("type".into(), Value::from(f.ty.as_str()));
    if let Some(t) = &f.title {
        e.insert("title".into(), Value::from(t.clone()));
    }
    if let Some(fmt) = &f.format {
        e.insert("axis".into(), json!({"format": fmt}));
    }
    Value::Object(e)
}

/// The Vega-Lite spec of `panel` over `batches`. Every encoded column must be in the rows;
/// the error names the panel, the column and the columns there are.
pub fn vega_lite(panel: &Panel, batches: &[RecordBatch]) -> Result<Value, DashError> {
    if let Some(b) = batches.first() {
        let schema = b.schema();
        for f in panel.chart.fields() {
            if schema.field_with_name(&f.field).is_err() {
                return Err(DashError::MissingColumn {
                    panel: panel.id.clone(),
                    column: f.field.clone(),
                    have: schema
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
    }
    let values = rows_json(&panel.id, batches)?;
    let c = &panel.chart;
    let mut encoding = Map::new();
    for (channel, f) in [
        ("x", &c.x),
        ("y", &c.y),
        ("color", &c.color),
        ("theta", &c.theta),
    ] {
        if let Some(f) = f {
            encoding.insert(channel.into(), encode(f));
        }
    }
    // Every encoded column in the tooltip, so hovering shows the exact figures.
    let tooltip: Vec<Value> = c.fields().map(encode).collect();
    encoding.insert("tooltip".into(), Value::Array(tooltip));
    let title = match &panel.title_zh {
        Some(zh) => format!("{zh} {}", panel.title),
        None => panel.title.clone(),
    };
    let mut mark = json!({"type": c.mark.as_str()});
    if c.mark == Mark::Line || c.mark == Mark::Area {
        mark["point"] = Value::Bool(true);
    }
    let mut spec = json!({
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": title,
        "width": "container",
        "data": {"values": values},
        "mark": mark,
        "encoding": encoding,
    });
    // Categories down the side (horizontal bars): a row per category, however many there are.
    if c.y
        .as_ref()
        .is_some_and(|y| matches!(y.ty, FieldType::Nominal | FieldType::Ordinal))
    {
        spec["height"] = json!({"step": 16});
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Date32Array, Decimal128Array, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field as AField, Schema};

    use super::*;
    use crate::Dashboard;

    const SALES: &str = r#"
id = "sales"
title = "Sales"
title_zh = "销售"

[[panel]]
id = "gmv-by-day"
title = "GMV per day"
title_zh = "每日成交额"
source = { metric = "gmv", by = ["shop", "day"] }
chart = { mark = "line", x = { field = "date", type = "temporal" }, y = { field = "gmv", type = "quantitative", format = ",.2f" }, color = { field = "shop", type = "nominal" } }

[[panel]]
id = "channel-share"
title = "Channel share"
source = { sql = "SELECT platform, SUM(pay_amount) AS gmv FROM orders GROUP BY 1" }
chart = { mark = "arc", theta = { field = "gmv", type = "quantitative" }, color = { field = "platform", type = "nominal" } }
"#;

    fn batch() -> RecordBatch {
        let schema = Schema::new(vec![
            AField::new("date", DataType::Date32, false),
            AField::new("shop", DataType::Utf8, false),
            AField::new("gmv", DataType::Decimal128(18, 2), true),
            AField::new("orders", DataType::Int64, false),
        ]);
        let gmv = Decimal128Array::from(vec![Some(123_456_789_012_345_i128), Some(10), None])
            .with_precision_and_scale(18, 2)
            .expect("decimal");
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Date32Array::from(vec![20_412, 20_413, 20_414])),
                Arc::new(StringArray::from(vec!["淘宝店", "jst:10002", "jst:10003"])),
                Arc::new(gmv),
                Arc::new(Int64Array::from(vec![3, 1, 0])),
            ],
        )
        .expect("batch")
    }

    #[test]
    fn a_panel_becomes_a_spec_with_its_rows_inline_and_exact_money() {
        let d = Dashboard::parse(SALES, "sales.toml").expect("parse");
        assert_eq!(d.panels.len(), 2);
        let p = d.panel("gmv-by-day").expect("panel");
        let spec = vega_lite(p, &[batch()]).expect("spec");
        assert_eq!(spec["title"], "每日成交额 GMV per day");
        assert_eq!(spec["mark"]["type"], "line");
        assert_eq!(spec["encoding"]["x"]["type"], "temporal");
        assert_eq!(spec["encoding"]["y"]["axis"]["format"], ",.2f");
        assert_eq!(spec["encoding"]["color"]["field"], "shop");
        let rows = spec["data"]["values"].as_array().expect("values");
        assert_eq!(rows.len(), 3);
        // 1,234,567,890,123.45 yuan: 15 significant digits, written exactly.
        assert_eq!(rows[0]["gmv"].to_string(), "1234567890123.45");
        assert_eq!(rows[1]["gmv"].to_string(), "0.1");
        assert_eq!(rows[2]["gmv"], Value::Null);
        assert_eq!(rows[0]["date"], "2025-11-20");
        assert_eq!(rows[0]["shop"], "淘宝店");
        assert_eq!(rows[0]["orders"], 3);
        assert_eq!(
            spec["encoding"]["tooltip"].as_array().map(Vec::len),
            Some(3)
        );
    }

    #[test]
    fn a_missing_column_and_bad_files_are_named() {
        let d = Dashboard::parse(SALES, "sales.toml").expect("parse");
        let e = vega_lite(d.panel("channel-share").expect("panel"), &[batch()])
            .expect_err("no platform column");
        let text = e.to_string();
        assert!(
            text.contains("channel-share")
                && text.contains("`platform`")
                && text.contains("date, shop, gmv, orders"),
            "{text}"
        );
        for (bad, why) in [
            (
                SALES.replace("id = \"channel-share\"", "id = \"gmv-by-day\""),
                "repeated",
            ),
            (
                SALES.replace("theta = { field = \"gmv\", type = \"quantitative\" }, ", ""),
                "theta and color",
            ),
            (
                SALES.replace("mark = \"line\"", "mark = \"sparkle\""),
                "sparkle",
            ),
            (SALES.replace("id = \"sales\"", "id = \"sa les\""), "sa les"),
            ("id = \"x\"\ntitle = \"x\"\n".to_string(), "no [[panel]]"),
        ] {
            let e = Dashboard::parse(&bad, "d.toml").expect_err(why).to_string();
            assert!(e.contains("d.toml") && e.contains(why), "{why}: {e}");
        }
    }
}
