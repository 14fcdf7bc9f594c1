//! Jushuitan orders (with their items and payments) into `orders`, `order_items`, `payments`.
//!
//! The range `[from, to)` (Asia/Shanghai wall-clock) is cut into windows of at most 7 days
//! (the platform's limit). Each window is paged completely; rows are de-duplicated by `o_id`
//! (the highest `ts` wins: an order modified while paging can appear twice) and upserted:
//! `order_items` and `payments` first (replacing each order's lines and payments, so removed
//! lines disappear), then `orders`, whose commit also records the cursor
//! (the end of the window, as Unix seconds). Large windows are flushed every `flush_rows`
//! orders ([`FLUSH_ROWS`] by default) without moving the cursor. An incremental run starts at
//! the cursor minus [`OVERLAP`], so late writes near the boundary are read again.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, TimeZone};
use connectors::jushuitan::{JstClient, map_orders};
use connectors::tolerant;
use serde_json::Value;
use warehouse::{CommitTag, Warehouse};

use crate::error::{PipelineError, Result};

/// Orders buffered before a flush inside a window.
pub const FLUSH_ROWS: usize = 20_000;
/// How far before the cursor an incremental run starts again.
pub const OVERLAP: Duration = Duration::from_secs(600);
const FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// What to sync.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Connector name; the cursor is kept per connector.
    pub connector: String,
    /// Start of the range (Shanghai wall-clock); an incremental run starts at the cursor instead.
    pub from: NaiveDateTime,
    /// End of the range (exclusive).
    pub to: NaiveDateTime,
    /// Ignore the cursor and read `[from, to)` again.
    pub full: bool,
    /// Window length, at most 7 days.
    pub window: Duration,
    /// Rows per page, at most 100.
    pub page_size: i64,
    /// Orders buffered before a flush inside a window (the cursor moves only at window ends).
    pub flush_rows: usize,
}

/// What a sync did.
#[derive(Debug, Default, Clone)]
pub struct SyncReport {
    pub windows: u64,
    pub pages: u64,
    pub orders: u64,
    pub items: u64,
    pub payments: u64,
    pub started_at: Option<NaiveDateTime>,
    pub cursor: Option<NaiveDateTime>,
    pub elapsed: Duration,
}

/// The app-transaction id under which a connector's order cursor is stored.
pub fn cursor_id(connector: &str) -> String {
    format!("zhongtai.sync.{connector}.orders")
}

fn to_unix(t: NaiveDateTime) -> i64 {
    chrono_tz::Asia::Shanghai
        .from_local_datetime(&t)
        .single()
        .map_or(0, |d| d.timestamp())
}

fn from_unix(secs: i64) -> Option<NaiveDateTime> {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|d| d.with_timezone(&chrono_tz::Asia::Shanghai).naive_local())
}

/// The committed cursor of a connector, if any.
pub async fn cursor(wh: &Warehouse, connector: &str) -> Result<Option<NaiveDateTime>> {
    Ok(wh
        .app_version("orders", &cursor_id(connector))
        .await?
        .and_then(from_unix))
}

/// Runs the sync; `progress` is called after each window with the report so far.
pub async fn sync_orders(
    wh: &Warehouse,
    client: &JstClient,
    opts: &SyncOptions,
    progress: &(dyn Fn(&SyncReport) + Sync),
) -> Result<SyncReport> {
    let started = Instant::now();
    let max_window = Duration::from_secs(7 * 24 * 3600);
    if opts.window.is_zero() || opts.window > max_window {
        return Err(PipelineError::Internal(
            "the sync window must be between 1 second and 7 days".into(),
        ));
    }
    let mut start = opts.from;
    if !opts.full
        && let Some(c) = cursor(wh, &opts.connector).await?
    {
        start = start.max(c - chrono::Duration::from_std(OVERLAP).unwrap_or_default());
    }
    let mut report = SyncReport {
        started_at: Some(start),
        ..Default::default()
    };
    let window = chrono::Duration::from_std(opts.window).unwrap_or_default();
    while start < opts.to {
        let end = (start + window).min(opts.to);
        sync_window(wh, client, opts, start, end, &mut report).await?;
        report.windows += 1;
        report.cursor = Some(end);
        report.elapsed = started.elapsed();
        progress(&report);
        start = end;
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

async fn sync_window(
    wh: &Warehouse,
    client: &JstClient,
    opts: &SyncOptions,
    start: NaiveDateTime,
    end: NaiveDateTime,
    report: &mut SyncReport,
) -> Result<()> {
    // The platform's window is inclusive at both ends; ours is [start, end).
    let (begin, last) = (
        start.format(FORMAT).to_string(),
        (end - chrono::Duration::seconds(1))
            .format(FORMAT)
            .to_string(),
    );
    let mut buffer: HashMap<String, Value> = HashMap::new();
    let mut page = 1;
    loop {
        let p = client
            .orders_page(&begin, &last, page, opts.page_size)
            .await
            .map_err(|e| PipelineError::Source(e.to_string()))?;
        report.pages += 1;
        for row in p.rows {
            let Some(id) = tolerant::id(row.get("o_id")) else {
                return Err(PipelineError::Source(format!(
                    "an order in {begin}..{last} has no o_id"
                )));
            };
            let newer = buffer
                .get(&id)
                .is_none_or(|old| tolerant::int(old.get("ts")) <= tolerant::int(row.get("ts")));
            if newer {
                buffer.insert(id, row);
            }
        }
        if !p.has_next {
            break;
        }
        if buffer.len() >= opts.flush_rows.max(1) {
            flush(
                wh,
                &opts.connector,
                std::mem::take(&mut buffer),
                None,
                report,
            )
            .await?;
        }
        page += 1;
    }
    flush(wh, &opts.connector, buffer, Some(to_unix(end)), report).await
}

async fn flush(
    wh: &Warehouse,
    connector: &str,
    rows: HashMap<String, Value>,
    cursor: Option<i64>,
    report: &mut SyncReport,
) -> Result<()> {
    let rows: Vec<Value> = rows.into_values().collect();
    let mapped = map_orders(&rows).map_err(|e| PipelineError::Source(e.to_string()))?;
    let tag = CommitTag::new(format!("connector:{connector}"));
    // A re-read order is the whole truth about its lines and payments: those it no longer has
    // are deleted in the same commit that writes the others.
    let order_ids: Vec<String> = {
        use arrow::array::{Array, AsArray};
        let col = mapped.orders.column(0).as_string::<i32>();
        (0..col.len()).map(|i| col.value(i).to_string()).collect()
    };
    report.items += wh
        .replace_groups(
            "order_items",
            "order_id",
            &order_ids,
            &[mapped.order_items],
            &tag,
        )
        .await?
        .rows;
    report.payments += wh
        .replace_groups("payments", "order_id", &order_ids, &[mapped.payments], &tag)
        .await?
        .rows;
    let mut orders_tag = tag.clone();
    orders_tag.app_version = cursor.map(|c| (cursor_id(connector), c));
    report.orders += if mapped.orders.num_rows() == 0 {
        // Nothing changed in this window: commit the cursor alone so the next run starts later.
        match &orders_tag.app_version {
            Some(_) => wh.appender("orders").await?.commit(&orders_tag).await?.rows,
            None => 0,
        }
    } else {
        wh.upsert("orders", &[mapped.orders], &orders_tag)
            .await?
            .rows
    };
    Ok(())
}

#[cfg(test)]
mod tests;
