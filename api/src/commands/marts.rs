//! `zhongtai marts [refresh|list]`: the incrementally maintained aggregate tables.

use anyhow::bail;

use crate::config::Config;

pub async fn run(cfg: &Config, action: &str) -> anyhow::Result<()> {
    let wh = super::open(cfg).await?;
    match action {
        "refresh" => {
            super::refresh_marts(&wh).await?;
            for m in pipelines::marts::MARTS {
                println!(
                    "{} is fresh (source {} version {})",
                    m.table,
                    m.source,
                    wh.version(m.source).await?
                );
            }
            Ok(())
        }
        "list" => {
            for m in pipelines::marts::MARTS {
                let fresh = pipelines::marts::is_fresh(&wh, m).await?;
                println!(
                    "{:<20} from {:<10} by {:<12} {}",
                    m.table,
                    m.source,
                    m.date_column,
                    if fresh {
                        "fresh"
                    } else {
                        "stale: zhongtai marts refresh"
                    }
                );
            }
            Ok(())
        }
        other => bail!("marts {other}: use refresh or list"),
    }
}
