//! `zhongtai demo`: generates the demo world, loads it, and prints what it did.

use std::time::Instant;

use anyhow::Context;
use chrono::Utc;
use indicatif::{ProgressBar, ProgressStyle};
use pipelines::demo::{DemoConfig, DemoProgress, run_demo, yuan};

use crate::cli::DemoArgs;
use crate::config::Config;

/// The ledger file the demo leaves in the data dir (tests and users compare SQL against it).
pub const LEDGER_FILE: &str = "demo-ledger.json";
/// With `--anomalies`: what was planted and the breaks each must cause.
pub const ANOMALIES_FILE: &str = "demo-anomalies.json";

pub async fn run(cfg: &Config, args: &DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let end_date = args
        .end_date
        .unwrap_or_else(|| Utc::now().with_timezone(&vocab::BUSINESS_TZ).date_naive());
    let demo = DemoConfig {
        orders: args.orders,
        skus: args.skus,
        days: args.days.max(1),
        end_date,
        seed: args.seed,
    };
    let wh = super::open(cfg).await?;
    eprintln!(
        "generating {} orders over {} days ({} to {}), {} SKUs, seed {} into {}",
        demo.orders,
        demo.days,
        demo.start_date(),
        demo.end_date,
        demo.skus,
        demo.seed,
        wh.location().root()
    );
    let bar = ProgressBar::new(demo.orders);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg:12} [{bar:40}] {pos}/{len} orders ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("generating");
    let world = (!args.direct).then(connectors::jushuitan::sim::SimWorld::default);
    let report = run_demo(&wh, &demo, args.reset, world.as_ref(), &|p| match p {
        DemoProgress::Orders(n) => bar.set_position(n),
        DemoProgress::Committing { table, n, total } => {
            bar.set_message(format!("commit {n}/{total} {table}"))
        }
    })
    .await?;
    bar.finish_and_clear();
    let synced = match world {
        Some(world) => Some(super::demo_sync::sync_demo_orders(cfg, &wh, world, &demo).await?),
        None => None,
    };

    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("creating {}", cfg.data_dir.display()))?;
    super::refresh_marts(&wh).await?;
    let anomalies = if args.anomalies {
        let planted = pipelines::recon::inject::inject(&wh, end_date)
            .await
            .context("planting anomalies")?;
        let path = cfg.data_dir.join(ANOMALIES_FILE);
        std::fs::write(&path, serde_json::to_vec_pretty(&planted)?)
            .with_context(|| format!("writing {}", path.display()))?;
        super::refresh_marts(&wh).await?;
        Some((planted.len(), path))
    } else {
        None
    };
    let ledger_path = cfg.data_dir.join(LEDGER_FILE);
    std::fs::write(&ledger_path, serde_json::to_vec_pretty(&report.ledger)?)
        .with_context(|| format!("writing {}", ledger_path.display()))?;

    let ledger = &report.ledger;
    println!(
        "zhongtai demo: {} to {}, done in {:.1}s",
        report.first_day,
        report.last_day,
        started.elapsed().as_secs_f64()
    );
    println!();
    println!("{:<10} {:>10} {:>18}", "shop", "orders", "pay_amount");
    let mut total = (0u64, 0i64);
    for (shop, (n, fen)) in ledger.per_shop() {
        println!("{shop:<10} {n:>10} {:>18}", yuan(fen));
        total.0 += n;
        total.1 += fen;
    }
    println!("{:<10} {:>10} {:>18}", "total", total.0, yuan(total.1));
    println!();
    if let Some(r) = &synced {
        println!(
            "orders came through the connector `{}`: a Jushuitan simulator on loopback served {} \
             orders in {} pages and the sync wrote {} orders, {} lines and {} payments in {:.1}s",
            super::demo_sync::CONNECTOR,
            r.records,
            r.pages,
            r.rows_in("orders"),
            r.rows_in("order_items"),
            r.rows_in("payments"),
            r.elapsed.as_secs_f64()
        );
        println!();
    }
    let rows: u64 = ledger.rows.values().sum();
    println!(
        "{rows} rows in {} tables; the generator's ledger is in {}",
        ledger.rows.len(),
        ledger_path.display()
    );
    println!();
    if let Some((n, path)) = &anomalies {
        println!(
            "planted {n} anomalies for the reconciliation checks (the money totals above are \
             the generator's, before them); what each must cause is in {}",
            path.display()
        );
        println!("  zhongtai reconcile --as-of {end_date}     # then: zhongtai reconcile breaks");
        println!();
    }
    println!("Look at it:");
    println!("  zhongtai tables");
    println!(
        "  zhongtai query \"select shop_id, count(*), sum(pay_amount) from orders group by 1 order by 1\""
    );
    println!(
        "  zhongtai query \"select order_date, sum(pay_amount) as gmv from orders group by 1 order by 2 desc limit 5\""
    );
    println!("  zhongtai metrics gross_profit --by shop,month");
    println!("  zhongtai reconcile --as-of {end_date}");
    Ok(())
}
