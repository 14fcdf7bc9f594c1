//! The incremental sync engine: any [`Stream`] into the lake, exactly once.
//!
//! The range `[from, to)` (Asia/Shanghai wall-clock) is cut into windows no longer than the
//! stream allows. Each window is paged completely; records are de-duplicated by key (the
//! highest version wins: a record modified while paging can appear twice) and written child
//! tables first. The stream's main table's commit also records the cursor (the end of the
//! window, as Unix seconds) as a Delta app transaction, so data and cursor land together or
//! not at all. A crash before that commit leaves the cursor behind: the next run reads the
//! window again and writes the same rows again, which upserts make harmless. Windows without
//! records commit nothing of their own: their cursor moves are batched
//! ([`EMPTY_WINDOWS_PER_COMMIT`]).
//!
//! Writes are cheap when they can be: the engine keeps, per table, the set of keys (or
//! groups) its source already has in the lake. Rows with only new keys are appended; a batch
//! touching an existing key goes through a MERGE (upsert or replace-groups).
//!
//! An incremental run starts at the cursor minus [`OVERLAP`], so late writes near the boundary
//! are read again. Large windows are flushed every `flush_rows` records without moving the
//! cursor. Every fetched record is also appended to `raw_records` (unless turned off), once
//! per key and version in a window, however often the window's pages repeat it.
//!
//! A record the stream cannot map, or that has no key, does not stop its stream: it is set
//! aside in `quarantined_records` in the same flush (see `sync::quarantine`) and counted in
//! [`SyncReport::quarantined`]; too many in one flush still fail the stream.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{Array, AsArray, RecordBatch};
use chrono::NaiveDateTime;
use connectors::stream::{Mapped, RawPage, Stream, StreamError, StreamStats};
use serde_json::Value;
use warehouse::Warehouse;

use super::quarantine::{self, Bad};
use super::writer::{Flush, Writer};

use crate::error::{PipelineError, Result};

/// Records buffered before a flush inside a window.
pub const FLUSH_ROWS: usize = 20_000;
/// How far before the cursor an incremental run starts again.
pub const OVERLAP: Duration = Duration::from_secs(600);

/// What to sync.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Start of the range (Shanghai wall-clock); an incremental run starts at the cursor instead.
    pub from: NaiveDateTime,
    /// End of the range (exclusive).
    pub to: NaiveDateTime,
    /// Ignore the cursor and read `[from, to)` again.
    pub full: bool,
    /// Window length; `None` for the stream's longest.
    pub window: Option<Duration>,
    /// Records buffered before a flush (the cursor moves only at window ends).
    pub flush_rows: usize,
    /// Append every fetched record to `raw_records`.
    pub keep_raw: bool,
    /// Windows fetched at once (the client's pacer still bounds the request rate).
    pub fetch_windows: usize,
}

impl SyncOptions {
    /// `[from, to)` with the defaults: longest windows, raw records kept.
    pub fn new(from: NaiveDateTime, to: NaiveDateTime) -> Self {
        Self {
            from,
            to,
            full: false,
            window: None,
            flush_rows: FLUSH_ROWS,
            keep_raw: true,
            fetch_windows: 2,
        }
    }
}

/// What a sync did.
#[derive(Debug, Default, Clone)]
pub struct SyncReport {
    pub stream: String,
    pub windows: u64,
    pub total_windows: u64,
    pub pages: u64,
    /// Records received (before de-duplication).
    pub records: u64,
    /// Rows written per table.
    pub rows: HashMap<String, u64>,
    /// Rows written by appending (new keys) and by MERGE (some key existed).
    pub appended: u64,
    pub merged: u64,
    /// Rows not written because another owner (an entry form, an import) holds their key.
    pub skipped: u64,
    /// Records set aside in `quarantined_records` (unmappable, or without a key).
    pub quarantined: u64,
    /// The first few reasons records were set aside (at most five).
    pub quarantine_samples: Vec<String>,
    pub started_at: Option<NaiveDateTime>,
    pub cursor: Option<NaiveDateTime>,
    /// Windows that held no records (their cursor moves are committed in batches).
    pub empty_windows: u64,
    /// Commits made only to move the cursor past empty windows.
    pub cursor_commits: u64,
    pub elapsed: Duration,
    pub client: StreamStats,
}

impl SyncReport {
    /// Rows written to `table`.
    pub fn rows_in(&self, table: &str) -> u64 {
        self.rows.get(table).copied().unwrap_or(0)
    }
}

