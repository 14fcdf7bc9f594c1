//! Records a stream cannot map, or that have no key, are set aside in `quarantined_records`
//! while the rest of their stream lands; past the cap the stream fails as before; a window
//! read twice logs each record once in `raw_records`.

use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::StringArray;
use connectors::stream::{BoxFuture, StreamTables, TableRows};

use super::*;

/// Orders 13 and 37 carry an amount that is not one: their mapping names the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_orders_of_fifty_that_fail_mapping_are_quarantined_and_the_rest_land() {
    let mut docs = world(50);
    for d in &mut docs {
        if d["o_id"] == 13 || d["o_id"] == 37 {
            d["pay_amount"] = json!("12,3O");
        }
    }
    let (sim, _dir, wh) = setup(&docs, Vec::new()).await;
    let c = client(&sim);
    let r = sync_orders(&wh, &c, &opts(21, false), &|_| {})
        .await
        .expect("the stream completes");
    assert_eq!(r.quarantined, 2, "{r:?}");
    assert_eq!(r.quarantine_samples.len(), 2, "{r:?}");
    assert_eq!(
        (count(&wh, "orders").await, count(&wh, "order_items").await),
        (48, 96)
    );
    let good: Vec<Value> = docs
        .iter()
        .filter(|d| d["o_id"] != 13 && d["o_id"] != 37)
        .cloned()
        .collect();
    assert_eq!(lake_totals(&wh).await, expected(&good));
    let q = rows(
        &wh,
        "select record_key, reason, stream, connector, payload from quarantined_records order by record_key",
    )
    .await;
    assert_eq!(q.len(), 2, "{q:?}");
    for (row, id) in q.iter().zip(["13", "37"]) {
        assert_eq!(row[0], id);
        assert!(row[1].contains("`pay_amount`"), "{row:?}");
        assert_eq!((row[2].as_str(), row[3].as_str()), ("orders", CONNECTOR));
        assert!(row[4].contains("12,3O"), "{row:?}");
    }
    // The cursor moved past every window, and the raw log still holds every record.
    assert_eq!(
        orders_cursor(&wh, &c).await,
        Some(day0() + chrono::Duration::days(21))
    );
    assert_eq!(count(&wh, "raw_records").await, 50);
}

/// A stream of shops built from `{"id", "name", "modified", "v"}` records: a record without
/// `name` fails mapping, naming itself (or, with `identify` off, naming no record at all).
#[derive(Debug)]
struct Shops {
    records: Vec<Value>,
    /// Whether a mapping error names the record's key.
    identify: bool,
    /// Whether each window is paged twice (a verification pass re-emitting its records).
    twice: bool,
    windowed: bool,
    maps: AtomicUsize,
}

impl Shops {
    fn new(records: Vec<Value>) -> Self {
        Self {
            records,
            identify: true,
            twice: false,
            windowed: true,
            maps: AtomicUsize::new(0),
        }
    }
}

fn shop(id: i64, minute: i64) -> Value {
    let at = day0() + chrono::Duration::minutes(minute);
    json!({"id": id, "name": format!("店铺{id}"), "modified": at.format("%Y-%m-%d %H:%M:%S").to_string(), "v": 1})
}

impl connectors::stream::Stream for Shops {
    fn name(&self) -> &str {
        "fake-shops"
    }

    fn tables(&self) -> StreamTables {
        StreamTables::one("shops")
    }

    fn max_window(&self) -> Option<Duration> {
        self.windowed.then(|| Duration::from_secs(24 * 3600))
    }

