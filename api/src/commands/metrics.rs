//! `zhongtai metrics`: list the named metrics, or compute one (or print its SQL).
//!
//! Definitions are the built-ins plus `DATA_DIR/metrics/*.toml`; see docs/metrics.md.

use std::sync::Arc;

use anyhow::Context;
use arrow::array::{ArrayRef, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use pipelines::metrics::{Catalog, MetricQuery, compile};

use crate::cli::MetricsArgs;
use crate::config::Config;
use crate::output::{Format, write_batches};

pub async fn run(cfg: &Config, args: &MetricsArgs) -> anyhow::Result<()> {
    let dir = cfg.data_dir.join("metrics");
    let cat = Catalog::load(&dir).context("loading metric definitions")?;
    if args.name == "list" {
        return list(&cat, args.format);
    }
    let mut q = MetricQuery::new(&args.name).with_by(&args.by)?;
    q.from = args.period.from;
    q.to = args.period.to;
    q.shops.clone_from(&args.period.shops);
    for f in &args.filters {
        q = q.with_filter(f)?;
    }
    if args.sql {
        println!("{}", compile(&cat, &q)?);
        return Ok(());
    }
    let wh = super::open(cfg).await?;
    let batches = pipelines::metrics::run(&wh, &cat, &q)
        .await
        .with_context(|| format!("computing metric {}", args.name))?;
    if args.format == Format::Table && batches.iter().all(|b| b.num_rows() == 0) {
        println!("(no rows)");
        return Ok(());
    }
    write_batches(&mut std::io::stdout().lock(), &batches, args.format)
}

/// One row per metric: name, kind, unit, dimensions, titles, description, file.
fn list(cat: &Catalog, format: Format) -> anyhow::Result<()> {
    let mut cols: [Vec<String>; 8] = Default::default();
    for m in cat.all() {
        let dims = cat.dimensions(m)?.join(",");
        let row = [
            m.name.clone(),
            m.kind.name().to_string(),
            m.unit.name().to_string(),
            dims,
            m.title.clone(),
            m.title_zh.clone(),
            m.description.clone(),
            m.origin.clone(),
        ];
        for (c, v) in cols.iter_mut().zip(row) {
            c.push(v);
        }
    }
    let names = [
        "name",
        "kind",
        "unit",
        "dimensions",
        "title",
        "title_zh",
        "description",
        "file",
    ];
    let schema = Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, false))
            .collect::<Vec<_>>(),
    ));
    let arrays: Vec<ArrayRef> = cols
        .into_iter()
        .map(|c| Arc::new(StringArray::from(c)) as ArrayRef)
        .collect();
    let batch = RecordBatch::try_new(schema, arrays)?;
    write_batches(&mut std::io::stdout().lock(), &[batch], format)
}
