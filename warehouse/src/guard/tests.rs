use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

use super::cap_functions;

fn ctx() -> SessionContext {
    let ctx = SessionContext::new();
    cap_functions(&ctx);
    let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, false)]));
    let rows: Vec<String> = (0..10_000).map(|i| format!("{i:0>20}")).collect();
    let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(StringArray::from(rows))])
        .expect("batch");
    let t = MemTable::try_new(schema, vec![vec![batch]]).expect("table");
    ctx.register_table("t", Arc::new(t)).expect("register");
    ctx
}

/// The one Int64 the query answers, or its error text.
async fn one(ctx: &SessionContext, sql: &str) -> Result<i64, String> {
    let df = ctx.sql(sql).await.map_err(|e| e.to_string())?;
    let b = df.collect().await.map_err(|e| e.to_string())?;
    let col = arrow::compute::cast(b[0].column(0), &DataType::Int64).map_err(|e| e.to_string())?;
    Ok(col
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("int64")
        .value(0))
}

#[tokio::test]
async fn allocating_functions_refuse_huge_calls_and_answer_normal_ones() {
    let ctx = ctx();
    for sql in [
        "SELECT length(repeat('x', 2147483647))",
        "SELECT sum(length(repeat(s, 100000))) FROM t",
        "SELECT cardinality(range(1, 100000000))",
        "SELECT cardinality(generate_series(1, 100000000))",
        "SELECT length(lpad('a', 2000000000))",
        "SELECT length(rpad(s, 100000000)) FROM t LIMIT 1",
        "SELECT length(replace(repeat('a', 1000000), 'a', repeat('b', 1000)))",
        "SELECT length(regexp_replace(repeat('a', 100000), 'a*', repeat('b', 10000), 'g'))",
        "SELECT cardinality(array_repeat('x', 100000000))",
        "SELECT cardinality(array_resize(make_array(1), 100000000))",
        // Constants are repeated on every row: 2 MB is 16 GB over one batch.
        "SELECT repeat('ab', 1000000) FROM t LIMIT 5",
        "SELECT length(repeat('ab', 10000000))",
        // Dates and timestamps step by intervals: sized in the bounds' own unit.
        "SELECT cardinality(range(DATE '0001-01-01', DATE '9999-12-31', INTERVAL '1 day'))",
        "SELECT cardinality(range(TIMESTAMP '2000-01-01 00:00:00', TIMESTAMP '2026-01-01 00:00:00', INTERVAL '1 second'))",
        "SELECT cardinality(generate_series(TIMESTAMP '1970-01-01 00:00:00', TIMESTAMP '2100-01-01 00:00:00', INTERVAL '1 minute'))",
    ] {
        let e = one(&ctx, sql).await.expect_err(sql);
        assert!(
            e.contains("Resources exhausted") && e.contains("MiB"),
            "{sql}: {e}"
        );
    }
    for (sql, want) in [
        ("SELECT length(repeat('ab', 1000))", 2_000),
        ("SELECT sum(length(repeat(s, 10))) FROM t", 2_000_000),
        ("SELECT cardinality(range(1, 1001))", 1_000),
        ("SELECT cardinality(generate_series(1, 1000))", 1_000),
        ("SELECT length(lpad('a', 30))", 30),
        (
            "SELECT length(replace(s, '0', 'xy')) FROM t WHERE s = '00000000000000000001'",
            39,
        ),
        ("SELECT cardinality(array_repeat('x', 1000))", 1_000),
        (
            "SELECT cardinality(range(DATE '2026-01-01', DATE '2026-12-31', INTERVAL '1 day'))",
            364,
        ),
        (
            "SELECT cardinality(generate_series(DATE '2026-01-01', DATE '2026-12-01', INTERVAL '1 month'))",
            12,
        ),
        (
            "SELECT cardinality(range(TIMESTAMP '2026-11-01 00:00:00', TIMESTAMP '2026-11-02 00:00:00', INTERVAL '1 hour'))",
            24,
        ),
    ] {
        assert_eq!(one(&ctx, sql).await, Ok(want), "{sql}");
    }
}
