//! `zhongtai import`: a CSV, XLSX or Parquet file into a canonical table, all or nothing.
//!
//! The file is read strictly against the table's schema (connectors::files). If any row is
//! bad, nothing is committed and the error lists rows and columns, unless `skip_bad_rows`,
//! which commits the good rows and writes the bad ones, with their errors, to
//! `<file>.rejects.csv` beside the input. `source` may be left out of the file; it is then
//! `import:<file name>`: the row's owner, one of the `import:` family. Append refuses keys that
//! already exist; upsert replaces rows of any import and refuses keys another writer (a
//! connector, an entry form) owns.
//!
//! Rows are validated like entry-form submissions before anything is written: the table's
//! entry form's field checks and references, the schema's word lists, calendar years and
//! parents (`rules.rs`, applied by `check.rs`); references are looked up in the lake once per
//! import (`known.rs`); keys the file repeats, keys the lake holds and `source` cells naming
//! another writer are found with their rows (`keys.rs`). Every error names the file row (the
//! header is row 1) and the column; a refused import commits nothing (`report.rs` words it).

mod check;
mod keys;
mod known;
mod report;
pub(crate) mod rules;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::{Field, Schema};
use connectors::files::read_file;
use warehouse::schema::SOURCE_COLUMN;
use warehouse::{Owner, Warehouse};

use crate::error::Result;

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
    let mut read = read_file(path, &read_schema)?;
    let file_name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    // Imports own their rows as `import:<file name>`, members of the `import:` family: a
    // corrected file replaces another import's rows, never a connector's or a form's. Empty
    // `source` cells are given the file's name; a row naming a non-import owner is refused.
    let owner = Owner::Member {
        family: IMPORT_OWNERS.into(),
        name: vocab::ids::import_owner(&file_name),
    };
    // The rows the file read are checked like form submissions; bad ones join the rows with
    // bad cells.
    let rules = rules::for_table(def);
    let known = known::load(wh, def, &rules, &read).await?;
    let mut errors = check::rows(&read, &rules, &known);
    errors.extend(keys::foreign_sources(def, &read, &owner));
    let repeated = keys::repeated(def, &read)?;
    let shared = repeated.iter().map(|e| e.reason.clone()).collect();
    errors.extend(repeated);
    errors.extend(keys::in_lake(wh, def, &read, opts.mode, &owner).await?);
    read.reject(errors)?;
    let mut rejects_file = None;
    if !read.rejected.is_empty() {
        if !opts.skip_bad_rows {
            return Err(report::rejected_error(&file_name, &read, &shared));
        }
        rejects_file = Some(report::write_rejects(path, &read)?);
    }
    let op = wh.write(table, owner);
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

#[cfg(test)]
mod tests;
