//! What a refused import says, and the rejects file `--skip-bad-rows` writes.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use connectors::files::FileRead;

use crate::error::{PipelineError, Result};

/// How many errors a message lists before summarising.
pub(crate) const MAX_LISTED: usize = 20;

/// Every error of the rejected rows (up to [`MAX_LISTED`]), in file order. An error `shared`
/// by several rows (a repeated key, whose reason names all of them) is listed once, at its
/// first row.
pub(crate) fn rejected_error(
    file: &str,
    read: &FileRead,
    shared: &HashSet<String>,
) -> PipelineError {
    let mut listed = HashSet::new();
    let all: Vec<String> = read
        .errors()
        .filter(|e| !shared.contains(&e.reason) || listed.insert(e.reason.as_str()))
        .map(|e| format!("  {e}"))
        .collect();
    let mut details = String::from(
        "  (rows are numbered as in the file and as a spreadsheet shows them: the header is row 1)\n",
    );
    details.push_str(&all[..all.len().min(MAX_LISTED)].join("\n"));
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
pub(crate) fn write_rejects(path: &Path, read: &FileRead) -> Result<PathBuf> {
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
