//! The second half of `zhongtai demo`: the demo's orders reach the lake the way a seller's
//! would. The Jushuitan simulator starts on loopback with the generated orders, a connector
//! `demo-jushuitan` is registered for it, and the sync engine pulls every window into the lake.

use std::time::Duration;

use anyhow::Context;
use connectors::jushuitan::sim::{RunningSim, SimConfig, SimState, SimWorld};
use indicatif::{ProgressBar, ProgressStyle};
use pipelines::demo::DemoConfig;
use pipelines::registry::{self, ConnectorDoc, Registry};
use pipelines::sync::{SyncOptions, SyncReport, sync_stream};
use warehouse::Warehouse;

use super::simulate::{SIM_ACCESS_TOKEN, SIM_REFRESH_TOKEN};
use crate::config::Config;

/// The connector the demo registers.
pub const CONNECTOR: &str = "demo-jushuitan";

/// Serves `world` and syncs it into `wh`; returns the sync's report.
pub async fn sync_demo_orders(
    cfg: &Config,
    wh: &Warehouse,
    world: SimWorld,
    demo: &DemoConfig,
) -> anyhow::Result<SyncReport> {
    let config = SimConfig::default().unlimited();
    let (key, secret) = (config.app_key.clone(), config.app_secret.clone());
    let state = SimState::new(config, world, SIM_ACCESS_TOKEN, SIM_REFRESH_TOKEN);
    let sim = RunningSim::start(state, 0)
        .await
        .context("starting the Jushuitan simulator on loopback")?;
    let text = format!(
        "name = \"{CONNECTOR}\"\nkind = \"jushuitan\"\n\
         description = \"the demo's orders, served by a Jushuitan simulator that ran during `zhongtai demo`\"\n\
         base_url = \"{}\"\napp_key = \"{key}\"\nper_second = 0\nper_minute = 0\n\n[secrets]\n\
         app_secret = {{ env = \"ZHONGTAI_DEMO_JST_APP_SECRET\" }}\n\
         access_token = {{ env = \"ZHONGTAI_DEMO_JST_ACCESS_TOKEN\" }}\n",
        sim.base_url()
    );
    let doc = ConnectorDoc::parse(&text, CONNECTOR)?;
    let reg = Registry::new(&cfg.data_dir);
    reg.add(&doc, true)?;
    let _lock = reg.lock(CONNECTOR)?;
    // The simulator's credentials, handed over in memory (the document only names them).
    let env = |name: &str| match name {
        "ZHONGTAI_DEMO_JST_APP_SECRET" => Some(secret.clone()),
        "ZHONGTAI_DEMO_JST_ACCESS_TOKEN" => Some(SIM_ACCESS_TOKEN.to_string()),
        _ => None,
    };
    let streams = registry::build(&doc, &env, reg.tokens(CONNECTOR), &["orders".to_string()])?;
    let from = demo.start_date().and_time(chrono::NaiveTime::MIN);
    let to = (demo.end_date + chrono::Days::new(1)).and_time(chrono::NaiveTime::MIN);
    // `full`: a --reset lake keeps old cursors in its log; the demo always reads everything.
    let opts = SyncOptions {
        full: true,
        ..SyncOptions::new(from, to)
    };
    let bar = ProgressBar::new(1);
    bar.set_style(
        ProgressStyle::with_template("{spinner} sync orders [{bar:40}] {pos}/{len} windows  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut report = SyncReport::default();
    for s in streams {
        report = sync_stream(wh, CONNECTOR, &s, &opts, &|r: &SyncReport| {
            bar.set_length(r.total_windows.max(1));
            bar.set_position(r.windows);
            bar.set_message(format!("{} pages, {} orders", r.pages, r.records));
        })
        .await
        .context("syncing the demo's orders from the Jushuitan simulator")?;
    }
    bar.finish_and_clear();
    Ok(report)
}
