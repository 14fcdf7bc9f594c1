//! The conformance suite every connector runs, whatever it is written in (Rust stream or
//! declarative manifest). Each connector's tests call [`check`] against its simulator.
//!
//! What it proves:
//! 1. **Schema**: the tables a stream declares are canonical, and every batch it emits fits
//!    its table exactly (no unknown columns, lossless types, required columns filled).
//! 2. **Cursors only move forward**: across windows of one run and across runs.
//! 3. **An empty page ends a window**: a window with no records costs one page and no rows.
//! 4. **Throttling backs off**: with throttling answers injected, the sync still completes
//!    and the client reports having waited.
//! 5. **Re-reading is idempotent**: re-reading from the checkpoint, and a full re-read, leave
//!    the same rows (same counts and same content).
//! 6. **Canonical values**: every column the schema documents as a list of words (platform,
//!    payment channel, status…) holds only those words in the lake after a sync.

use std::sync::{Arc, Mutex};

use chrono::NaiveDateTime;
use connectors::stream::Stream;
use warehouse::{LakeConfig, Warehouse};

use super::engine::{SyncOptions, cursor, sync_stream};
use crate::error::{PipelineError, Result};

/// What a connector's test hands the suite.
pub struct Target<'a> {
    /// The connector name to use for cursors.
    pub connector: &'a str,
    pub stream: Arc<dyn Stream>,
    /// A range holding records.
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
    /// A window length that cuts the range into several windows (≤ the stream's maximum).
    pub window: std::time::Duration,
    /// A range in which the platform has no records.
    pub empty_from: NaiveDateTime,
    pub empty_to: NaiveDateTime,
    /// Makes the platform answer the next few calls with its throttling response.
    pub throttle: &'a (dyn Fn() + Sync),
}

impl std::fmt::Debug for Target<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("connector", &self.connector)
            .field("stream", &self.stream.name())
            .finish_non_exhaustive()
    }
}

/// The suite's findings, for the caller to print.
#[derive(Debug, Default)]
pub struct Report {
    pub rows: u64,
    pub windows: u64,
    pub checks: Vec<&'static str>,
}

fn fail(what: &str, detail: impl std::fmt::Display) -> PipelineError {
    PipelineError::Internal(format!("conformance: {what}: {detail}"))
}

/// Every row of every table the stream writes, as sorted digests: equal fingerprints mean
/// the same rows with the same content.
async fn fingerprint(wh: &Warehouse, stream: &dyn Stream) -> Result<Vec<(String, Vec<String>)>> {
    use arrow::array::{Array, AsArray};
    let mut out = Vec::new();
    for t in stream.tables().all() {
        let def = wh.def(&t)?;
        let cols: Vec<String> = def
            .columns
            .iter()
            .map(|c| format!("coalesce(cast({} as varchar), '<null>')", c.name))
            .collect();
        let sql = format!(
            "select md5(concat_ws('|', {})) as h from {t}",
            cols.join(", ")
        );
        let mut digests = Vec::new();
        for b in wh.query(&sql).await? {
            let col = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8)
                .map_err(|e| fail("fingerprint", e))?;
            let col = col.as_string::<i32>();
            digests.extend(
                (0..col.len())
                    .filter(|&i| col.is_valid(i))
                    .map(|i| col.value(i).to_string()),
            );
        }
        digests.sort();
        out.push((t, digests));
    }
    Ok(out)
}

