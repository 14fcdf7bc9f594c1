//! Moves journaled form rows into the lake, in batches, exactly once.
//!
//! Each table's commit carries the Delta app transaction `(zhongtai.forms, seq)`: "journal
//! entries up to `seq` are in this table". A flush reads each table's watermark from its Delta
//! log, so a crash between commits re-sends nothing twice and loses nothing: a table whose
//! commit did not land is simply behind and is written again. `flush_state` in SQLite only
//! remembers the seq every table has reached, to avoid rescanning the journal from the start.

use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;
use std::sync::Arc;
use std::time::Instant;

use arrow::record_batch::RecordBatch;
use serde_json::Value;
use sqlx::Row as _;
use warehouse::{ForeignRows, Owner, Warehouse};

use crate::forms::lookup::{Pending, Row, group_column, key_of};
use crate::store::{Store, sql};

/// The Delta app id of the journal's watermark.
pub const APP_ID: &str = "zhongtai.forms";
/// Every form's rows are owned by `form:<form name>`; the flush writes them as that family.
const FORM_OWNERS: &str = "form:";

/// The owners of the forms that correct other writers' rows (`FormDef::corrects`).
fn correcting_owners() -> Vec<String> {
    crate::forms::defs::FORMS
        .iter()
        .filter(|f| f.corrects)
        .map(|f| format!("{FORM_OWNERS}{}", f.name))
        .collect()
}

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
    #[error("flushing entry forms into table `{table}`: {source}")]
    Lake {
        table: String,
        #[source]
        source: warehouse::WarehouseError,
    },
    #[error("journal entry {seq} is unreadable: {reason}")]
    Entry { seq: i64, reason: String },
}

/// Every table any form writes.
pub fn form_tables() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = crate::forms::defs::FORMS
        .iter()
        .flat_map(|f| f.tables.iter().copied())
        .collect();
    v.sort_unstable();
    v.dedup();
    v
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

