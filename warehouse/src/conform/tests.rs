use super::*;
use crate::schema::table;
use arrow::array::{Decimal128Array, Float64Array, Int32Array, StringArray};
use arrow::datatypes::{Field, Schema};

fn batch(fields: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let schema = Schema::new(
        fields
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    );
    RecordBatch::try_new(
        Arc::new(schema),
        fields.into_iter().map(|(_, a)| a).collect(),
    )
    .expect("batch")
}

#[test]
fn fills_nullable_columns_and_orders_columns() {
    let def = table("warehouses").expect("table");
    let b = batch(vec![
        ("source", Arc::new(StringArray::from(vec!["test"]))),
        ("name", Arc::new(StringArray::from(vec!["杭州仓"]))),
        ("warehouse_id", Arc::new(StringArray::from(vec!["W1"]))),
    ]);
    let out = conform(def, &b).expect("conforms");
    assert_eq!(out.schema(), def.arrow_schema());
    assert_eq!(out.column(2).null_count(), 1, "city filled with null");
}

#[test]
fn rejects_unknown_missing_and_null_required_columns() {
    let def = table("warehouses").expect("table");
    let unknown = batch(vec![
        ("warehouse_id", Arc::new(StringArray::from(vec!["W1"]))),
        ("name", Arc::new(StringArray::from(vec!["a"]))),
        ("source", Arc::new(StringArray::from(vec!["t"]))),
        ("colour", Arc::new(StringArray::from(vec!["red"]))),
    ]);
    assert!(
        conform(def, &unknown)
            .unwrap_err()
            .to_string()
            .contains("unknown column `colour`")
    );
    let missing = batch(vec![(
        "warehouse_id",
        Arc::new(StringArray::from(vec!["W1"])),
    )]);
    assert!(
        conform(def, &missing)
            .unwrap_err()
            .to_string()
            .contains("`name` is missing")
    );
    let null = batch(vec![
        (
            "warehouse_id",
            Arc::new(StringArray::from(vec![Some("W1"), None])),
        ),
        ("name", Arc::new(StringArray::from(vec!["a", "b"]))),
        ("source", Arc::new(StringArray::from(vec!["t", "t"]))),
    ]);
    let e = conform(def, &null).unwrap_err().to_string();
    assert!(e.contains("`warehouse_id` is required but row 1"), "{e}");
}

#[test]
fn money_accepts_decimals_and_integers_but_never_floats() {
    let def = table("suppliers").expect("table");
    let base = |lead: ArrayRef| {
        batch(vec![
            (
                "supplier_id",
                Arc::new(StringArray::from(vec!["S1"])) as ArrayRef,
            ),
            ("name", Arc::new(StringArray::from(vec!["n"]))),
            ("lead_time_days", lead),
            ("source", Arc::new(StringArray::from(vec!["t"]))),
        ])
    };
    assert!(conform(def, &base(Arc::new(Int32Array::from(vec![7])))).is_ok());
    let e = conform(def, &base(Arc::new(Float64Array::from(vec![7.0])))).unwrap_err();
    assert!(e.to_string().contains("lead_time_days"), "{e}");
    // A decimal with more precision than the table keeps is an error, not a silent rounding.
    let skus = table("purchase_order_lines").expect("table");
    let lines = |amount: Decimal128Array| {
        batch(vec![
            (
                "po_line_id",
                Arc::new(StringArray::from(vec!["L1"])) as ArrayRef,
            ),
            ("po_id", Arc::new(StringArray::from(vec!["P1"]))),
            ("sku_id", Arc::new(StringArray::from(vec!["K1"]))),
            ("qty", Arc::new(Int32Array::from(vec![1]))),
            ("unit_cost", Arc::new(amount.clone())),
            ("amount", Arc::new(amount)),
            ("source", Arc::new(StringArray::from(vec!["t"]))),
        ])
    };
    let ok = Decimal128Array::from(vec![1234_i128])
        .with_precision_and_scale(10, 2)
        .expect("dec");
    let out = conform(skus, &lines(ok)).expect("same scale");
    let amount = out
        .column(5)
        .as_any()
        .downcast_ref::<Decimal128Array>()
        .expect("decimal");
    assert_eq!(amount.value(0), 1234, "12.34 yuan is 1234 fen");
}
