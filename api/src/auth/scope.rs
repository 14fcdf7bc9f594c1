//! Shop scopes on SQL: how each lake table is restricted for a principal.
//!
//! A scoped principal's SQL runs in a session where every table name is a view that already
//! filters to its shops (by the table's `shop_id`, or through the order, shipment or break the
//! row belongs to). The SQL text is never trusted or rewritten: the base tables are simply
//! not in the principal's session. Tables that hold no shop's rows (products, stock,
//! purchasing) are shared, except the stock movements a shop's orders and returns caused;
//! tables mixing every shop's raw data are hidden from scoped callers.

use datafusion::prelude::SessionContext;
use warehouse::datafusion;
use warehouse::sql_text;

use super::Principal;
use super::roles::{Perm, allows};

/// How a table is restricted to a principal's shops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableScope {
    /// Rows carry their shop in `shop_id`.
    Shop,
    /// Rows belong to the shop of their `order_id`.
    ViaOrder,
    /// Rows belong to the shop of their `shipment_id`.
    ViaShipment,
    /// Rows belong to the shop of the shipment with their `tracking_no`.
    ViaTracking,
    /// Rows belong to the shop of their reconciliation `break_id`.
    ViaBreak,
    /// Company-wide stock data, except rows caused by a shop's order, shipment or return case
    /// (`ref_type` `order` / `shipment` / `refund`), which belong to that shop: another shop's sales by
    /// SKU are not company-wide.
    SharedStock,
    /// Company-wide reference or stock data: the same for every shop.
    Shared,
    /// Mixes every shop's data in ways that cannot be filtered: unscoped callers only.
    Unscoped,
}

/// The policy of each lake table; `None` for an unknown table (a test checks all are known).
pub fn policy(table: &str) -> Option<TableScope> {
    use TableScope::*;
    Some(match table {
        "shops" | "orders" | "order_items" | "payments" | "refunds" | "shipments"
        | "platform_bills" | "marketing_expenses" | "salaries" | "shop_traffic" | "fee_rates"
        | "mart_daily_sales" | "recon_breaks" => Shop,
        "cod_remittances" => ViaOrder,
        "logistics_events" => ViaShipment,
        "carrier_statements" => ViaTracking,
        "recon_break_events" => ViaBreak,
        "brands"
        | "categories"
        | "spus"
        | "skus"
        | "warehouses"
        | "locations"
        | "stock_snapshots"
        | "suppliers"
        | "purchase_orders"
        | "purchase_order_lines"
        | "purchase_receipts"
        | "supplier_bills"
        | "campaigns" => Shared,
        "stock_movements" => SharedStock,
        "recon_runs" | "raw_records" | "quarantined_records" => Unscoped,
        _ => return None,
    })
}

/// Whether a role may read a table or view at all (salaries, and views over them, need the
/// payroll permission).
pub fn role_reads(p: &Principal, table: &str) -> bool {
    let reads_salaries = table == "salaries"
        || warehouse::schema::view(table).is_some_and(|v| v.reads.contains(&"salaries"));
    !reads_salaries || allows(p.role, Perm::Payroll)
}

/// Registers in `user` what `p` may read of the tables registered in `base`: each table
/// itself for an unscoped caller, else a filtering view.
pub async fn register_scoped(
    base: &SessionContext,
    user: &SessionContext,
    p: &Principal,
) -> datafusion::error::Result<()> {
    let in_list = p.shops.as_ref().map(|shops| {
        if shops.is_empty() {
            "(NULL)".to_string()
        } else {
            format!(
                "({})",
                shops
                    .iter()
                    .map(|s| sql_text(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    });
    for def in warehouse::schema::CATALOG {
        let t = def.name;
        if !role_reads(p, t) {
            continue;
        }
        let Some(pol) = policy(t) else { continue };
        let Some(list) = &in_list else {
            let _ = user.register_table(t, base.table_provider(t).await?)?;
            continue;
        };
        if pol == TableScope::SharedStock {
            // Four disjoint parts (an OR of IN-subqueries does not plan everywhere).
            let sql = format!(
                "SELECT * FROM {t} WHERE ref_type IS NULL OR ref_type NOT IN ('order', 'refund', 'shipment') \
                 UNION ALL SELECT * FROM {t} WHERE ref_type = 'order' AND ref_id IN (SELECT order_id FROM orders WHERE shop_id IN {list}) \
                 UNION ALL SELECT * FROM {t} WHERE ref_type = 'refund' AND ref_id IN (SELECT refund_id FROM refunds WHERE shop_id IN {list}) \
                 UNION ALL SELECT * FROM {t} WHERE ref_type = 'shipment' AND ref_id IN (SELECT shipment_id FROM shipments WHERE shop_id IN {list})"
            );
            let df = base.sql(&sql).await?;
            let _ = user.register_table(t, df.into_view())?;
            continue;
        }
        let filter = match pol {
            TableScope::Shared | TableScope::SharedStock => None,
            TableScope::Unscoped => continue,
            TableScope::Shop => Some(format!("shop_id IN {list}")),
            TableScope::ViaOrder => Some(format!(
                "order_id IN (SELECT order_id FROM orders WHERE shop_id IN {list})"
            )),
            TableScope::ViaShipment => Some(format!(
                "shipment_id IN (SELECT shipment_id FROM shipments WHERE shop_id IN {list})"
            )),
            TableScope::ViaTracking => Some(format!(
                "tracking_no IN (SELECT tracking_no FROM shipments WHERE shop_id IN {list})"
            )),
            TableScope::ViaBreak => Some(format!(
                "break_id IN (SELECT break_id FROM recon_breaks WHERE shop_id IN {list})"
            )),
        };
        match filter {
            None => {
                let _ = user.register_table(t, base.table_provider(t).await?)?;
            }
            Some(f) => {
                let df = base.sql(&format!("SELECT * FROM {t} WHERE {f}")).await?;
                let _ = user.register_table(t, df.into_view())?;
            }
        }
    }
    // Derived views are built over the unscoped tables of `base`, then filtered to the
    // caller's shops: an allocation across shops reads the same for every caller.
    for v in warehouse::schema::VIEWS {
        if !role_reads(p, v.name) || !v.reads.iter().all(|t| role_reads(p, t)) {
            continue;
        }
        let provider = match &in_list {
            None => base.table_provider(v.name).await?,
            Some(list) => base
                .sql(&format!(
                    "SELECT * FROM {} WHERE {} IN {list}",
                    v.name, v.shop_column
                ))
                .await?
                .into_view(),
        };
        let _ = user.register_table(v.name, provider)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lake_table_has_a_scope_policy() {
        for d in warehouse::schema::CATALOG {
            let p = policy(d.name);
            assert!(p.is_some(), "table {} has no shop-scope policy", d.name);
            if p == Some(TableScope::Shop) {
                assert!(d.column("shop_id").is_some(), "{} has no shop_id", d.name);
            }
        }
    }
}
