use std::sync::Arc;

use arrow::array::{Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use datafusion::prelude::SessionContext;
use deltalake::writer::DeltaWriter;

use super::*;
use crate::LakeConfig;

mod commit_rule;
mod ownership;

fn lines(rows: &[(&str, &str, i64)]) -> RecordBatch {
    lines_of("t", rows)
}

fn lines_of(owner: &str, rows: &[(&str, &str, i64)]) -> RecordBatch {
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
            Arc::new(StringArray::from(vec![owner; rows.len()])),
        ],
    )
    .expect("batch")
}

/// An empty lake in a temporary folder (kept while the folder guard lives).
async fn lake() -> (tempfile::TempDir, Warehouse) {
    let dir = tempfile::tempdir().expect("tmp");
    let wh = Warehouse::open(&LakeConfig {
        url: dir.path().display().to_string(),
        ..Default::default()
    })
    .await
    .expect("lake");
    (dir, wh)
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
    let (_dir, wh) = lake().await;
    let w = || wh.write("purchase_order_lines", Owner::source("t"));
    // One commit (one file) per row, as a sync leaves it.
    for row in [
        ("A1", "A", 1),
        ("A2", "A", 2),
        ("B1", "B", 3),
        ("C1", "C", 4),
    ] {
        w().upsert(&[lines(&[row])]).await.expect("seed");
    }
    // A now has only A1 (changed), B has no lines at all, C is not re-read.
    let groups = vec!["A".to_string(), "B".to_string()];
    w().replace_children_of(&groups, &[lines(&[("A1", "A", 5)])])
        .await
        .expect("replace");
    assert_eq!(ids(&wh).await, vec!["A1", "C1"]);
    // Quotes in group values are escaped, not injected.
    let odd = vec!["x' OR '1'='1".to_string()];
    w().replace_children_of(&odd, &[]).await.expect("odd");
    assert_eq!(ids(&wh).await, vec!["A1", "C1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_of_one_table_in_a_process_all_commit() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = LakeConfig {
        url: dir.path().display().to_string(),
        ..Default::default()
    };
    let wh = Warehouse::open(&cfg).await.expect("lake");
    // A second handle on the same lake must take turns with the first.
    let other = Warehouse::open(&cfg).await.expect("second handle");
    wh.write("purchase_order_lines", Owner::source("t"))
        .upsert(&[lines(&[("X0", "X", 1)])])
        .await
        .expect("seed");
    let mut tasks = Vec::new();
    for i in 0..16 {
        let w = if i % 2 == 0 {
            wh.clone()
        } else {
            other.clone()
        };
        tasks.push(tokio::spawn(async move {
            let id = format!("X{}", i + 1);
            // Most merge and also change the row every merge touches (so their commits rewrite
            // the same file); the rest append. All race for the same next version.
            if i % 4 < 3 {
                let rows = [(id.as_str(), "X", 1), ("X0", "X", i + 2)];
                w.write("purchase_order_lines", Owner::source("t"))
                    .upsert(&[lines(&rows)])
                    .await
            } else {
                w.write("purchase_order_lines", Owner::source("t"))
                    .append(&[lines(&[(&id, "X", 1)])])
                    .await
            }
        }));
    }
    for t in tasks {
        t.await
            .expect("task")
            .expect("every concurrent write commits");
    }
    let got = ids(&wh).await;
    let mut want: Vec<String> = (0..17).map(|i| format!("X{i}")).collect();
    want.sort();
    assert_eq!(got, want);
}

#[tokio::test]
async fn the_table_cache_sees_this_process_writes_at_once_and_others_after_max_age() {
    let (_dir, wh) = lake().await;
    let t = "purchase_order_lines";
    let lazy = crate::TableCache::new(wh.clone(), std::time::Duration::from_secs(3600));
    let eager = crate::TableCache::new(wh.clone(), std::time::Duration::ZERO);
    let v0 = lazy.table(t).await.expect("load").version();
    assert_eq!(eager.table(t).await.expect("load").version(), v0);
    // A write through the warehouse shows at once, however long max_age is.
    wh.write(t, Owner::source("t"))
        .upsert(&[lines(&[("L1", "P", 1)])])
        .await
        .expect("write");
    let v1 = lazy.table(t).await.expect("refresh").version();
    assert!(v1 > v0, "a write made here must be seen at once");
    // A commit the lock never saw (another process) waits for max_age.
    let mut raw = wh.table(t).await.expect("raw handle");
    let mut w = deltalake::writer::RecordBatchWriter::for_table(&raw).expect("writer");
    let def = wh.def(t).expect("def");
    w.write(crate::conform(def, &lines(&[("L2", "P", 2)])).expect("conform"))
        .await
        .expect("write");
    w.flush_and_commit(&mut raw).await.expect("commit");
    assert_eq!(lazy.table(t).await.expect("cached").version(), v1);
    assert_eq!(
        eager.table(t).await.expect("fresh").version(),
        raw.version()
    );
    // What the cache registers is what queries read.
    let ctx = SessionContext::new();
    eager.register_all(&ctx).await.expect("register");
    let n = ctx
        .sql("select count(*) from purchase_order_lines")
        .await
        .expect("plan")
        .collect()
        .await
        .expect("run");
    use arrow::array::AsArray;
    let n = n[0]
        .column(0)
        .as_primitive::<arrow::datatypes::Int64Type>()
        .value(0);
    assert_eq!(n, 2);
}