/// The app-transaction id under which a connector's stream cursor is stored.
pub fn cursor_id(connector: &str, stream: &str) -> String {
    vocab::ids::sync_cursor_app_id(connector, stream)
}

pub(crate) fn to_unix(t: NaiveDateTime) -> i64 {
    vocab::time::from_local(t).map_or(0, |d| d.timestamp())
}

pub(crate) fn from_unix(secs: i64) -> Option<NaiveDateTime> {
    chrono::DateTime::from_timestamp(secs, 0).map(vocab::time::to_local)
}

/// The committed cursor of a connector's stream, if any.
pub async fn cursor(
    wh: &Warehouse,
    connector: &str,
    stream: &dyn Stream,
) -> Result<Option<NaiveDateTime>> {
    Ok(wh
        .app_version(&stream.tables().main, &cursor_id(connector, stream.name()))
        .await?
        .and_then(from_unix))
}

/// Runs the sync of one stream; `progress` is called after each page with the report so far.
///
/// Up to `opts.fetch_windows` windows are fetched at once by their own tasks (the client's
/// pacer keeps them all inside the platform's rate budget), each a few pages ahead of the
/// writer; windows are still written and committed strictly in order.
pub async fn sync_stream(
    wh: &Warehouse,
    connector: &str,
    stream: &Arc<dyn Stream>,
    opts: &SyncOptions,
    progress: &(dyn Fn(&SyncReport) + Sync),
) -> Result<SyncReport> {
    let started = Instant::now();
    let base_stats = stream.stats();
    let window = match (stream.max_window(), opts.window) {
        (None, _) => None,
        (Some(max), None) => Some(max),
        (Some(max), Some(w)) if !w.is_zero() && w <= max => Some(w),
        (Some(max), Some(w)) => {
            return Err(PipelineError::Internal(format!(
                "stream {}: the window must be between 1 second and {} s, not {} s",
                stream.name(),
                max.as_secs(),
                w.as_secs()
            )));
        }
    };
    let mut start = opts.from;
    if !opts.full
        && window.is_some()
        && let Some(c) = cursor(wh, connector, stream.as_ref()).await?
    {
        start = start.max(c - chrono::Duration::from_std(OVERLAP).unwrap_or_default());
    }
    let mut run = Run {
        connector,
        stream: stream.as_ref(),
        opts,
        idle: Some(Writer::new(wh, connector, stream.as_ref())),
        pending: None,
        report: SyncReport {
            stream: stream.name().to_string(),
            started_at: Some(start),
            ..Default::default()
        },
        started,
        base_stats,
        progress,
        deferred: None,
        carry: None,
    };
    let windows: Vec<(NaiveDateTime, NaiveDateTime)> = match window {
        None => vec![(opts.from, opts.to)],
        Some(w) => {
            let w = chrono::Duration::from_std(w).unwrap_or_default();
            let mut out = Vec::new();
            while start < opts.to {
                let end = (start + w).min(opts.to);
                out.push((start, end));
                start = end;
            }
            out
        }
    };
    run.report.total_windows = windows.len() as u64;
    let mut queue = windows.into_iter();
    let mut fetching: VecDeque<Fetcher> = VecDeque::new();
    loop {
        while fetching.len() < opts.fetch_windows.max(1)
            && let Some((b, e)) = queue.next()
        {
            fetching.push_back(Fetcher::start(Arc::clone(stream), b, e));
        }
        let Some(f) = fetching.pop_front() else {
            break;
        };
        if let Err(e) = run.window(f).await {
            // The windows read before the failure are complete: commit them.
            if let Err(e2) = run.finish().await {
                tracing::warn!(stream = stream.name(), error = %e2, "committing the windows before a failure");
            }
            return Err(e);
        }
    }
    run.finish().await?;
    run.report.elapsed = started.elapsed();
    run.report.client = stream.stats().since(&run.base_stats);
    Ok(run.report)
}

struct Run<'a> {
    connector: &'a str,
    stream: &'a dyn Stream,
    opts: &'a SyncOptions,
    /// The writer while no flush is being written.
    idle: Option<Writer>,
    /// The flush being written.
    pending: Option<AbortOnDrop>,
    report: SyncReport,
    started: Instant,
    base_stats: StreamStats,
    progress: &'a (dyn Fn(&SyncReport) + Sync),
    /// The cursor past empty windows, not committed yet (see [`EMPTY_WINDOWS_PER_COMMIT`]).
    deferred: Option<Deferred>,
    /// Complete windows with records, held while the writer is busy (see [`Carry`]).
    carry: Option<Carry>,
}

