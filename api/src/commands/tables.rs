//! `zhongtai tables`: every canonical table with rows, files, size and version.

use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;

use crate::cli::TablesArgs;
use crate::config::Config;
use crate::output::write_batches;

pub async fn run(cfg: &Config, args: &TablesArgs) -> anyhow::Result<()> {
    let wh = super::open(cfg).await?;
    let infos = wh.tables_info().await?;
    let schema = Arc::new(Schema::new(vec![
        Field::new("table", DataType::Utf8, false),
        Field::new("rows", DataType::UInt64, false),
        Field::new("version", DataType::UInt64, false),
        Field::new("files", DataType::UInt64, false),
        Field::new("bytes", DataType::UInt64, false),
        Field::new("size", DataType::Utf8, false),
    ]));
    let col = |f: fn(&warehouse::TableInfo) -> u64| -> ArrayRef {
        Arc::new(UInt64Array::from_iter_values(infos.iter().map(f)))
    };
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from_iter_values(infos.iter().map(|t| t.name))),
            col(|t| t.rows),
            col(|t| t.version),
            col(|t| t.files),
            col(|t| t.bytes),
            Arc::new(StringArray::from_iter_values(
                infos.iter().map(|t| human(t.bytes)),
            )),
        ],
    )?;
    write_batches(&mut std::io::stdout().lock(), &[batch], args.format)?;
    if args.format == crate::output::Format::Table {
        println!("lake: {}", wh.location().root());
    }
    Ok(())
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
