//! The simulator's data: Jushuitan order documents indexed by `modified` and by `ts`
//! (the rowversion). Changing an order moves it to a new `modified` and a new, higher `ts`,
//! as in the ERP, so incremental readers see it again.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use serde_json::Value;

use crate::tolerant;

#[derive(Debug, Default)]
struct Inner {
    orders: HashMap<i64, Value>,
    by_modified: BTreeMap<(String, i64), ()>,
    by_ts: BTreeMap<i64, i64>,
    next_ts: i64,
}

/// The orders a simulator serves.
#[derive(Debug, Default)]
pub struct SimWorld {
    inner: RwLock<Inner>,
}

fn key(o: &Value) -> Option<(i64, String)> {
    Some((
        tolerant::int(o.get("o_id"))?,
        tolerant::text(o.get("modified"))?,
    ))
}

impl SimWorld {
    /// A world holding `orders` (each needs `o_id` and `modified`; `ts` is assigned).
    pub fn new(orders: impl IntoIterator<Item = Value>) -> Self {
        let w = SimWorld::default();
        for o in orders {
            w.upsert(o);
        }
        w
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Inserts or replaces an order, giving it the next rowversion.
    pub fn upsert(&self, mut order: Value) {
        let Some((o_id, modified)) = key(&order) else {
            return;
        };
        let mut w = self.write();
        if let Some(old) = w.orders.remove(&o_id) {
            if let Some((_, m)) = key(&old) {
                w.by_modified.remove(&(m, o_id));
            }
            if let Some(ts) = tolerant::int(old.get("ts")) {
                w.by_ts.remove(&ts);
            }
        }
        w.next_ts += 1;
        let ts = w.next_ts;
        order["ts"] = Value::from(ts);
        w.by_modified.insert((modified, o_id), ());
        w.by_ts.insert(ts, o_id);
        w.orders.insert(o_id, order);
    }

    /// Changes an order later in its life (e.g. it was refunded): `edit` is applied, then the
    /// order gets `modified` and a new rowversion. Returns whether the order exists.
    pub fn modify(&self, o_id: i64, modified: &str, edit: impl FnOnce(&mut Value)) -> bool {
        let Some(mut o) = self.read().orders.get(&o_id).cloned() else {
            return false;
        };
        edit(&mut o);
        o["modified"] = Value::from(modified);
        self.upsert(o);
        true
    }

    /// Number of orders.
    pub fn len(&self) -> usize {
        self.read().orders.len()
    }

    /// Whether the world is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All orders (for tests comparing a sync with the world).
    pub fn all(&self) -> Vec<Value> {
        self.read().orders.values().cloned().collect()
    }

    /// Orders with `begin <= modified <= end` in (modified, o_id) order: one page and the total.
    pub fn by_window(
        &self,
        begin: &str,
        end: &str,
        skip: usize,
        take: usize,
    ) -> (Vec<Value>, usize) {
        let r = self.read();
        let range = r
            .by_modified
            .range((begin.to_string(), i64::MIN)..=(end.to_string(), i64::MAX));
        let mut total = 0;
        let mut page = Vec::with_capacity(take);
        for ((_, o_id), ()) in range {
            if total >= skip
                && page.len() < take
                && let Some(o) = r.orders.get(o_id)
            {
                page.push(o.clone());
            }
            total += 1;
        }
        (page, total)
    }

    /// Orders with `ts >= start_ts` in ts order: one page and whether more follow.
    pub fn by_ts(&self, start_ts: i64, skip: usize, take: usize) -> (Vec<Value>, bool) {
        let r = self.read();
        let mut it = r.by_ts.range(start_ts..).skip(skip);
        let page: Vec<Value> = it
            .by_ref()
            .take(take)
            .filter_map(|(_, id)| r.orders.get(id).cloned())
            .collect();
        (page, it.next().is_some())
    }

    /// Orders by their online order numbers (`so_ids`) or ERP ids (`o_ids`).
    pub fn by_ids(&self, so_ids: &[String], o_ids: &[i64]) -> Vec<Value> {
        let r = self.read();
        let mut out: Vec<Value> = o_ids
            .iter()
            .filter_map(|id| r.orders.get(id).cloned())
            .collect();
        if !so_ids.is_empty() {
            out.extend(
                r.orders
                    .values()
                    .filter(|o| tolerant::text(o.get("so_id")).is_some_and(|s| so_ids.contains(&s)))
                    .cloned(),
            );
        }
        out
    }
}
