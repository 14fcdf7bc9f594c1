//! File imports: CSV, XLSX and Parquet bills and sheets read against a target Arrow schema.
//!
//! The caller (pipelines) passes the schema of the canonical table it imports into; this
//! module knows nothing of the warehouse. Reading is strict and complete: every bad cell is
//! reported with its row (as numbered in the file, header = row 1, as a spreadsheet shows it)
//! and column, and rows with any error are kept aside as [`RejectedRow`]s with their original
//! cells so nothing is lost. Text is never guessed: CSV bytes that are neither UTF-8 nor GBK,
//! NUL and other control characters, and spreadsheet error cells are bad cells. The caller may
//! refuse more rows after its own checks ([`FileRead::reject`]), keeping the same bookkeeping.
//!
//! - `source.rs`: turns each format into a header plus rows of [`Cell`]s.
//! - `coerce.rs`: turns cells into typed Arrow values, with a reason when it cannot.
//! - `assemble.rs`: header checks and batch building.

mod assemble;
mod coerce;
mod source;

use std::collections::BTreeMap;
use std::path::Path;

use arrow::array::BooleanArray;
use arrow::compute::filter_record_batch;
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
    /// Rows with at least one bad cell, in file order.
    pub rejected: Vec<RejectedRow>,
    /// The file's header as written.
    pub header: Vec<String>,
    /// Data rows read.
    pub rows_read: usize,
    /// The file row (header = row 1) of each good row, in batch order (ascending).
    pub rows: Vec<usize>,
    /// The rows rejected while reading, typed where their cells could be read (a bad cell is
    /// null; every column is nullable), so a caller's checks can report their other problems
    /// too. As read: [`FileRead::reject`] does not change them.
    pub partial: Vec<RecordBatch>,
    /// The file row of each row of [`FileRead::partial`], in batch order.
    pub partial_rows: Vec<usize>,
    /// The good rows' cells as read, in file column order.
    cells: Vec<Vec<Cell>>,
    /// For each target column, the file column feeding it.
    sources: Vec<Option<usize>>,
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

    /// The cell of file row `row` that fed target column `column` (by index in the target
    /// schema), as the user would see it; empty when the file has no such cell.
    pub fn cell_text(&self, row: usize, column: usize) -> String {
        let Some(src) = self.sources.get(column).copied().flatten() else {
            return String::new();
        };
        if let Ok(i) = self.rows.binary_search(&row) {
            return self.cells[i]
                .get(src)
                .map(Cell::display)
                .unwrap_or_default();
        }
        match self.rejected.binary_search_by_key(&row, |r| r.row) {
            Ok(i) => self.rejected[i].cells.get(src).cloned().unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Moves the good rows that `errors` name (by file row) to [`FileRead::rejected`], with
    /// their original cells and those errors; errors naming a row already rejected are added
    /// to it. The batches keep the other rows in order.
    pub fn reject(&mut self, errors: Vec<CellError>) -> Result<(), FileError> {
        if errors.is_empty() {
            return Ok(());
        }
        let mut by_row: BTreeMap<usize, Vec<CellError>> = BTreeMap::new();
        for e in errors {
            by_row.entry(e.row).or_default().push(e);
        }
        for r in &mut self.rejected {
            if let Some(more) = by_row.remove(&r.row) {
                r.errors.extend(more);
            }
        }
        let drop: Vec<bool> = self.rows.iter().map(|r| by_row.contains_key(r)).collect();
        let mut offset = 0;
        for b in &mut self.batches {
            let n = b.num_rows();
            let keep: BooleanArray = drop[offset..offset + n].iter().map(|d| Some(!d)).collect();
            *b = filter_record_batch(b, &keep).map_err(|e| FileError::Unreadable {
                path: String::new(),
                reason: e.to_string(),
            })?;
            offset += n;
        }
        self.batches.retain(|b| b.num_rows() > 0);
        let rows = std::mem::take(&mut self.rows);
        let cells = std::mem::take(&mut self.cells);
        for ((row, cells), dropped) in rows.into_iter().zip(cells).zip(drop) {
            if dropped {
                self.rejected.push(RejectedRow {
                    row,
                    cells: cells.iter().map(Cell::display).collect(),
                    errors: by_row.remove(&row).unwrap_or_default(),
                });
            } else {
                self.rows.push(row);
                self.cells.push(cells);
            }
        }
        // Rows the read never had (a caller's mistake) are still reported, without cells.
        for (row, errors) in by_row {
            self.rejected.push(RejectedRow {
                row,
                cells: Vec::new(),
                errors,
            });
        }
        self.rejected.sort_by_key(|r| r.row);
        Ok(())
    }
}

/// Reads `path` (format from its extension) into `target`'s columns and types.
pub fn read_file(path: &Path, target: &SchemaRef) -> Result<FileRead, FileError> {
    let table = source::read_any(path)?;
    assemble::assemble(&path.display().to_string(), table, target)
}

#[cfg(test)]
mod tests;
