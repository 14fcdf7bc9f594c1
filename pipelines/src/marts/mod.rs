//! Marts: small aggregate tables maintained incrementally from the canonical tables, so
//! dashboard-type queries read thousands of rows instead of millions.
//!
//! A [`MartDef`] names its source table, the business-date column both share, and the SQL
//! that aggregates the source for a set of dates. [`refresh`] compares the source's Delta
//! version with the one the mart last consumed (a Delta app transaction committed with the
//! mart's rows): if they differ, the files added or removed since then tell which business
//! days changed, and only those days are recomputed and replaced, in one commit. A mart
//! that has never been built, or whose source history was vacuumed, is rebuilt whole.
//! Readers can trust a mart whose recorded version equals the source's ([`is_fresh`]).

use std::collections::BTreeSet;

use warehouse::{Owner, Warehouse, sql_text};

use crate::error::Result;

/// One mart.
#[derive(Debug, Clone, Copy)]
pub struct MartDef {
    /// The mart's table in the catalog.
    pub table: &'static str,
    /// The table it aggregates.
    pub source: &'static str,
    /// The business-date column of both.
    pub date_column: &'static str,
    /// A SELECT over the source producing the mart's columns; `{dates}` is replaced by a
    /// predicate on the date column.
    pub sql: &'static str,
}

/// Every mart, in refresh order.
pub const MARTS: &[MartDef] = &[MartDef {
    table: "mart_daily_sales",
    source: "orders",
    date_column: "order_date",
    sql: "SELECT order_date, shop_id, min(platform) AS platform, count(*) AS orders, \
          count(paid_at) AS paid_orders, \
          sum(CASE WHEN status = 'closed' THEN 1 ELSE 0 END) AS closed_orders, \
          sum(CASE WHEN is_cod THEN 1 ELSE 0 END) AS cod_orders, \
          sum(pay_amount) AS gmv, sum(goods_amount) AS goods_amount, \
          sum(discount_amount) AS discount_amount, sum(freight_amount) AS freight_amount, \
          'mart' AS source \
          FROM orders WHERE {dates} GROUP BY order_date, shop_id",
}];

/// What a refresh did to one mart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refreshed {
    pub mart: &'static str,
    /// The source version the mart now reflects.
    pub source_version: u64,
    /// Business days recomputed; `None` when the mart was already fresh.
    pub days: Option<usize>,
    /// Whether it was rebuilt whole.
    pub full: bool,
}

fn app_id(m: &MartDef) -> String {
    format!("zhongtai.mart.{}", m.table)
}

/// The owner of every mart row (the SQL writes it as `source`).
use vocab::ids::MART_OWNER;

/// Whether the mart reflects the source's latest version.
pub async fn is_fresh(wh: &Warehouse, m: &MartDef) -> Result<bool> {
    let done = wh.app_version(m.table, &app_id(m)).await?;
    Ok(done == Some(wh.version(m.source).await? as i64))
}

/// Brings one mart up to date with its source.
pub async fn refresh(wh: &Warehouse, m: &MartDef) -> Result<Refreshed> {
    let version = wh.version(m.source).await?;
    let done = wh.app_version(m.table, &app_id(m)).await?;
    if done == Some(version as i64) {
        return Ok(Refreshed {
            mart: m.table,
            source_version: version,
            days: None,
            full: false,
        });
    }
    let changed = match done {
        Some(v) if v >= 0 => match wh.changed_files(m.source, v as u64).await {
            Ok(files) => Some(
                wh.distinct_in_files(m.source, &files, m.date_column)
                    .await?,
            ),
            // The old version is gone (vacuumed) or unreadable: rebuild.
            Err(e) => {
                tracing::info!(mart = m.table, error = %e, "rebuilding the mart whole");
                None
            }
        },
        _ => None,
    };
    let full = changed.is_none();
    let days: BTreeSet<String> = match changed {
        Some(d) => d,
        None => {
            let mut all = BTreeSet::new();
            for t in [m.source, m.table] {
                let q = format!(
                    "SELECT DISTINCT CAST({c} AS VARCHAR) FROM {t}",
                    c = m.date_column
                );
                for b in wh.query(&q).await? {
                    all.extend(
                        crate::rows::strings(b.column(0).as_ref())?
                            .into_iter()
                            .flatten(),
                    );
                }
            }
            all
        }
    };
    let groups: Vec<String> = days.iter().cloned().collect();
    let batches = if groups.is_empty() {
        Vec::new()
    } else {
        let list = groups
            .iter()
            .map(|d| format!("DATE {}", sql_text(d)))
            .collect::<Vec<_>>();
        let pred = format!("{} IN ({})", m.date_column, list.join(", "));
        wh.query(&m.sql.replace("{dates}", &pred)).await?
    };
    // One commit: the recomputed days replace the old ones (days that lost all their rows
    // are emptied), and the source version travels with them.
    wh.write(m.table, Owner::source(MART_OWNER))
        .app_transaction(app_id(m), version as i64)
        .replace_children_of(&groups, &batches)
        .await?;
    Ok(Refreshed {
        mart: m.table,
        source_version: version,
        days: Some(groups.len()),
        full,
    })
}

/// Refreshes every mart.
pub async fn refresh_all(wh: &Warehouse) -> Result<Vec<Refreshed>> {
    let mut out = Vec::new();
    for m in MARTS {
        out.push(refresh(wh, m).await?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