    fn page<'a>(
        &'a self,
        begin: NaiveDateTime,
        end: NaiveDateTime,
        next: Option<&'a str>,
    ) -> BoxFuture<'a, std::result::Result<RawPage, StreamError>> {
        Box::pin(async move {
            let mut rows: Vec<Value> = self
                .records
                .iter()
                .filter(|r| {
                    let m = NaiveDateTime::parse_from_str(
                        r["modified"].as_str().expect("modified"),
                        "%Y-%m-%d %H:%M:%S",
                    )
                    .expect("time");
                    !self.windowed || (begin <= m && m < end)
                })
                .cloned()
                .collect();
            if self.twice {
                rows.extend(rows.clone());
            }
            let from: usize = next.map_or(0, |n| n.parse().expect("offset"));
            let to = (from + 10).min(rows.len());
            Ok(RawPage {
                rows: rows[from..to].to_vec(),
                next: (to < rows.len()).then(|| to.to_string()),
            })
        })
    }

    fn record_key(&self, record: &Value) -> Option<String> {
        record["id"].as_i64().map(|i| i.to_string())
    }

    fn record_version(&self, record: &Value) -> i64 {
        record["v"].as_i64().unwrap_or(0)
    }

    fn map(&self, records: &[Value]) -> std::result::Result<Mapped, StreamError> {
        self.maps.fetch_add(1, Ordering::Relaxed);
        let mut ids = Vec::new();
        let mut names = Vec::new();
        for r in records {
            let id = self.record_key(r).unwrap_or_else(|| "?".into());
            let Some(name) = r["name"].as_str() else {
                return Err(StreamError::Record {
                    stream: "fake-shops".into(),
                    record: if self.identify {
                        id.clone()
                    } else {
                        "?".into()
                    },
                    message: format!("fake shop {id}: field `name`: is missing"),
                });
            };
            ids.push(format!("fake:{id}"));
            names.push(name.to_string());
        }
        let n = ids.len();
        let text = |v: Vec<String>| Arc::new(StringArray::from(v)) as Arc<dyn Array>;
        let batch = RecordBatch::try_from_iter([
            ("shop_id", text(ids)),
            ("platform", text(vec!["internal".into(); n])),
            ("name", text(names)),
            ("source", text(vec!["fake".into(); n])),
        ])
        .expect("batch");
        Ok(Mapped {
            tables: vec![TableRows {
                table: "shops".into(),
                batch,
                replace: None,
            }],
        })
    }

    fn stats(&self) -> StreamStats {
        StreamStats::default()
    }
}

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

/// Every row of `sql`, each column as text.
async fn rows(wh: &Warehouse, sql: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for b in wh.query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}")) {
        let cols: Vec<_> = (0..b.num_columns())
            .map(|i| {
                arrow::compute::cast(b.column(i), &arrow::datatypes::DataType::Utf8).expect("text")
            })
            .collect();
        for r in 0..b.num_rows() {
            out.push(
                cols.iter()
                    .map(|c| c.as_string::<i32>().value(r).to_string())
                    .collect(),
            );
        }
    }
    out
}

fn range() -> SyncOptions {
    SyncOptions::new(day0(), day0() + chrono::Duration::days(3))
}

async fn run(wh: &Warehouse, s: Shops, o: &SyncOptions) -> (Arc<Shops>, Result<SyncReport>) {
    let s = Arc::new(s);
    let dyn_s: Arc<dyn connectors::stream::Stream> = Arc::clone(&s) as _;
    let r = sync_stream(wh, "fake", &dyn_s, o, &|_| {}).await;
    (s, r)
}

async fn shops_cursor(wh: &Warehouse) -> Option<NaiveDateTime> {
    cursor(wh, "fake", &Shops::new(Vec::new()))
        .await
        .expect("cursor")
}