/// Windows with records coalesce: while the previous flush is still being committed, a
/// complete window's records wait here and join the next window's flush, so a backfill of
/// many small windows commits as fast as the lake allows and no slower than the API: one
/// commit per window when commits are quick, a commit per several windows when they are
/// not. A carry is committed once the writer is free, once it holds `flush_rows` records,
/// after [`CARRY_MAX_AGE`], before a window's own mid-window flush, at the end of the run
/// and before a failure is returned. A crash loses only the carried cursor move: the next
/// run reads those windows again.
struct Carry {
    buffer: HashMap<String, Buffered>,
    raw: Vec<(String, i64, String)>,
    keyless: HashMap<String, Bad>,
    /// The end of the last window carried (Unix seconds).
    cursor: i64,
    since: Instant,
}

/// The longest complete windows wait in a [`Carry`] for the writer.
pub const CARRY_MAX_AGE: Duration = Duration::from_secs(10);

/// Empty windows move the cursor in memory; it is committed with the next window that holds
/// records, at the end of the run, or after this many empty windows (or
/// [`EMPTY_WINDOWS_MAX_AGE`]) in a row, so a two-year backfill of a quiet shop makes a few
/// dozen cursor commits instead of one per day. A crash loses only the deferred moves: the
/// next run reads those empty windows again.
pub const EMPTY_WINDOWS_PER_COMMIT: usize = 96;
/// The longest a cursor past empty windows waits before it is committed.
pub const EMPTY_WINDOWS_MAX_AGE: Duration = Duration::from_secs(30);

struct Deferred {
    cursor: i64,
    windows: usize,
    since: Instant,
}

