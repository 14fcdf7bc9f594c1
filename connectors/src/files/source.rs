//! Reads each supported format into a header and rows of [`Cell`]s.
//!
//! CSV may be UTF-8 (with or without BOM) or GBK/GB18030, which is what Excel on a Chinese
//! Windows saves; bytes that are neither are refused cell by cell, never replaced. XLSX reads the first sheet. Parquet columns are rendered to text and parsed
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

/// The text encodings a CSV may be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Gb18030,
}

impl Encoding {
    /// The bytes as text, or `None` when they are not text in this encoding (never a
    /// replacement character).
    fn decode(self, bytes: &[u8]) -> Option<String> {
        match self {
            Encoding::Utf8 => std::str::from_utf8(bytes).ok().map(str::to_string),
            Encoding::Gb18030 => encoding_rs::GB18030
                .decode_without_bom_handling_and_without_replacement(bytes)
                .map(|s| s.into_owned()),
        }
    }
}

/// The first byte of `bytes` that is not text in `enc`, with its offset.
fn first_bad_byte(enc: Encoding, bytes: &[u8]) -> Option<(usize, u8)> {
    let at = match enc {
        Encoding::Utf8 => std::str::from_utf8(bytes).err()?.valid_up_to(),
        Encoding::Gb18030 => {
            let mut dec = encoding_rs::GB18030.new_decoder_without_bom_handling();
            let mut out = String::with_capacity(bytes.len() * 3 + 16);
            match dec.decode_to_string_without_replacement(bytes, &mut out, true) {
                (encoding_rs::DecoderResult::Malformed(bad, extra), read) => {
                    read.saturating_sub(usize::from(extra) + usize::from(bad))
                }
                _ => return None,
            }
        }
    };
    bytes.get(at).map(|b| (at, *b))
}

/// A field that is not text in `enc`: shown with replacement characters, refused with the
/// offending byte named.
fn undecodable(enc: Encoding, bytes: &[u8]) -> Cell {
    let (at, byte) = first_bad_byte(enc, bytes).unwrap_or((0, bytes.first().copied().unwrap_or(0)));
    Cell::Invalid {
        shown: String::from_utf8_lossy(bytes).into_owned(),
        reason: format!(
            "is not text: byte 0x{byte:02X} (at byte {}) is neither UTF-8 nor GBK; save the file as CSV UTF-8",
            at + 1
        ),
    }
}

/// Reads a CSV in UTF-8 (with or without BOM) or GBK/GB18030. A file that is neither as a
/// whole is read in the encoding more of its fields decode in, and each field that does not
/// decode becomes a [`Cell::Invalid`] naming the bad byte: nothing is replaced by U+FFFD.
fn read_csv(bytes: &[u8]) -> Result<RawTable, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // Fields are split on bytes, then decoded: the delimiters, quotes and line breaks are
    // ASCII, which is never part of a multi-byte UTF-8 or GB18030 character.
    let records = || {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes)
            .into_byte_records()
    };
    let enc = if std::str::from_utf8(bytes).is_ok() {
        Encoding::Utf8
    } else if Encoding::Gb18030.decode(bytes).is_some() {
        Encoding::Gb18030
    } else {
        let failures = |enc: Encoding| {
            records()
                .filter_map(Result::ok)
                .map(|r| r.iter().filter(|f| enc.decode(f).is_none()).count())
                .sum::<usize>()
        };
        if failures(Encoding::Gb18030) < failures(Encoding::Utf8) {
            Encoding::Gb18030
        } else {
            Encoding::Utf8
        }
    };
    let mut records = records();
    let header = match records.next() {
        Some(rec) => header_of(enc, &rec.map_err(|e| e.to_string())?)?,
        None => Vec::new(),
    };
    let mut rows = Vec::new();
    for rec in records {
        let rec = rec.map_err(|e| e.to_string())?;
        let cells: Vec<Cell> = rec
            .iter()
            .map(|f| match enc.decode(f) {
                _ if f.is_empty() => Cell::Empty,
                Some(s) => Cell::Text(s),
                None => undecodable(enc, f),
            })
            .collect();
        if cells.iter().all(Cell::is_empty) {
            rows.push(Vec::new()); // keep numbering; skipped later
        } else {
            rows.push(cells);
        }
    }
    Ok(RawTable { header, rows })
}

/// The header's names; a name that is not text is a file error naming its column.
fn header_of(enc: Encoding, rec: &csv::ByteRecord) -> Result<Vec<String>, String> {
    rec.iter()
        .enumerate()
        .map(|(i, f)| {
            enc.decode(f).ok_or_else(|| {
                let byte = first_bad_byte(enc, f).map_or(0, |(_, b)| b);
                format!(
                    "the header of column {} is not text (byte 0x{byte:02X} is neither UTF-8 nor GBK); save the file as CSV UTF-8",
                    i + 1
                )
            })
        })
        .collect()
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
                    Data::Error(e) => Cell::Invalid {
                        shown: e.to_string(),
                        reason: format!("is a spreadsheet error ({e}), not a value"),
                    },
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
