//! The ids entry forms may refer to (shops, SKUs, orders, ...), kept in memory so validation
//! never waits on the lake. Loaded from the lake, reloaded when a table's version moves, and
//! updated at once by accepted submissions (which reach the lake only at the next flush).

use std::collections::HashMap;
use std::sync::RwLock;

use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;
use warehouse::Warehouse;

use super::fields::RefKind;

/// Per kind: the table, its id column, and a second column kept as the id's value.
const SOURCES: &[(RefKind, &str, &str, &str)] = &[
    (RefKind::Shop, "shops", "shop_id", "platform"),
    (RefKind::Sku, "skus", "sku_id", "cost_price"),
    (RefKind::Spu, "spus", "spu_id", "spu_id"),
    (RefKind::Order, "orders", "order_id", "shop_id"),
    (RefKind::Supplier, "suppliers", "supplier_id", "supplier_id"),
    (
        RefKind::Warehouse,
        "warehouses",
        "warehouse_id",
        "warehouse_id",
    ),
    (RefKind::Category, "categories", "category_id", "level"),
    (RefKind::Brand, "brands", "brand_id", "brand_id"),
    (RefKind::Campaign, "campaigns", "campaign_id", "campaign_id"),
];

/// Known ids by kind, each with one attribute (an order's shop, a SKU's cost price, a
/// category's level).
#[derive(Debug, Default)]
pub struct Refs {
    sets: RwLock<HashMap<RefKind, HashMap<String, String>>>,
    versions: RwLock<HashMap<&'static str, u64>>,
    /// Keys other writers hold, refreshed with the ids.
    pub taken: super::taken::TakenKeys,
}

impl Refs {
    /// Whether `id` is known.
    pub fn contains(&self, kind: RefKind, id: &str) -> bool {
        self.get(kind, id).is_some()
    }

    /// The attribute kept for `id`.
    pub fn get(&self, kind: RefKind, id: &str) -> Option<String> {
        let sets = self.sets.read().unwrap_or_else(|e| e.into_inner());
        sets.get(&kind).and_then(|m| m.get(id)).cloned()
    }

    /// Records an id accepted by a form (visible to validation before the lake has it).
    pub fn add(&self, kind: RefKind, id: &str, value: &str) {
        let mut sets = self.sets.write().unwrap_or_else(|e| e.into_inner());
        sets.entry(kind)
            .or_default()
            .insert(id.to_string(), value.to_string());
    }

    /// All known ids of a kind (for tests and small lists).
    pub fn ids(&self, kind: RefKind) -> Vec<String> {
        let sets = self.sets.read().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<String> = sets
            .get(&kind)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Reloads every kind whose table moved since the last load. Ids added by forms are kept
    /// (a reload merges), because the lake may not have them yet.
    pub async fn refresh(&self, wh: &Warehouse) -> Result<(), warehouse::WarehouseError> {
        self.taken.refresh(wh).await?;
        for (kind, table, id, val) in SOURCES {
            let v = wh.version(table).await?;
            let seen = self
                .versions
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .get(table)
                .copied();
            if seen == Some(v) {
                continue;
            }
            let ctx = wh.session_of(&[table]).await?;
            let batches = ctx
                .sql(&format!(
                    "SELECT CAST({id} AS VARCHAR) AS k, CAST({val} AS VARCHAR) AS v FROM {table}"
                ))
                .await?
                .collect()
                .await?;
            let mut fresh = HashMap::new();
            for b in &batches {
                let cast = |i: usize| {
                    arrow::compute::cast(b.column(i), &DataType::Utf8).map_err(|source| {
                        warehouse::WarehouseError::Arrow {
                            op: "reading reference ids",
                            source,
                        }
                    })
                };
                let (k, x) = (cast(0)?, cast(1)?);
                let (k, x) = (k.as_string::<i32>(), x.as_string::<i32>());
                for i in 0..b.num_rows() {
                    if k.is_valid(i) {
                        let xv = if x.is_valid(i) { x.value(i) } else { "" };
                        fresh.insert(k.value(i).to_string(), xv.to_string());
                    }
                }
            }
            let mut sets = self.sets.write().unwrap_or_else(|e| e.into_inner());
            sets.entry(*kind).or_default().extend(fresh);
            drop(sets);
            self.versions
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(table, v);
        }
        Ok(())
    }
}
