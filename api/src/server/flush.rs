//! Moves journaled form rows into the lake, in batches, exactly once: the journal side.
//!
//! The lake side (per-table watermarks in the Delta log, the owned writes) is
//! `pipelines::forms::flush`; this module reads the journal past the lowest watermark, hands the
//! entries over, and records how far every table got. `flush_state` in SQLite only remembers the
//! seq every table has reached, to avoid rescanning the journal from the start.

use std::sync::Arc;
use std::time::Instant;

use pipelines::forms::flush::{apply, form_tables, watermarks};
use pipelines::forms::lookup::Pending;
use sqlx::Row as _;
use warehouse::Warehouse;

use crate::store::{Store, sql};

/// Most journal entries moved by one flush.
const MAX_ENTRIES: i64 = 50_000;

/// What a flush did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct FlushReport {
    pub entries: usize,
    pub rows: usize,
    /// Rows not written because another writer owns their keys.
    pub skipped: usize,
    pub tables: Vec<String>,
    pub through_seq: i64,
    pub millis: u128,
}

/// Errors of a flush; the journal keeps everything, so the next flush retries.
#[derive(Debug, thiserror::Error)]
pub enum FlushError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Lake(#[from] pipelines::forms::flush::FlushError),
}

/// The highest journal seq.
pub async fn journal_head(store: &Store) -> Result<i64, crate::store::StoreError> {
    let r = sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM journal")
        .fetch_one(&store.pool)
        .await
        .map_err(sql("reading the journal head"))?;
    Ok(r.get::<i64, _>(0))
}

async fn hint(store: &Store) -> Result<i64, crate::store::StoreError> {
    let r = sqlx::query("SELECT flushed_seq FROM flush_state WHERE id = 1")
        .fetch_optional(&store.pool)
        .await
        .map_err(sql("reading the flush state"))?;
    Ok(r.map(|r| r.get::<i64, _>(0)).unwrap_or(0))
}

/// Moves every journaled entry not yet in the lake (the lake half is
/// `pipelines::forms::flush`). Callers go through [`Flusher::flush`].
async fn flush_once(
    wh: &Warehouse,
    store: &Store,
    pending: &Pending,
) -> Result<FlushReport, FlushError> {
    let started = Instant::now();
    let h = hint(store).await?;
    let marks = watermarks(wh, h).await?;
    let start = marks.values().copied().min().unwrap_or(h);
    let entries: Vec<(i64, String)> =
        sqlx::query("SELECT seq, rows FROM journal WHERE seq > ? ORDER BY seq LIMIT ?")
            .bind(start)
            .bind(MAX_ENTRIES)
            .fetch_all(&store.pool)
            .await
            .map_err(sql("reading the journal"))?
            .iter()
            .map(|r| (r.get::<i64, _>("seq"), r.get::<String, _>("rows")))
            .collect();
    let mut report = FlushReport {
        through_seq: start,
        ..FlushReport::default()
    };
    let Some(&(last, _)) = entries.last() else {
        return Ok(report);
    };
    let applied = apply(wh, &entries, &marks).await?;
    report.entries = entries.len();
    report.rows = applied.rows;
    report.skipped = applied.skipped;
    report.tables = applied.tables;
    sqlx::query("INSERT INTO flush_state (id, flushed_seq) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET flushed_seq = excluded.flushed_seq")
        .bind(last)
        .execute(&store.pool)
        .await
        .map_err(sql("saving the flush state"))?;
    for t in form_tables() {
        pending.trim(t, last);
    }
    report.through_seq = last;
    report.millis = started.elapsed().as_millis();
    Ok(report)
}

/// The one way journal entries reach the lake: the periodic loop, `POST /api/v1/flush`, the
/// flush job and shutdown all go through it, one flush at a time. Two flushes that read the
/// journal at once would commit the same entries twice and could put an older version of a
/// corrected row over a newer one until the next flush.
#[derive(Debug)]
pub struct Flusher {
    wh: Arc<Warehouse>,
    store: Store,
    pending: Arc<Pending>,
    refs: Arc<pipelines::forms::refs::Refs>,
    status: std::sync::Mutex<FlushStatus>,
    gate: tokio::sync::Mutex<()>,
}

