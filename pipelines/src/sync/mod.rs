//! Incremental syncs from platforms into the lake.
//!
//! Invariant: a stream's cursor is stored in the Delta log of the table that completes the
//! stream (as a Delta application transaction in the same commit as that table's rows), so a
//! crash anywhere leaves the cursor before any data it did not fully commit. Re-reading a
//! window is harmless because every write is an upsert by primary key.

pub mod engine;
#[cfg(test)]
mod tests_top;

pub use engine::{SyncOptions, SyncReport, cursor, cursor_id, sync_stream};
