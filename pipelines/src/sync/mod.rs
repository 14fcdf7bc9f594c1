//! Incremental syncs from platforms into the lake.
//!
//! Invariant: a stream's cursor is stored in the Delta log of the table that completes the
//! stream (as a Delta application transaction in the same commit as that table's rows), so a
//! crash anywhere leaves the cursor before any data it did not fully commit. Re-reading a
//! window is harmless because every write is an upsert by primary key.
//!
//! - `engine`: windows, pages, de-duplication, writes and the cursor, for any stream.
//! - `writer`: one flush's rows into the lake, run as a task while the next pages arrive.
//! - `quarantine`: records a stream cannot map (or identify) set aside, not failing the stream.
//! - `streams`: a connector's streams one after another; a failing one does not stop the rest.
//! - `conformance`: the checks every connector's stream must pass.
//! - `tests_*`: each connector against its simulator, through the engine.

pub mod conformance;
pub mod engine;
mod quarantine;
mod streams;
#[cfg(test)]
mod tests_jst_streams;
#[cfg(test)]
mod tests_manifest;
#[cfg(test)]
mod tests_top;
mod writer;

pub use engine::{
    EMPTY_WINDOWS_MAX_AGE, EMPTY_WINDOWS_PER_COMMIT, SyncOptions, SyncReport, cursor, cursor_id,
    sync_stream,
};
pub use quarantine::{SAMPLES as QUARANTINE_SAMPLES, cap as quarantine_cap};
pub use streams::{StreamEvent, failed_streams, sync_streams};
