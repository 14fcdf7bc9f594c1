//! Reads each supported format into a header and rows of [`Cell`]s.
//!
//! CSV may be UTF-8 (with or without BOM) or GBK/GB18030, which is what Excel on a Chinese
//! Windows saves. XLSX reads the first sheet. Parquet columns are rendered to text and parsed
//! like CSV, so every format goes through the same checks.

use std::fs::File;
use std::path::Path;

use arrow::record_batch::RecordBatchReader;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use calamine::{Data, Reader, open_workbook_auto};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::FileError;
use super::coerce::Cell;

/// A file's contents before typing.
#[derive(Debug)]
pub(crate) struct RawTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

pub(crate) fn read_any(path: &Path) -> Result<RawTable, FileError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let unreadable = |reason: String| FileError::Unreadable {
        path: path.display().to_string(),
        reason,
    };
    match ext.as_str() {
        "csv" | "txt" => read_csv(&std::fs::read(path).map_err(|e| unreadable(e.to_string()))?)
            .map_err(unreadable),
        "xlsx" | "xlsm" | "xls" => read_xlsx(path).map_err(unreadable),
        "parquet" => read_parquet(path).map_err(unreadable),
        _ => Err(FileError::UnknownFormat {
            path: path.display().to_string(),
        }),
    }
}

fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::GB18030.decode(bytes).0.into_owned(),
    }
}

fn read_csv(bytes: &[u8]) -> Result<RawTable, String> {
    let text = decode(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| e.to_string())?;
        if rec.iter().all(|f| f.trim().is_empty()) {
            rows.push(Vec::new()); // keep numbering; skipped later
            continue;
        }
        rows.push(
            rec.iter()
                .map(|f| {
                    if f.is_empty() {
                        Cell::Empty
                    } else {
                        Cell::Text(f.to_string())
                    }
                })
                .collect(),
        );
    }
    Ok(RawTable { header, rows })
}

fn read_xlsx(path: &Path) -> Result<RawTable, String> {
    let mut wb = open_workbook_auto(path).map_err(|e| e.to_string())?;
    let sheet = wb
        .sheet_names()
        .first()
        .cloned()
        .ok_or("the workbook has no sheet")?;
    let range = wb.worksheet_range(&sheet).map_err(|e| e.to_string())?;
    let mut it = range.rows();
    let header = it
        .next()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .unwrap_or_default();
    let rows = it
        .map(|r| {
            if r.iter().all(|c| matches!(c, Data::Empty)) {
                return Vec::new();
            }
            r.iter()
                .map(|c| match c {
                    Data::Empty => Cell::Empty,
                    Data::String(s) => Cell::Text(s.clone()),
                    Data::Int(i) => Cell::Int(*i),
                    Data::Float(f) => Cell::Float(*f),
                    Data::Bool(b) => Cell::Bool(*b),
                    Data::DateTime(d) => d
                        .as_datetime()
                        .map_or(Cell::Text(c.to_string()), Cell::DateTime),
                    Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s.clone()),
                    Data::Error(e) => Cell::Text(format!("#ERROR {e:?}")),
                })
                .collect()
        })
        .collect();
    Ok(RawTable { header, rows })
}

fn read_parquet(path: &Path) -> Result<RawTable, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| e.to_string())?
        .build()
        .map_err(|e| e.to_string())?;
    let schema = reader.schema();
    let header = schema.fields().iter().map(|f| f.name().clone()).collect();
    let opts = FormatOptions::default().with_null("\u{0}");
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        let fmts = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        for r in 0..batch.num_rows() {
            rows.push(
                fmts.iter()
                    .zip(batch.columns())
                    .map(|(f, col)| {
                        if col.is_null(r) {
                            Cell::Empty
                        } else {
                            Cell::Text(f.value(r).to_string())
                        }
                    })
                    .collect(),
            );
        }
    }
    Ok(RawTable { header, rows })
}
