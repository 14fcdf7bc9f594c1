//! File imports: CSV, XLSX and Parquet bills and sheets read against a target Arrow schema.
//!
//! The caller (pipelines) passes the schema of the canonical table it imports into; this
//! module knows nothing of the warehouse. Reading is strict and complete: every bad cell is
//! reported with its row (as numbered in the file, header = row 1) and column, and rows with
//! any error are kept aside as [`RejectedRow`]s with their original cells so nothing is lost.
//!
//! - `source.rs`: turns each format into a header plus rows of [`Cell`]s.
//! - `coerce.rs`: turns cells into typed Arrow values, with a reason when it cannot.
//! - `assemble.rs`: header checks and batch building.

mod assemble;
mod coerce;
mod source;

use std::path::Path;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

pub use coerce::Cell;

/// A file-level problem: nothing in the file can be trusted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("{path}: unsupported file type (use .csv, .xlsx or .parquet)")]
    UnknownFormat { path: String },
    #[error("{path}: {reason}")]
    Header { path: String, reason: String },
}

/// One bad cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    /// Row as numbered in the file (the header is row 1).
    pub row: usize,
    pub column: String,
    pub value: String,
    pub reason: String,
}

impl std::fmt::Display for CellError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "row {}, column {}: {} (value: {:?})",
            self.row, self.column, self.reason, self.value
        )
    }
}

/// A row that could not be imported, with its original cells in file column order.
#[derive(Debug, Clone)]
pub struct RejectedRow {
    pub row: usize,
    pub cells: Vec<String>,
    pub errors: Vec<CellError>,
}

/// The result of reading a file.
#[derive(Debug)]
pub struct FileRead {
    /// Good rows, typed to the target schema.
    pub batches: Vec<RecordBatch>,
    /// Rows with at least one bad cell.
    pub rejected: Vec<RejectedRow>,
    /// The file's header as written.
    pub header: Vec<String>,
    /// Data rows read.
    pub rows_read: usize,
}

impl FileRead {
    /// All cell errors, in file order.
    pub fn errors(&self) -> impl Iterator<Item = &CellError> {
        self.rejected.iter().flat_map(|r| r.errors.iter())
    }

    /// Good rows.
    pub fn rows_ok(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }
}

/// Reads `path` (format from its extension) into `target`'s columns and types.
pub fn read_file(path: &Path, target: &SchemaRef) -> Result<FileRead, FileError> {
    let table = source::read_any(path)?;
    assemble::assemble(&path.display().to_string(), table, target)
}

#[cfg(test)]
mod tests;