/// A write task that dies with the sync that started it (a cancelled sync must not leave a
/// writer running beside the next one).
struct AbortOnDrop(tokio::task::JoinHandle<Result<Writer>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Buffered {
    record: Value,
    version: i64,
}

/// Pages of one window, fetched by their own task a few pages ahead of the writer.
struct Fetcher {
    start: NaiveDateTime,
    end: NaiveDateTime,
    pages: tokio::sync::mpsc::Receiver<Result<RawPage, StreamError>>,
    task: tokio::task::JoinHandle<()>,
}

/// Pages a fetcher may read ahead of the writer.
const READ_AHEAD: usize = 4;

impl Fetcher {
    fn start(stream: Arc<dyn Stream>, start: NaiveDateTime, end: NaiveDateTime) -> Self {
        let (tx, pages) = tokio::sync::mpsc::channel(READ_AHEAD);
        let task = tokio::spawn(async move {
            let mut next: Option<String> = None;
            loop {
                let page = stream.page(start, end, next.as_deref()).await;
                let more = match &page {
                    Ok(p) => p.next.clone(),
                    Err(_) => None,
                };
                if tx.send(page).await.is_err() {
                    return;
                }
                match more {
                    Some(n) => next = Some(n),
                    None => return,
                }
            }
        });
        Self {
            start,
            end,
            pages,
            task,
        }
    }
}

impl Drop for Fetcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Run<'_> {
    async fn window(&mut self, mut f: Fetcher) -> Result<()> {
        let (start, end) = (f.start, f.end);
        let mut buffer: HashMap<String, Buffered> = HashMap::new();
        let mut raw: Vec<(String, i64, String)> = Vec::new();
        // Records without a key, set aside (by their synthetic key).
        let mut keyless: HashMap<String, Bad> = HashMap::new();
        // (key, version) pairs of this window already in `raw` (hashed: a snapshot window may
        // hold many records), so a window read again (a verification pass) logs each record
        // once; and, exactly, the records without a key already set aside.
        let mut seen: HashSet<u64> = HashSet::new();
        let mut keyless_seen: HashSet<(String, i64)> = HashSet::new();
        let mut next: Option<String>;
        let mut flushed = false;
        let mut received = 0usize;
        loop {
            let page = match f.pages.recv().await {
                Some(p) => p?,
                None => {
                    return Err(PipelineError::Internal(format!(
                        "{}: the fetcher of {start}..{end} stopped early",
                        self.stream.name()
                    )));
                }
            };
            self.report.pages += 1;
            self.report.records += page.rows.len() as u64;
            received += page.rows.len();
            for record in page.rows {
                let version = self.stream.record_version(&record);
                let Some(key) = self.stream.record_key(&record) else {
                    let payload = record.to_string();
                    let key = quarantine::keyless_key(&payload);
                    if !keyless_seen.insert((key.clone(), version)) {
                        continue;
                    }
                    if self.opts.keep_raw {
                        raw.push((key.clone(), version, payload.clone()));
                    }
                    let reason = format!(
                        "{}: a record in {start}..{end} has no id",
                        self.stream.name()
                    );
                    keyless.insert(
                        key.clone(),
                        Bad {
                            key,
                            version,
                            payload,
                            reason,
                        },
                    );
                    continue;
                };
                if self.opts.keep_raw && seen.insert(identity(&key, version)) {
                    raw.push((key.clone(), version, record.to_string()));
                }
                let newer = buffer.get(&key).is_none_or(|old| old.version <= version);
                if newer {
                    buffer.insert(key, Buffered { record, version });
                }
            }
            self.tick();
            next = page.next;
            if next.is_none() {
                break;
            }
            if buffer.len() + keyless.len() >= self.opts.flush_rows.max(1) {
                self.flush_carry().await?;
                self.flush(
                    std::mem::take(&mut buffer),
                    keyless.drain().map(|(_, b)| b).collect(),
                    std::mem::take(&mut raw),
                    None,
                )
                .await?;
                flushed = true;
            }
        }
        let empty = received == 0 && !flushed;
        if empty && self.carry.is_none() {
            self.defer(to_unix(end)).await?;
        } else {
            // Rows to write: the cursor travels in their commit (past any deferred one).
            self.deferred = None;
            if empty {
                self.report.empty_windows += 1;
            }
            let since = match self.carry.take() {
                Some(c) => {
                    // The carried windows are older: a record read again here wins.
                    for (k, b) in c.buffer {
                        if buffer.get(&k).is_none_or(|new| new.version < b.version) {
                            buffer.insert(k, b);
                        }
                    }
                    raw.splice(0..0, c.raw);
                    for (k, b) in c.keyless {
                        keyless.entry(k).or_insert(b);
                    }
                    c.since
                }
                None => Instant::now(),
            };
            let busy = self.pending.as_ref().is_some_and(|p| !p.0.is_finished());
            if !flushed
                && busy
                && buffer.len() + keyless.len() < self.opts.flush_rows.max(1)
                && since.elapsed() < CARRY_MAX_AGE
            {
                self.carry = Some(Carry {
                    buffer,
                    raw,
                    keyless,
                    cursor: to_unix(end),
                    since,
                });
            } else {
                let keyless = keyless.into_values().collect();
                self.flush(buffer, keyless, raw, Some(to_unix(end))).await?;
            }
        }
        self.report.windows += 1;
        self.report.cursor = Some(end);
        self.tick();
        Ok(())
    }

    fn tick(&mut self) {
        self.report.elapsed = self.started.elapsed();
        self.report.client = self.stream.stats().since(&self.base_stats);
        (self.progress)(&self.report);
    }

    /// Maps a flush's records here, then hands the writes to a task, so the next pages are
    /// fetched and parsed while this flush is written. Writes stay strictly in order: a flush
    /// starts writing only after the previous one committed. Records the stream cannot map
    /// join `bad` (the flush's records without a key) and are written to
    /// `quarantined_records` in the same flush, before its main table.
    async fn flush(
        &mut self,
        records: HashMap<String, Buffered>,
        mut bad: Vec<Bad>,
        raw: Vec<(String, i64, String)>,
        cursor: Option<i64>,
    ) -> Result<()> {
        let now = chrono::Utc::now().timestamp_micros();
        let raw = raw_batch(self.connector, self.stream.name(), &raw, now)?;
        let total = records.len() + bad.len();
        let mut batch = quarantine::Batch {
            keys: Vec::with_capacity(records.len()),
            versions: Vec::with_capacity(records.len()),
            records: Vec::with_capacity(records.len()),
        };
        for (k, b) in records {
            batch.keys.push(k);
            batch.versions.push(b.version);
            batch.records.push(b.record);
        }
        let mapped = if total == 0 {
            Mapped::default()
        } else {
            quarantine::map_setting_aside(
                self.stream,
                self.connector,
                batch,
                &mut bad,
                quarantine::cap(total),
                total,
            )?
        };
        if !bad.is_empty() {
            tracing::warn!(
                connector = self.connector,
                stream = self.stream.name(),
                records = bad.len(),
                first = %bad[0].reason,
                "records set aside in quarantined_records"
            );
        }
        let samples = bad
            .iter()
            .take(quarantine::SAMPLES)
            .map(|b| truncate(&format!("record {}: {}", b.key, b.reason), 300).to_string())
            .collect();
        let flush = Flush {
            raw,
            quarantined: quarantine::batch(self.connector, self.stream.name(), &bad, now)?,
            samples,
            mapped,
            cursor,
        };
        let writer = self.writer().await?;
        self.pending = Some(AbortOnDrop(tokio::spawn(writer.write_flush(flush))));
        Ok(())
    }

    /// The writer, once the previous flush is committed; its counters go into the report.
    async fn writer(&mut self) -> Result<Writer> {
        let w = match self.pending.take() {
            Some(mut task) => (&mut task.0)
                .await
                .map_err(|e| PipelineError::Internal(format!("a write task failed: {e}")))??,
            None => match self.idle.take() {
                Some(w) => w,
                None => return Err(PipelineError::Internal("the writer is gone".into())),
            },
        };
        self.report.appended = w.appended;
        self.report.merged = w.merged;
        self.report.skipped = w.skipped;
        self.report.quarantined = w.quarantined;
        self.report.quarantine_samples = w.samples.clone();
        self.report.rows = w.rows.clone();
        Ok(w)
    }

    /// An empty window: the cursor moves in memory, committed alone once enough empty
    /// windows (or time) have passed.
    async fn defer(&mut self, cursor: i64) -> Result<()> {
        let d = self.deferred.get_or_insert(Deferred {
            cursor,
            windows: 0,
            since: Instant::now(),
        });
        d.cursor = cursor;
        d.windows += 1;
        self.report.empty_windows += 1;
        if d.windows >= EMPTY_WINDOWS_PER_COMMIT || d.since.elapsed() >= EMPTY_WINDOWS_MAX_AGE {
            self.commit_deferred().await?;
        }
        Ok(())
    }

    async fn commit_deferred(&mut self) -> Result<()> {
        if let Some(d) = self.deferred.take() {
            self.report.cursor_commits += 1;
            self.flush(HashMap::new(), Vec::new(), Vec::new(), Some(d.cursor))
                .await?;
        }
        Ok(())
    }

    /// Writes the carried windows with their cursor.
    async fn flush_carry(&mut self) -> Result<()> {
        if let Some(c) = self.carry.take() {
            let keyless = c.keyless.into_values().collect();
            self.flush(c.buffer, keyless, c.raw, Some(c.cursor)).await?;
        }
        Ok(())
    }

    /// Commits carried windows and a deferred cursor, and waits for the last flush.
    async fn finish(&mut self) -> Result<()> {
        self.flush_carry().await?;
        self.commit_deferred().await?;
        let w = self.writer().await?;
        self.idle = Some(w);
        Ok(())
    }
}