/// Values outside the schema's word lists in the tables the stream wrote, as
/// `table.column = value` (empty when all are canonical).
async fn off_schema_values(wh: &Warehouse, stream: &dyn Stream) -> Result<Vec<String>> {
    use arrow::array::{Array, AsArray};
    let mut out = Vec::new();
    for t in stream.tables().all() {
        let def = wh.def(&t)?;
        for c in def.columns {
            let Some(words) = crate::import::rules::one_of(def.name, c.name) else {
                continue;
            };
            let sql = format!(
                "select distinct cast({col} as varchar) as v from {t} where {col} is not null",
                col = c.name
            );
            for b in wh.query(&sql).await? {
                let col = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8)
                    .map_err(|e| fail("canonical values", e))?;
                let col = col.as_string::<i32>();
                for i in (0..col.len()).filter(|&i| col.is_valid(i)) {
                    if !words.contains(&col.value(i)) {
                        out.push(format!("{t}.{} = {:?}", c.name, col.value(i)));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Runs every check on a fresh temporary lake.
pub async fn check(target: &Target<'_>) -> Result<Report> {
    let dir = tempfile_dir()?;
    let wh = Warehouse::open(&LakeConfig {
        url: dir.path().display().to_string(),
        ..Default::default()
    })
    .await?;
    let s = target.stream.as_ref();
    let arc = &target.stream;
    let mut report = Report::default();

    // 1. Declared tables are canonical; emitted batches fit them.
    let tables = s.tables();
    if tables.main.is_empty() {
        return Err(fail("schema", "the stream declares no main table"));
    }
    for t in &tables.all() {
        wh.def(t)
            .map_err(|e| fail("schema", format!("declared table {t}: {e}")))?;
    }
    // The first window that holds records (following pages: some platforms answer a first
    // call with the total only, as TOP's backward paging does).
    let step = chrono::Duration::from_std(target.window).unwrap_or_default();
    let mut begin = target.from;
    let mut first = connectors::stream::RawPage::default();
    while first.rows.is_empty() && begin < target.to {
        let end = (begin + step).min(target.to);
        first = s.page(begin, end, None).await?;
        while first.rows.is_empty()
            && let Some(next) = first.next.clone()
        {
            first = s.page(begin, end, Some(&next)).await?;
        }
        begin = end;
    }
    if first.rows.is_empty() {
        return Err(fail("schema", "the range given holds no records"));
    }
    let mapped = s.map(&first.rows)?;
    for rows in &mapped.tables {
        if !tables.contains(&rows.table) {
            return Err(fail(
                "schema",
                format!("map() emitted table {} not in tables()", rows.table),
            ));
        }
        let def = wh.def(&rows.table)?;
        warehouse::conform(def, &rows.batch).map_err(|e| fail("schema", e))?;
    }
    if !mapped.tables.iter().any(|t| t.table == tables.main) {
        return Err(fail(
            "schema",
            format!("map() emitted no rows for the main table {}", tables.main),
        ));
    }
    report.checks.push("schema");

    // 2. Cursors move forward, window by window and run by run.
    let opts = SyncOptions {
        window: Some(target.window),
        ..SyncOptions::new(target.from, target.to)
    };
    let seen = Mutex::new(Vec::new());
    let r = sync_stream(&wh, target.connector, arc, &opts, &|r| {
        if let Some(c) = r.cursor
            && let Ok(mut v) = seen.lock()
        {
            v.push(c);
        }
    })
    .await?;
    let seen = seen.into_inner().unwrap_or_default();
    if seen.windows(2).any(|w| w[1] < w[0]) {
        return Err(fail("cursor", format!("moved backwards: {seen:?}")));
    }
    let c1 = cursor(&wh, target.connector, s).await?;
    if c1 != Some(target.to) {
        return Err(fail(
            "cursor",
            format!("ended at {c1:?}, not {}", target.to),
        ));
    }
    report.rows = r.rows.values().sum();
    report.windows = r.windows;

    // 6. Enum columns hold the schema's words only.
    let off = off_schema_values(&wh, s).await?;
    if !off.is_empty() {
        return Err(fail(
            "canonical values",
            format!("outside the schema's lists: {}", off.join(", ")),
        ));
    }
    report.checks.push("enum columns hold schema values");
    let after_first = fingerprint(&wh, s).await?;
    sync_stream(&wh, target.connector, arc, &opts, &|_| {}).await?;
    let c2 = cursor(&wh, target.connector, s).await?;
    if c2 < c1 {
        return Err(fail(
            "cursor",
            format!("a re-run moved it back: {c1:?} → {c2:?}"),
        ));
    }
    report.checks.push("cursor moves forward");

    // 5. Re-reading from the checkpoint and a full re-read are idempotent.
    if fingerprint(&wh, s).await? != after_first {
        return Err(fail(
            "idempotence",
            "re-reading from the checkpoint changed rows",
        ));
    }
    let full = SyncOptions {
        full: true,
        ..opts.clone()
    };
    sync_stream(&wh, target.connector, arc, &full, &|_| {}).await?;
    if fingerprint(&wh, s).await? != after_first {
        return Err(fail("idempotence", "a full re-read changed rows"));
    }
    report.checks.push("re-reading is idempotent");

    // 3. An empty window costs one page and writes no rows.
    if s.max_window().is_some() {
        let empty = SyncOptions {
            full: true,
            window: None,
            ..SyncOptions::new(target.empty_from, target.empty_to)
        };
        let e = sync_stream(&wh, "conformance-empty", arc, &empty, &|_| {}).await?;
        if e.pages != e.windows || e.records != 0 {
            return Err(fail(
                "empty page",
                format!(
                    "{} window(s) of nothing took {} page(s) and {} record(s)",
                    e.windows, e.pages, e.records
                ),
            ));
        }
        report.checks.push("an empty page ends the window");
    }

    // 4. Throttling answers are waited out, not fatal.
    let before = s.stats();
    (target.throttle)();
    sync_stream(&wh, target.connector, arc, &full, &|_| {}).await?;
    let after = s.stats();
    if after.retries <= before.retries && after.throttle_wait <= before.throttle_wait {
        return Err(fail(
            "throttling",
            "throttling answers were injected but the client neither retried nor waited",
        ));
    }
    if fingerprint(&wh, s).await? != after_first {
        return Err(fail("throttling", "a throttled re-read changed rows"));
    }
    report.checks.push("throttling backs off");
    Ok(report)
}

fn tempfile_dir() -> Result<TempDir> {
    let base = std::env::temp_dir().join(format!(
        "zhongtai-conformance-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&base).map_err(|e| fail("temp dir", e))?;
    Ok(TempDir(base))
}

/// A folder removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
