use std::sync::Arc;

use arrow::array::{Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use super::*;
use crate::LakeConfig;

fn lines(rows: &[(&str, &str, i64)]) -> RecordBatch {
    let schema = Schema::new(vec![
        Field::new("po_line_id", DataType::Utf8, false),
        Field::new("po_id", DataType::Utf8, false),
        Field::new("sku_id", DataType::Utf8, false),
        Field::new("qty", DataType::Int64, false),
        Field::new("unit_cost", DataType::Int64, false),
        Field::new("amount", DataType::Int64, false),
        Field::new("source", DataType::Utf8, false),
    ]);
    let col = |f: fn(&(&str, &str, i64)) -> String| {
        Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
    };
    let n = |v: Vec<i64>| Arc::new(Int64Array::from(v));
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            col(|r| r.0.to_string()),
            col(|r| r.1.to_string()),
            col(|_| "K".to_string()),
            n(rows.iter().map(|r| r.2).collect()),
            n(vec![1; rows.len()]),
            n(rows.iter().map(|r| r.2).collect()),
            col(|_| "t".to_string()),
        ],
    )
    .expect("batch")
}

async fn ids(wh: &Warehouse) -> Vec<String> {
    use arrow::array::AsArray;
    let out = wh
        .query("select po_line_id from purchase_order_lines order by 1")
        .await
        .expect("query");
    out.iter()
        .flat_map(|b| {
            let c = arrow::compute::cast(b.column(0), &DataType::Utf8).expect("cast");
            let s = c.as_string::<i32>();
            (0..s.len())
                .map(|i| s.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn replace_groups_deletes_lines_a_parent_no_longer_has_and_leaves_other_parents() {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = Warehouse::open(&LakeConfig {
        url: dir.path().display().to_string(),
        ..Default::default()
    })
    .await
    .expect("lake");
    let tag = CommitTag::new("test");
    // One commit (one file) per row, as a sync leaves it.
    for row in [
        ("A1", "A", 1),
        ("A2", "A", 2),
        ("B1", "B", 3),
        ("C1", "C", 4),
    ] {
        wh.upsert("purchase_order_lines", &[lines(&[row])], &tag)
            .await
            .expect("seed");
    }
    // A now has only A1 (changed), B has no lines at all, C is not re-read.
    let groups = vec!["A".to_string(), "B".to_string()];
    wh.replace_groups(
        "purchase_order_lines",
        "po_id",
        &groups,
        &[lines(&[("A1", "A", 5)])],
        &tag,
    )
    .await
    .expect("replace");
    assert_eq!(ids(&wh).await, vec!["A1", "C1"]);
    // Quotes in group values are escaped, not injected.
    let odd = vec!["x' OR '1'='1".to_string()];
    wh.replace_groups("purchase_order_lines", "po_id", &odd, &[], &tag)
        .await
        .expect("odd");
    assert_eq!(ids(&wh).await, vec!["A1", "C1"]);
}
