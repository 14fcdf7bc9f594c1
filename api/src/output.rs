//! Renders query results as an aligned table, CSV or JSON (an array of objects). Money keeps
//! its decimals exactly in every format.

use std::io::Write;

use arrow::record_batch::RecordBatch;
use clap::ValueEnum;

/// Output formats of `query` and `tables`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Table,
    Csv,
    Json,
}

/// Writes `batches` to `out` in `format`.
pub fn write_batches(
    out: &mut dyn Write,
    batches: &[RecordBatch],
    format: Format,
) -> anyhow::Result<()> {
    match format {
        Format::Table => {
            writeln!(
                out,
                "{}",
                arrow::util::pretty::pretty_format_batches(batches)?
            )?;
        }
        Format::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(out);
            for b in batches {
                w.write(b)?;
            }
        }
        Format::Json => {
            let mut w = arrow::json::ArrayWriter::new(Vec::new());
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
            let bytes = w.into_inner();
            out.write_all(if bytes.is_empty() { b"[]" } else { &bytes })?;
            writeln!(out)?;
        }
    }
    Ok(())
}
