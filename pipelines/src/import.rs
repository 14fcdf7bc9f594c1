//! `zhongtai import`: a CSV, XLSX or Parquet file into a canonical table, all or nothing.
//!
//! The file is read strictly against the table's schema (connectors::files). If any row is
//! bad, nothing is committed and the error lists rows and columns, unless `skip_bad_rows`,
//! which commits the good rows and writes the bad ones, with their errors, to
//! `<file>.rejects.csv` beside the input. `source` may be left out of the file; it is then
//! `import:<file name>`: the row's owner, one of the `import:` family. Append refuses keys that
//! already exist; upsert replaces rows of any import and refuses keys another writer (a
//! connector, an entry form) owns.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{Field, Schema};
use connectors::files::{FileRead, read_file};
use warehouse::schema::SOURCE_COLUMN;
use warehouse::{Owner, Warehouse};

use crate::error::{PipelineError, Result};

/// How rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportMode {
    /// New rows only; a key that already exists is an error.
    #[default]
    Append,
    /// Insert new rows and replace existing ones by primary key.
    Upsert,
}

/// Import options.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    pub mode: ImportMode,
    pub skip_bad_rows: bool,
}

/// The owner family of imported rows.
pub use vocab::ids::IMPORT_OWNERS;

/// What an import did.
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub rows_read: usize,
    pub rows_written: u64,
    pub rejected: usize,
    pub rejects_file: Option<PathBuf>,
    pub version_before: u64,
    pub version_after: u64,
}

/// How many cell errors an error message lists before summarising.
const MAX_LISTED: usize = 20;

/// Imports `path` into `table`.
pub async fn import_file(
    wh: &Warehouse,
    table: &str,
    path: &Path,
    opts: ImportOptions,
) -> Result<ImportReport> {
    let def = wh.def(table)?;
    let version_before = wh.version(table).await?;
    // `source` is optional in files: make it nullable for reading and fill it afterwards.
    let schema = def.arrow_schema();
    let read_schema = Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| {
                if f.name() == SOURCE_COLUMN {
                    Arc::new(Field::new(SOURCE_COLUMN, f.data_type().clone(), true))
                } else {
                    Arc::clone(f)
                }
            })
            .collect::<Vec<_>>(),
    ));
    let read = read_file(path, &read_schema)?;
    let file_name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut rejects_file = None;
    if !read.rejected.is_empty() {
        if !opts.skip_bad_rows {
            return Err(rejected_error(&file_name, &read));
        }
        rejects_file = Some(write_rejects(path, &read)?);
    }
    // Imports own their rows as `import:<file name>`, members of the `import:` family: a
    // corrected file replaces another import's rows, never a connector's or a form's. Empty
    // `source` cells are given the file's name; a row naming a non-import owner is refused.
    let op = wh.write(
        table,
        Owner::Member {
            family: IMPORT_OWNERS.into(),
            name: vocab::ids::import_owner(&file_name),
        },
    );
    let report = match opts.mode {
        ImportMode::Append => op.insert_new(&read.batches).await?,
        ImportMode::Upsert => op.upsert(&read.batches).await?,
    };
    Ok(ImportReport {
        rows_read: read.rows_read,
        rows_written: report.rows,
        rejected: read.rejected.len(),
        rejects_file,
        version_before,
        version_after: report.version,
    })
}

fn rejected_error(file: &str, read: &FileRead) -> PipelineError {
    let all: Vec<String> = read.errors().map(|e| format!("  {e}")).collect();
    let mut details = all
        .iter()
        .take(MAX_LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    if all.len() > MAX_LISTED {
        details.push_str(&format!(
            "\n  ... and {} more errors",
            all.len() - MAX_LISTED
        ));
    }
    details.push_str(
        "\nFix the file and import again, or pass --skip-bad-rows to import the good rows.",
    );
    PipelineError::Rejected {
        file: file.to_string(),
        count: read.rejected.len(),
        details,
    }
}

/// `<file>.rejects.csv`: the row number, its errors, then the original cells.
fn write_rejects(path: &Path, read: &FileRead) -> Result<PathBuf> {
    let mut out = path.as_os_str().to_owned();
    out.push(".rejects.csv");
    let out = PathBuf::from(out);
    let io = |e: std::io::Error| PipelineError::RejectsFile {
        path: out.display().to_string(),
        source: e,
    };
    let mut w = csv::Writer::from_path(&out).map_err(|e| io(e.into()))?;
    let mut header = vec!["row".to_string(), "errors".to_string()];
    header.extend(read.header.iter().cloned());
    w.write_record(&header).map_err(|e| io(e.into()))?;
    for r in &read.rejected {
        let errors = r
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.column, e.reason))
            .collect::<Vec<_>>()
            .join("; ");
        let mut rec = vec![r.row.to_string(), errors];
        rec.extend(r.cells.iter().cloned());
        w.write_record(&rec).map_err(|e| io(e.into()))?;
    }
    w.flush().map_err(io)?;
    Ok(out)
}