/// 50 shops over three days, shops 7 and 41 without a name.
fn fifty() -> Vec<Value> {
    (1..=50)
        .map(|i| {
            let mut r = shop(i, i * 80);
            if i == 7 || i == 41 {
                r.as_object_mut().expect("object").remove("name");
            }
            r
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_naming_no_record_is_bisected_to_the_bad_records_in_few_map_calls() {
    let (_dir, wh) = lake().await;
    let mut s = Shops::new(fifty());
    s.identify = false;
    // One window of 50 records, so the map calls are easy to bound.
    s.windowed = false;
    let (s, r) = run(&wh, s, &range()).await;
    let r = r.expect("the stream completes");
    assert_eq!((r.quarantined, count(&wh, "shops").await), (2, 48));
    let q = rows(
        &wh,
        "select record_key, reason from quarantined_records order by record_key",
    )
    .await;
    assert_eq!(
        q.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(),
        ["41", "7"]
    );
    assert!(q.iter().all(|r| r[1].contains("`name`")), "{q:?}");
    // Per bad record: the failing map, then two per halving of 50 (six halvings).
    let calls = s.maps.load(Ordering::Relaxed);
    assert!(calls <= 2 * (1 + 2 * 6) + 1, "{calls} map calls");
    assert_eq!(shops_cursor(&wh).await, Some(range().to));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_failures_are_quarantined_window_by_window_and_the_cursor_moves() {
    let (_dir, wh) = lake().await;
    let (_s, r) = run(&wh, Shops::new(fifty()), &range()).await;
    let r = r.expect("the stream completes");
    assert_eq!(r.windows, 3);
    assert_eq!((r.quarantined, count(&wh, "shops").await), (2, 48));
    assert_eq!(r.quarantine_samples.len(), 2);
    assert!(
        r.quarantine_samples
            .iter()
            .all(|s| s.contains("field `name`")),
        "{:?}",
        r.quarantine_samples
    );
    assert_eq!(count(&wh, "quarantined_records").await, 2);
    assert_eq!(count(&wh, "raw_records").await, 50);
    assert_eq!(shops_cursor(&wh).await, Some(range().to));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_without_an_id_is_quarantined_once_under_a_hash_of_its_payload() {
    let (_dir, wh) = lake().await;
    let mut records: Vec<Value> = (1..=20).map(|i| shop(i, i * 60)).collect();
    let mut anonymous = shop(0, 90);
    anonymous.as_object_mut().expect("object").remove("id");
    records.push(anonymous.clone());
    let mut s = Shops::new(records);
    // The window is paged twice: the record without an id is still set aside once.
    s.twice = true;
    let (_s, r) = run(&wh, s, &range()).await;
    let r = r.expect("the stream completes");
    assert_eq!((r.quarantined, count(&wh, "shops").await), (1, 20));
    let q = rows(
        &wh,
        "select record_key, reason, payload from quarantined_records",
    )
    .await;
    assert_eq!(q.len(), 1, "{q:?}");
    assert!(
        q[0][0].starts_with('?') && q[0][0].len() > 4,
        "synthetic key {}",
        q[0][0]
    );
    assert!(q[0][1].contains("has no id"), "{q:?}");
    assert_eq!(q[0][2], anonymous.to_string());
    let raw = rows(
        &wh,
        "select record_key from raw_records where record_key like '?%'",
    )
    .await;
    assert_eq!(raw, vec![vec![q[0][0].clone()]]);
    assert_eq!(shops_cursor(&wh).await, Some(range().to));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_bad_records_than_the_cap_fail_the_stream_and_write_nothing() {
    assert_eq!(crate::sync::quarantine_cap(1_000), 100);
    assert_eq!(crate::sync::quarantine_cap(5_000), 500);
    let (_dir, wh) = lake().await;
    let records: Vec<Value> = (1..=1_000)
        .map(|i| {
            let mut r = shop(i, 30);
            if i % 7 == 0 {
                r.as_object_mut().expect("object").remove("name");
            }
            r
        })
        .collect();
    let (_s, r) = run(&wh, Shops::new(records), &range()).await;
    let e = r
        .expect_err("142 of 1000 bad records is systemic")
        .to_string();
    assert!(
        e.contains("systemic") && e.contains("fake-shops") && e.contains("more than the 100"),
        "{e}"
    );
    assert_eq!(count(&wh, "shops").await, 0);
    assert_eq!(count(&wh, "quarantined_records").await, 0);
    assert_eq!(shops_cursor(&wh).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_read_twice_logs_each_record_once_in_raw_records() {
    let (_dir, wh) = lake().await;
    let mut records: Vec<Value> = (1..=30).map(|i| shop(i, i * 100)).collect();
    // Shop 3 changes while the window is read: both versions are logged, once each.
    let mut newer = shop(3, 300);
    newer["v"] = json!(2);
    newer["name"] = json!("改名");
    records.push(newer);
    let mut s = Shops::new(records);
    s.twice = true;
    let (_s, r) = run(&wh, s, &range()).await;
    let r = r.expect("sync");
    assert_eq!(r.records, 62, "every record arrived twice");
    assert_eq!(count(&wh, "raw_records").await, 31);
    assert_eq!(count(&wh, "shops").await, 30);
    let name = rows(&wh, "select name from shops where shop_id = 'fake:3'").await;
    assert_eq!(name, vec![vec!["改名".to_string()]]);
}