impl Flusher {
    /// Flushes what a previous process left, then returns the flusher.
    pub async fn start(
        wh: Arc<Warehouse>,
        store: Store,
        pending: Arc<Pending>,
        refs: Arc<pipelines::forms::refs::Refs>,
    ) -> Result<Self, FlushError> {
        let recovered = flush_once(&wh, &store, &pending).await?;
        if recovered.entries > 0 {
            tracing::info!(
                entries = recovered.entries,
                "flushed journal entries left by the previous run"
            );
        }
        Ok(Self {
            wh,
            store,
            pending,
            refs,
            status: std::sync::Mutex::new(FlushStatus {
                through_seq: recovered.through_seq,
                ..FlushStatus::default()
            }),
            gate: tokio::sync::Mutex::new(()),
        })
    }

    /// Flushes now (waiting for a flush already running), then refreshes the reference ids
    /// forms check against, and records the outcome for `/healthz`.
    pub async fn flush(&self) -> Result<FlushReport, FlushError> {
        let _one = self.gate.lock().await;
        let r = flush_once(&self.wh, &self.store, &self.pending).await;
        self.record(&r);
        if r.is_ok()
            && let Err(e) = self.refs.refresh(&self.wh).await
        {
            tracing::warn!(error = %e, "refreshing reference ids");
        }
        r
    }

    fn record(&self, r: &Result<FlushReport, FlushError>) {
        let mut s = self.status.lock().unwrap_or_else(|p| p.into_inner());
        match r {
            Ok(rep) => {
                s.through_seq = s.through_seq.max(rep.through_seq);
                s.last_error = None;
                s.last_flush = Some(Instant::now());
                s.flushes += 1;
            }
            Err(e) => s.last_error = Some(e.to_string()),
        }
    }

    /// Holds off flushes (and other holders) until the guard is dropped: for a submission that
    /// reads the lake and the pending rows and must see each row exactly once.
    pub async fn hold(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.gate.lock().await
    }

    /// `(flushed through seq, last error)`.
    pub fn status(&self) -> (i64, Option<String>) {
        let s = self.status.lock().unwrap_or_else(|p| p.into_inner());
        (s.through_seq, s.last_error.clone())
    }

    /// Runs flushes until `stop` fires: after new entries (checked every `every`), and at least
    /// every 30 s so reference ids written by syncs are picked up. Failures back off to 30 s.
    pub async fn run(
        self: Arc<Self>,
        every: std::time::Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut backoff = every;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => break,
            }
            let head = journal_head(&self.store).await.unwrap_or(0);
            let (done, _) = self.status();
            if head <= done && !self.refresh_due() {
                continue;
            }
            match self.flush().await {
                Ok(r) => {
                    if r.entries > 0 {
                        tracing::info!(
                            entries = r.entries,
                            rows = r.rows,
                            ms = r.millis as u64,
                            "flushed entry forms into the lake"
                        );
                    }
                    backoff = every;
                }
                Err(e) => {
                    tracing::error!(error = %e, "flushing entry forms failed; will retry");
                    backoff = (backoff * 2).min(std::time::Duration::from_secs(30));
                }
            }
        }
    }

    fn refresh_due(&self) -> bool {
        let s = self.status.lock().unwrap_or_else(|p| p.into_inner());
        s.last_flush.is_none_or(|t| t.elapsed().as_secs() >= 30)
    }
}

/// What `/healthz` and `/metrics` report about flushing.
#[derive(Debug, Default)]
struct FlushStatus {
    through_seq: i64,
    flushes: u64,
    last_error: Option<String>,
    last_flush: Option<std::time::Instant>,
}
