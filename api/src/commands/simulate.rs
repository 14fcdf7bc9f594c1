//! `zhongtai simulate PLATFORM`: a faithful platform simulator on loopback, serving a world
//! generated like `zhongtai demo` (or, for `robots`, alert receivers), until Ctrl-C. It prints the credentials to use and can
//! write a ready-to-register connector document.

use std::time::Instant;

use anyhow::Context;
use chrono::Utc;
use connectors::jushuitan::sim::{RunningSim, SimConfig, SimState};
use pipelines::demo::{DemoConfig, jushuitan_world};

use crate::cli::{Platform, SimulateArgs};

/// The simulator's test credentials (not secrets: they only open the local simulator).
pub const SIM_ACCESS_TOKEN: &str = "sim-access-token";
pub const SIM_REFRESH_TOKEN: &str = "sim-refresh-token";

pub async fn run(args: &SimulateArgs) -> anyhow::Result<()> {
    match args.platform {
        Platform::Jushuitan => jushuitan(args).await,
        Platform::Minishop => minishop(args).await,
        Platform::Taobao => taobao(args).await,
        Platform::Robots => robots(args).await,
    }
}

/// The robots' test credentials (they only open the local receivers).
pub const ROBOT_WECOM_KEY: &str = "sim-wecom-key";
pub const ROBOT_DING_TOKEN: &str = "sim-ding-token";
pub const ROBOT_DING_SECRET: &str = "SECsim-ding-secret";
pub const ROBOT_FEISHU_TOKEN: &str = "sim-feishu-hook";
pub const ROBOT_FEISHU_SECRET: &str = "sim-feishu-secret";
pub const ROBOT_WEBHOOK_SECRET: &str = "sim-webhook-secret";

async fn robots(args: &SimulateArgs) -> anyhow::Result<()> {
    use connectors::notify::sim::{ImSim, ImSimConfig, SmtpSink};
    let smtp = std::sync::Arc::new(
        SmtpSink::start(None)
            .await
            .context("starting the SMTP sink")?,
    );
    let cfg = ImSimConfig {
        wecom_keys: vec![ROBOT_WECOM_KEY.into()],
        dingtalk: vec![(ROBOT_DING_TOKEN.into(), ROBOT_DING_SECRET.into())],
        feishu: vec![(ROBOT_FEISHU_TOKEN.into(), ROBOT_FEISHU_SECRET.into())],
        webhook_secret: Some(ROBOT_WEBHOOK_SECRET.into()),
    };
    let sim = ImSim::start_with_smtp(cfg, args.port, Some(std::sync::Arc::clone(&smtp)))
        .await
        .with_context(|| format!("binding 127.0.0.1:{}", args.port))?;
    println!("# alert receivers (simulators only); use them from [alerts.channels] with ${{ENV}}:");
    println!("export ZT_WECOM_URL={}", sim.wecom_url(ROBOT_WECOM_KEY));
    println!("export ZT_DING_URL={}", sim.dingtalk_url(ROBOT_DING_TOKEN));
    println!("export ZT_DING_SECRET={ROBOT_DING_SECRET}");
    println!(
        "export ZT_FEISHU_URL={}",
        sim.feishu_url(ROBOT_FEISHU_TOKEN)
    );
    println!("export ZT_FEISHU_SECRET={ROBOT_FEISHU_SECRET}");
    println!("export ZT_HOOK_URL={}", sim.webhook_url("zhongtai"));
    println!("export ZT_HOOK_SECRET={ROBOT_WEBHOOK_SECRET}");
    println!("export ZT_SMTP_PORT={}", smtp.port());
    println!(
        "# what arrived: GET {0}/_sim/log and {0}/_sim/mails",
        sim.base_url()
    );
    println!("listening on {}", sim.base_url());
    use std::io::Write;
    let _ = std::io::stdout().flush();
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}

fn end_date(args: &SimulateArgs) -> chrono::NaiveDate {
    args.end_date
        .unwrap_or_else(|| Utc::now().with_timezone(&vocab::BUSINESS_TZ).date_naive())
}

/// The example manifest shipped in the repository, pointed at `base_url`.
pub fn minishop_manifest(base_url: &str) -> String {
    include_str!("../../../examples/connectors/minishop.toml")
        .replace("http://127.0.0.1:7302", base_url)
}