/// Moves every journaled entry not yet in the lake. Callers go through [`Flusher::flush`].
async fn flush_once(
    wh: &Warehouse,
    store: &Store,
    pending: &Pending,
) -> Result<FlushReport, FlushError> {
    let started = Instant::now();
    let h = hint(store).await?;
    let mut marks: HashMap<&'static str, i64> = HashMap::new();
    for t in form_tables() {
        let w = wh
            .app_version(t, APP_ID)
            .await
            .map_err(|source| FlushError::Lake {
                table: t.into(),
                source,
            })?
            .unwrap_or(0);
        marks.insert(t, w.max(h));
    }
    let start = marks.values().copied().min().unwrap_or(h);
    let entries = sqlx::query("SELECT seq, rows FROM journal WHERE seq > ? ORDER BY seq LIMIT ?")
        .bind(start)
        .bind(MAX_ENTRIES)
        .fetch_all(&store.pool)
        .await
        .map_err(sql("reading the journal"))?;
    let mut report = FlushReport {
        through_seq: start,
        ..FlushReport::default()
    };
    let Some(last) = entries.last().map(|r| r.get::<i64, _>("seq")) else {
        return Ok(report);
    };
    // table -> (key -> row), groups replaced
    let mut by_table: BTreeMap<&'static str, (BTreeMap<String, Row>, Vec<String>)> =
        BTreeMap::new();
    for e in &entries {
        let seq: i64 = e.get("seq");
        let text: String = e.get("rows");
        let doc: Value = serde_json::from_str(&text).map_err(|err| FlushError::Entry {
            seq,
            reason: err.to_string(),
        })?;
        let replaced: Vec<(String, String)> = doc["replace"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| {
                Some((
                    r["table"].as_str()?.to_string(),
                    r["group"].as_str()?.to_string(),
                ))
            })
            .collect();
        for t in doc["tables"].as_array().into_iter().flatten() {
            let Some(name) = t["table"].as_str() else {
                continue;
            };
            let Some((&table, &mark)) = marks.get_key_value(name) else {
                return Err(FlushError::Entry {
                    seq,
                    reason: format!("names table {name}, which no form writes"),
                });
            };
            if seq <= mark {
                continue;
            }
            let def = wh.def(table).map_err(|source| FlushError::Lake {
                table: table.into(),
                source,
            })?;
            let slot = by_table.entry(table).or_default();
            for (rt, g) in &replaced {
                if rt == name {
                    // The new version is the whole group: drop older rows of it in this flush.
                    if let Some(col) = group_column(table) {
                        slot.0
                            .retain(|_, r| r.get(col).and_then(Value::as_str) != Some(g));
                    }
                    if !slot.1.contains(g) {
                        slot.1.push(g.clone());
                    }
                }
            }
            for r in t["rows"].as_array().into_iter().flatten() {
                if let Value::Object(m) = r {
                    slot.0.insert(key_of(def, m), m.clone());
                }
            }
        }
    }
    report.entries = entries.len();
    for (table, (rows, groups)) in &by_table {
        let lake = |source| FlushError::Lake {
            table: (*table).into(),
            source,
        };
        // Rows of correcting forms supersede other owners' rows; the others never overwrite
        // one (they are kept and counted): one commit, the policy decided row by row.
        let batch = to_batch(wh, table, rows.values()).map_err(lake)?;
        let op = wh
            .write(table, Owner::Family(FORM_OWNERS.into()))
            .writer("forms")
            .foreign_rows(ForeignRows::Keep)
            .correcting_owners(correcting_owners())
            .app_transaction(APP_ID, last);
        let r = match group_column(table) {
            Some(_) if !groups.is_empty() => op.replace_children_of(groups, &[batch]).await,
            _ => op.upsert(&[batch]).await,
        }
        .map_err(lake)?;
        if r.skipped > 0 {
            tracing::warn!(
                table = %table,
                rows = r.skipped,
                "entry-form rows not written: another writer owns their keys"
            );
        }
        report.skipped += r.skipped as usize;
        report.rows += rows.len();
        report.tables.push((*table).to_string());
    }
    sqlx::query("INSERT INTO flush_state (id, flushed_seq) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET flushed_seq = excluded.flushed_seq")
        .bind(last)
        .execute(&store.pool)
        .await
        .map_err(sql("saving the flush state"))?;
    for t in form_tables() {
        pending.trim(t, last);
    }
    if (by_table.contains_key("orders") || by_table.contains_key("order_items"))
        && let Err(e) = pipelines::marts::refresh_all(wh).await
    {
        tracing::warn!(error = %e, "refreshing marts after a form flush");
    }
    report.through_seq = last;
    report.millis = started.elapsed().as_millis();
    Ok(report)
}

/// Rows as one batch of `table`'s schema (arrow-json reads the normalised text exactly).
fn to_batch<'a>(
    wh: &Warehouse,
    table: &str,
    rows: impl Iterator<Item = &'a Row>,
) -> Result<RecordBatch, warehouse::WarehouseError> {
    let def = wh.def(table)?;
    let mut buf = Vec::new();
    for r in rows {
        serde_json::to_writer(&mut buf, r).map_err(|e| warehouse::WarehouseError::Schema {
            table: table.into(),
            reason: e.to_string(),
        })?;
        buf.push(b'\n');
    }
    let arrow_err = |source| warehouse::WarehouseError::Arrow {
        op: "decoding form rows",
        source,
    };
    let reader = arrow::json::ReaderBuilder::new(def.arrow_schema())
        .with_batch_size(1 << 20)
        .build(Cursor::new(buf))
        .map_err(arrow_err)?;
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().map_err(arrow_err)?;
    arrow::compute::concat_batches(&def.arrow_schema(), &batches).map_err(arrow_err)
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
    refs: Arc<crate::forms::refs::Refs>,
    status: std::sync::Mutex<FlushStatus>,
    gate: tokio::sync::Mutex<()>,
}

impl Flusher {
    /// Flushes what a previous process left, then returns the flusher.
    pub async fn start(
        wh: Arc<Warehouse>,
        store: Store,
        pending: Arc<Pending>,
        refs: Arc<crate::forms::refs::Refs>,
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
