//! The generator's own ledger: what it emitted, computed as it goes, independent of the lake.
//! Tests and the demo summary compare SQL over the lake against it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Orders and money per shop and business day, plus row counts and money sums per table.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq)]
pub struct Ledger {
    /// `shop_id -> YYYY-MM-DD -> (orders, pay_amount in fen)`.
    pub orders: BTreeMap<String, BTreeMap<String, (u64, i64)>>,
    /// Rows written per table.
    pub rows: BTreeMap<String, u64>,
    /// Money sums in fen, keyed `table.column`.
    pub money: BTreeMap<String, i64>,
}

impl Ledger {
    pub(crate) fn order(&mut self, shop: &str, day: &str, pay_fen: i64) {
        let e = self
            .orders
            .entry(shop.to_string())
            .or_default()
            .entry(day.to_string())
            .or_default();
        e.0 += 1;
        e.1 += pay_fen;
    }

    pub(crate) fn money(&mut self, key: &'static str, fen: i64) {
        *self.money.entry(key.to_string()).or_default() += fen;
    }

    /// `(orders, pay_amount fen)` per shop over all days.
    pub fn per_shop(&self) -> BTreeMap<String, (u64, i64)> {
        self.orders
            .iter()
            .map(|(shop, days)| {
                let (n, s) = days
                    .values()
                    .fold((0, 0), |(n, s), (dn, ds)| (n + dn, s + ds));
                (shop.clone(), (n, s))
            })
            .collect()
    }

    /// Total orders.
    pub fn total_orders(&self) -> u64 {
        self.per_shop().values().map(|v| v.0).sum()
    }
}

/// Formats fen as yuan with two decimals, exactly.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", (fen.abs() / 100), fen.abs() % 100)
}