async fn minishop(args: &SimulateArgs) -> anyhow::Result<()> {
    use connectors::minishop_sim::{self as ms, MsConfig, MsState, RunningMiniShop};
    let days = args.days.max(1);
    let start = end_date(args) - chrono::Days::new(u64::from(days - 1));
    let n = args.orders;
    let seed = args.seed;
    let world = tokio::task::spawn_blocking(move || ms::generate(n, seed, start, days))
        .await
        .context("the world generator stopped")?;
    let mut config = MsConfig::default();
    if args.unlimited {
        config = config.unlimited();
    }
    let secret = config.app_secret.clone();
    let state = MsState::new(config, world);
    let sim = RunningMiniShop::start(state, args.port)
        .await
        .with_context(|| format!("binding 127.0.0.1:{}", args.port))?;
    let doc = minishop_manifest(&sim.base_url());
    if let Some(path) = &args.write_connector {
        std::fs::write(path, &doc).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("# MiniShop simulator: {n} orders from {start} over {days} days");
    println!("# credentials (simulator only):");
    println!("export ZHONGTAI_SECRET_MINISHOP={secret}");
    println!("listening on {}", sim.base_url());
    use std::io::Write;
    let _ = std::io::stdout().flush();
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}

async fn jushuitan(args: &SimulateArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let demo = DemoConfig {
        orders: args.orders,
        skus: 3_000,
        days: args.days.max(1),
        end_date: args
            .end_date
            .unwrap_or_else(|| Utc::now().with_timezone(&vocab::BUSINESS_TZ).date_naive()),
        seed: args.seed,
    };
    eprintln!(
        "generating {} orders over {} days ({} to {}), seed {}",
        demo.orders,
        demo.days,
        demo.start_date(),
        demo.end_date,
        demo.seed
    );
    let world = tokio::task::spawn_blocking(move || jushuitan_world(&demo))
        .await
        .context("the world generator stopped")??;
    let mut config = SimConfig::default();
    if args.unlimited {
        config = config.unlimited();
    }
    let (key, secret) = (config.app_key.clone(), config.app_secret.clone());
    let n = world.len();
    let state = SimState::new(config, world, SIM_ACCESS_TOKEN, SIM_REFRESH_TOKEN);
    let sim = RunningSim::start(state, args.port)
        .await
        .with_context(|| format!("binding 127.0.0.1:{}", args.port))?;
    let doc = connector_doc(&sim.base_url(), &key, args.unlimited);
    if let Some(path) = &args.write_connector {
        std::fs::write(path, &doc).with_context(|| format!("writing {}", path.display()))?;
    }
    println!(
        "# Jushuitan simulator: {n} orders, ready in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!("# credentials (simulator only):");
    println!("export JST_APP_SECRET={secret}");
    println!("export JST_ACCESS_TOKEN={SIM_ACCESS_TOKEN}");
    println!("export JST_REFRESH_TOKEN={SIM_REFRESH_TOKEN}");
    println!("# connector document:\n{doc}");
    println!("listening on {}", sim.base_url());
    use std::io::Write;
    let _ = std::io::stdout().flush();
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    let s = &sim.state.stats;
    eprintln!(
        "stopping: {} requests, {} rows served, {} rate-limited, {} bad signatures",
        connectors::jushuitan::sim::SimStats::get(&s.requests),
        connectors::jushuitan::sim::SimStats::get(&s.rows_served),
        connectors::jushuitan::sim::SimStats::get(&s.rate_limited),
        connectors::jushuitan::sim::SimStats::get(&s.bad_sign),
    );
    Ok(())
}

/// A connector document for a Jushuitan simulator at `base_url`.
pub fn connector_doc(base_url: &str, app_key: &str, unlimited: bool) -> String {
    let limits = if unlimited {
        "# the simulator runs without rate limits\nper_second = 0\nper_minute = 0\n"
    } else {
        ""
    };
    format!(
        "name = \"jst-sim\"\nkind = \"jushuitan\"\ndescription = \"Jushuitan simulator on loopback\"\n\
         base_url = \"{base_url}\"\napp_key = \"{app_key}\"\n{limits}\n[secrets]\n\
         app_secret = {{ env = \"JST_APP_SECRET\" }}\naccess_token = {{ env = \"JST_ACCESS_TOKEN\" }}\n\
         refresh_token = {{ env = \"JST_REFRESH_TOKEN\" }}\n"
    )
}

async fn taobao(args: &SimulateArgs) -> anyhow::Result<()> {
    use connectors::top::sim::{
        self as top, RunningTopSim, TopSimConfig, TopSimState, session_for,
    };
    let days = args.days.max(1);
    let start =
        (end_date(args) - chrono::Days::new(u64::from(days - 1))).and_time(chrono::NaiveTime::MIN);
    let n = usize::try_from(args.orders).unwrap_or(usize::MAX);
    let seed = args.seed;
    let world = tokio::task::spawn_blocking(move || top::generate(n, seed, start, days))
        .await
        .context("the world generator stopped")?;
    let mut config = TopSimConfig::default();
    if args.unlimited {
        config = config.unlimited();
    }
    let (key, secret) = (config.app_key.clone(), config.app_secret.clone());
    let state = TopSimState::new(config, world);
    let sim = RunningTopSim::start(state, args.port)
        .await
        .with_context(|| format!("binding 127.0.0.1:{}", args.port))?;
    let doc = |name: &str, shop: &str, session_env: &str| {
        let limits = if args.unlimited {
            "per_second = 0\nper_minute = 0\n"
        } else {
            ""
        };
        format!(
            "name = \"{name}\"\nkind = \"taobao\"\ndescription = \"TOP simulator on loopback\"\n\
             gateway_url = \"{}\"\napp_key = \"{key}\"\nshop_id = \"{shop}\"\n{limits}\n[secrets]\n\
             app_secret = {{ env = \"TOP_APP_SECRET\" }}\nsession = {{ env = \"{session_env}\" }}\n",
            sim.gateway_url()
        )
    };
    let tmall = doc("tmall-sim", "tb:tmall-flagship", "TOP_SESSION_TMALL");
    let taobao = doc("taobao-sim", "tb:taobao-shop", "TOP_SESSION_TAOBAO");
    if let Some(path) = &args.write_connector {
        std::fs::write(path, &tmall).with_context(|| format!("writing {}", path.display()))?;
    }
    println!(
        "# TOP simulator: {n} trades from {start} over {days} days (Tmall and Taobao sellers)"
    );
    println!("# credentials (simulator only):");
    println!("export TOP_APP_SECRET={secret}");
    println!("export TOP_SESSION_TMALL={}", session_for(0));
    println!("export TOP_SESSION_TAOBAO={}", session_for(1));
    println!("# connector documents:\n{tmall}\n{taobao}");
    println!("listening on {}", sim.base_url());
    use std::io::Write;
    let _ = std::io::stdout().flush();
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}
