//! A connector's streams synced one after another, as `zhongtai connector sync` and the job
//! runner do: a stream that fails is reported with its error and the others still run. Each
//! stream commits its own rows and cursor, so the streams that succeeded keep what they wrote
//! whatever happens to the others; the caller fails the run afterwards, naming the failures.

use std::sync::Arc;

use connectors::stream::Stream;
use warehouse::Warehouse;

use super::engine::{SyncOptions, SyncReport, sync_stream};
use crate::error::{PipelineError, Result};

/// What [`sync_streams`] reports while it works.
#[derive(Debug)]
pub enum StreamEvent<'a> {
    /// The stream starts.
    Started(&'a str),
    /// A page of the stream was read (the report so far).
    Progress(&'a SyncReport),
    /// The stream ended, well or not.
    Finished(&'a str, &'a Result<SyncReport>),
}

/// Syncs `streams` in order, each with `opts`; every stream runs whatever happened to the
/// ones before it. Returns each stream's name and outcome, in order.
pub async fn sync_streams(
    wh: &Warehouse,
    connector: &str,
    streams: &[Arc<dyn Stream>],
    opts: &SyncOptions,
    events: &(dyn Fn(StreamEvent<'_>) + Sync),
) -> Vec<(String, Result<SyncReport>)> {
    let mut out = Vec::with_capacity(streams.len());
    for s in streams {
        let name = s.name().to_string();
        events(StreamEvent::Started(&name));
        let result = sync_stream(wh, connector, s, opts, &|r: &SyncReport| {
            events(StreamEvent::Progress(r));
        })
        .await;
        if let Err(e) = &result {
            tracing::error!(connector, stream = %name, error = %e, "stream failed; the other streams continue");
        }
        events(StreamEvent::Finished(&name, &result));
        out.push((name, result));
    }
    out
}

/// The streams that failed, with their errors.
pub fn failed_streams(outcomes: &[(String, Result<SyncReport>)]) -> Vec<(&str, &PipelineError)> {
    outcomes
        .iter()
        .filter_map(|(n, r)| r.as_ref().err().map(|e| (n.as_str(), e)))
        .collect()
}
