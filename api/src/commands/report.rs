//! `zhongtai report`: a report (or with `--dashboard`, a dashboard) written to an HTML, PDF
//! or Excel file — the same documents `GET /api/v1/reports/{name}.{ext}` serves.

use std::time::Instant;

use anyhow::{Context, bail};
use pipelines::metrics::Catalog;

use crate::cli::{ReportArgs, ReportFormat};
use crate::config::Config;
use crate::dashboards::{Export, Filters, Library, Runner, dashboard_doc, render, report_doc};

pub async fn run(cfg: &Config, a: &ReportArgs) -> anyhow::Result<()> {
    let lib = Library::load(&cfg.data_dir).map_err(anyhow::Error::msg)?;
    if a.name == "list" {
        println!("reports:");
        for r in &lib.reports {
            let statuses = if r.statuses.is_empty() {
                String::new()
            } else {
                format!("  [--status {}]", r.statuses.join("|"))
            };
            println!(
                "  {:<18} {}{statuses}",
                r.id,
                dashboards::both(&r.title, r.title_zh.as_deref())
            );
        }
        println!("dashboards (--dashboard):");
        for d in &lib.dashboards {
            println!(
                "  {:<18} {}",
                d.id,
                dashboards::both(&d.title, d.title_zh.as_deref())
            );
        }
        return Ok(());
    }
    if let (Some(f), Some(t)) = (a.period.from, a.period.to)
        && f > t
    {
        bail!("--from {f} is after --to {t}");
    }
    let fmt = match a.format {
        ReportFormat::Html => Export::Html,
        ReportFormat::Pdf => Export::Pdf,
        ReportFormat::Xlsx => Export::Xlsx,
    };
    let cat = Catalog::load(&cfg.data_dir.join("metrics")).context("loading metric definitions")?;
    let wh = super::open(cfg).await?;
    let runner = Runner::local(&wh, &a.period.shops)
        .await
        .map_err(anyhow::Error::msg)?;
    let f = Filters {
        from: a.period.from,
        to: a.period.to,
        shops: a.period.shops.clone(),
        status: a.status.clone(),
        platform: a.platform.clone(),
        category: a.category.clone(),
    };
    let started = Instant::now();
    let doc = if a.dashboard {
        let d = lib.dashboard(&a.name).with_context(|| {
            format!(
                "no dashboard {:?}; `zhongtai report list` shows them",
                a.name
            )
        })?;
        if a.status.is_some() {
            bail!("dashboards have no status filter");
        }
        dashboard_doc(&runner, &cat, d, &f, &cfg.branding).await
    } else {
        let r = lib.report(&a.name).with_context(|| {
            format!("no report {:?}; `zhongtai report list` shows them", a.name)
        })?;
        report_doc(&runner, &cat, r, &f, &cfg.branding).await
    }
    .map_err(|e| anyhow::anyhow!("report {}: {}", a.name, e.message()))?;
    let rows: usize = doc.sections.iter().map(|s| s.table.rows.len()).sum();
    let sections = doc.sections.len();
    let queried = started.elapsed();
    let bytes = render(doc, fmt)
        .await
        .map_err(|e| anyhow::anyhow!("report {}: {}", a.name, e.message()))?;
    let out = a
        .output
        .clone()
        .unwrap_or_else(|| format!("{}.{}", a.name, fmt.ext()).into());
    // Written beside and renamed, so a failed run never leaves half a file under the name.
    let tmp = out.with_extension(format!("{}.partial", fmt.ext()));
    std::fs::write(&tmp, &bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &out).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "{}: {sections} sections, {rows} rows → {} ({} KB; queries {:.1} s, {} {:.1} s)",
        a.name,
        out.display(),
        bytes.len().div_ceil(1024),
        queried.as_secs_f64(),
        fmt.ext(),
        (started.elapsed() - queried).as_secs_f64()
    );
    Ok(())
}
