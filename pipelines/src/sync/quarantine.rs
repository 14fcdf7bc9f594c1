//! Records a stream cannot map (or identify) are set aside instead of failing their stream.
//!
//! A flush's records are mapped together. When the stream names the record it could not map
//! ([`StreamError::Record`] with the record's key, as [`Stream::record_key`] gives it), that
//! record is taken out and the rest are mapped again; when the error names no record of the
//! flush, the flush is bisected until one failing record is found (a few map calls per bad
//! record: `O(bad · log n)`). A record without a key cannot be de-duplicated or written: it is
//! set aside too, under `?` and a hash of its payload.
//!
//! The records set aside are appended to `quarantined_records` in the flush that would have
//! written them, before the main table's commit that carries the cursor, so a crash never
//! loses one: it is either quarantined or read again. Past [`cap`] bad records in one flush
//! something systemic is wrong (a changed platform format, a mapping bug): the stream fails
//! as it did before quarantine existed, writing nothing of the flush.

use arrow::array::RecordBatch;
use connectors::stream::{Mapped, Stream, StreamError};
use serde_json::Value;

use crate::error::{PipelineError, Result};

/// Reasons a report keeps as samples.
pub const SAMPLES: usize = 5;

/// A record set aside.
#[derive(Debug, Clone)]
pub(super) struct Bad {
    pub(super) key: String,
    pub(super) version: i64,
    pub(super) payload: String,
    pub(super) reason: String,
}

/// The most bad records one flush of `records` may set aside: more means something systemic.
pub fn cap(records: usize) -> usize {
    (records / 10).max(100)
}

/// The key of a record without one: `?` and a short, stable hash (FNV-1a) of its payload, so
/// the same record read twice gets the same key.
pub(super) fn keyless_key(payload: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in payload.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("?{:012x}", h >> 16)
}

/// The records of one flush, mapped as a whole once the bad ones are out.
pub(super) struct Batch {
    pub(super) keys: Vec<String>,
    pub(super) versions: Vec<i64>,
    pub(super) records: Vec<Value>,
}

/// Maps `batch`, moving the records the stream cannot map into `bad`. Fails when the stream
/// fails otherwise (not a record), when a failure cannot be pinned on records, or when more
/// than `cap` records are bad (`bad` may already hold the flush's records without a key).
pub(super) fn map_setting_aside(
    stream: &dyn Stream,
    connector: &str,
    mut batch: Batch,
    bad: &mut Vec<Bad>,
    cap: usize,
    total: usize,
) -> Result<Mapped> {
    check_cap(stream, connector, bad, cap, total)?;
    loop {
        if batch.records.is_empty() {
            return Ok(Mapped::default());
        }
        let (record, message) = match stream.map(&batch.records) {
            Ok(m) => return Ok(m),
            Err(StreamError::Record {
                record, message, ..
            }) => (record, message),
            Err(e) => return Err(e.into()),
        };
        let found = match batch.keys.iter().position(|k| *k == record) {
            Some(i) => Some((i, message.clone())),
            None => find_one(stream, &batch, message.clone())?,
        };
        let Some((i, reason)) = found else {
            // Every part maps alone: the records fail only together (a systemic problem).
            return Err(StreamError::Record {
                stream: stream.name().to_string(),
                record,
                message: format!(
                    "{message} (the failure could not be pinned on any record of the flush)"
                ),
            }
            .into());
        };
        let key = batch.keys.remove(i);
        let version = batch.versions.remove(i);
        let payload = batch.records.remove(i).to_string();
        bad.push(Bad {
            key,
            version,
            payload,
            reason,
        });
        check_cap(stream, connector, bad, cap, total)?;
    }
}

fn check_cap(
    stream: &dyn Stream,
    connector: &str,
    bad: &[Bad],
    cap: usize,
    total: usize,
) -> Result<()> {
    if bad.len() <= cap {
        return Ok(());
    }
    let first = bad.first().map_or_else(String::new, |b| {
        format!("; the first: record {}: {}", b.key, b.reason)
    });
    Err(PipelineError::Connector {
        name: connector.to_string(),
        message: format!(
            "stream {}: {} of {total} records in one flush could not be mapped or identified, more than the {cap} a flush may set aside: something systemic is wrong (a changed platform format or a mapping bug), so the stream stops and nothing of the flush is written{first}",
            stream.name(),
            bad.len()
        ),
    })
}

/// One record of `batch` that fails to map, found by bisection (`batch` fails as a whole with
/// `message`, naming none of its records): its index and the error. `None` when both halves
/// of a failing part map alone.
fn find_one(
    stream: &dyn Stream,
    batch: &Batch,
    mut message: String,
) -> Result<Option<(usize, String)>> {
    let (mut lo, mut hi) = (0, batch.records.len());
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        let mut failing = None;
        for (a, b) in [(lo, mid), (mid, hi)] {
            match stream.map(&batch.records[a..b]) {
                Ok(_) => {}
                Err(StreamError::Record {
                    record, message: m, ..
                }) => {
                    if let Some(i) = batch.keys[a..b].iter().position(|k| *k == record) {
                        return Ok(Some((a + i, m)));
                    }
                    failing = Some((a, b, m));
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let Some((a, b, m)) = failing else {
            return Ok(None);
        };
        (lo, hi, message) = (a, b, m);
    }
    Ok(Some((lo, message)))
}

/// The `quarantined_records` rows of `bad`, fetched at `now` (UTC microseconds).
pub(super) fn batch(
    connector: &str,
    stream: &str,
    bad: &[Bad],
    now: i64,
) -> Result<Option<RecordBatch>> {
    let mut b = crate::rows::TableBuf::new(
        crate::rows::table_def("quarantined_records")?,
        format!("connector:{connector}"),
    );
    for q in bad {
        b.text("connector", connector)
            .text("stream", stream)
            .text("record_key", &q.key)
            .int("record_version", q.version)
            .ts("fetched_at", now)
            .text("reason", &q.reason)
            .text("payload", &q.payload)
            .end();
    }
    Ok(b.take())
}