/// A window's identity of one read of a record (FNV-1a of key and version).
fn identity(key: &str, version: i64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes().chain(version.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The values of a column as text (empty when the batch lacks it).
pub(super) fn column_text(batch: &RecordBatch, column: &str) -> Result<Vec<String>> {
    let Ok(i) = batch.schema().index_of(column) else {
        return Ok(Vec::new());
    };
    let col = arrow::compute::cast(batch.column(i), &arrow::datatypes::DataType::Utf8)
        .map_err(|e| PipelineError::Internal(format!("reading column {column}: {e}")))?;
    let col = col.as_string::<i32>();
    Ok((0..col.len())
        .filter(|&r| col.is_valid(r))
        .map(|r| col.value(r).to_string())
        .collect())
}

fn raw_batch(
    connector: &str,
    stream: &str,
    raw: &[(String, i64, String)],
    now: i64,
) -> Result<Option<RecordBatch>> {
    let mut b = crate::rows::TableBuf::new(
        crate::rows::table_def("raw_records")?,
        format!("connector:{connector}"),
    );
    for (key, version, record) in raw {
        b.text("connector", connector)
            .text("stream", stream)
            .text("record_key", key)
            .int("record_version", *version)
            .ts("fetched_at", now)
            .text("payload", record)
            .end();
    }
    Ok(b.take())
}

#[cfg(test)]
mod tests;
