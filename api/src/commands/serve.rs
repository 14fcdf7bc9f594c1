//! `zhongtai serve`, `zhongtai token create|list|revoke` and `zhongtai user add`.

use std::io::Read as _;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::auth::roles::Role;
use crate::config::Config;
use crate::server::{ServeOptions, signalled, start};
use crate::store::Store;

/// `serve` arguments.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default; put a TLS proxy in front for remote use).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Milliseconds between journal flushes into the lake.
    #[arg(long, default_value_t = 1000)]
    pub flush_ms: u64,
    /// Seconds one SQL query may run.
    #[arg(long, default_value_t = 30)]
    pub query_timeout_s: u64,
    /// Megabytes of memory one SQL query may use.
    #[arg(long, default_value_t = 512)]
    pub query_memory_mb: usize,
    /// Job attempts this server runs at once (0: only queue them, for `zhongtai worker`s)
    /// [default: `[jobs] workers`, else 2].
    #[arg(long)]
    pub workers: Option<usize>,
}

pub async fn serve(cfg: &Config, a: &ServeArgs) -> anyhow::Result<()> {
    let wh = super::open(cfg).await?;
    let mut opts = ServeOptions {
        addr: a.addr,
        flush_every: Duration::from_millis(a.flush_ms.max(50)),
        jobs: cfg.jobs.clone(),
        branding: cfg.branding.clone(),
        secret_policy: cfg.secret_policy.clone(),
        ..ServeOptions::default()
    };
    if let Some(w) = a.workers {
        opts.jobs.workers = w;
    }
    opts.limits.timeout = Duration::from_secs(a.query_timeout_s.max(1));
    opts.limits.memory_bytes = a.query_memory_mb.max(16) << 20;
    let running = start(wh, cfg.data_dir.clone(), opts)
        .await
        .context("starting the server")?;
    // Tests and scripts read this line to find the port (with --addr 127.0.0.1:0).
    println!("listening on http://{}", running.addr);
    eprintln!(
        "zhongtai API on http://{0} — docs at http://{0}/api/v1/docs; create a token with `zhongtai token create --role admin`",
        running.addr
    );
    let stop = running.stopper();
    tokio::spawn(async move {
        signalled().await;
        eprintln!("shutting down: finishing requests and flushing the journal");
        let _ = stop.send(true);
    });
    running.wait().await.context("serving")?;
    Ok(())
}

/// `token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token; the secret is printed once.
    Create {
        /// admin | finance | manager | operator | integrator
        #[arg(long)]
        role: String,
        /// Comma-separated shop ids the token is limited to (default: every shop).
        #[arg(long, value_delimiter = ',')]
        shops: Vec<String>,
        /// A label, e.g. who or what uses it.
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id.
    Revoke { id: String },
}

/// `user` subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create or replace a web UI user; the password is read from stdin.
    Add {
        username: String,
        #[arg(long)]
        role: String,
        #[arg(long, value_delimiter = ',')]
        shops: Vec<String>,
    },
}

fn role(s: &str) -> anyhow::Result<Role> {
    Role::parse(s).with_context(|| {
        format!("unknown role {s:?}; roles: admin, finance, manager, operator, integrator")
    })
}

fn scope(shops: &[String]) -> Option<Vec<String>> {
    (!shops.is_empty()).then(|| shops.to_vec())
}

pub async fn token(cfg: &Config, c: &TokenCommand) -> anyhow::Result<()> {
    let store = Store::open(&cfg.data_dir.join("api.db")).await?;
    match c {
        TokenCommand::Create {
            role: r,
            shops,
            name,
        } => {
            let r = role(r)?;
            let (id, secret) = store.create_token(name, r, &scope(shops), "cli").await?;
            store
                .audit(
                    "cli",
                    "create",
                    &format!("tokens/{id}"),
                    None,
                    Some(&serde_json::json!({"role": r, "shops": scope(shops), "name": name})),
                )
                .await?;
            eprintln!(
                "created token {id} (role {}); it is shown only now:",
                r.as_str()
            );
            println!("{secret}");
        }
        TokenCommand::List => {
            for t in store.list_tokens().await? {
                println!(
                    "{}  {:<10} shops={}  name={}  created {} by {}{}",
                    t.id,
                    t.role.as_str(),
                    t.shops.map_or_else(|| "all".into(), |s| s.join(",")),
                    t.name,
                    t.created_at,
                    t.created_by,
                    t.revoked_at
                        .map(|r| format!("  REVOKED {r}"))
                        .unwrap_or_default()
                );
            }
        }
        TokenCommand::Revoke { id } => {
            if !store.revoke_token(id).await? {
                anyhow::bail!("no live token {id}");
            }
            store
                .audit("cli", "revoke", &format!("tokens/{id}"), None, None)
                .await?;
            println!("revoked {id}");
        }
    }
    Ok(())
}

pub async fn user(cfg: &Config, c: &UserCommand) -> anyhow::Result<()> {
    let store = Store::open(&cfg.data_dir.join("api.db")).await?;
    let UserCommand::Add {
        username,
        role: r,
        shops,
    } = c;
    let r = role(r)?;
    let mut pw = String::new();
    std::io::stdin()
        .read_to_string(&mut pw)
        .context("reading the password from stdin")?;
    let pw = pw.trim_end_matches(['\n', '\r']);
    store.put_user(username, pw, r, &scope(shops)).await?;
    store
        .audit(
            "cli",
            "put",
            &format!("users/{username}"),
            None,
            Some(&serde_json::json!({"role": r, "shops": scope(shops)})),
        )
        .await?;
    println!("saved user {username} (role {})", r.as_str());
    Ok(())
}
