//! [`TableCache`]: loaded Delta tables kept between queries.
//!
//! Opening a table reads its last checkpoint and the log after it; doing that for every table
//! on every API request costs far more than most queries. The cache keeps each table's state
//! and brings it forward by reading only the log entries after the cached version:
//! - at once when this process wrote the table since (the write lock's epoch moved), so a
//!   write is visible to the next query here;
//! - otherwise at most every `max_age`, which bounds how stale writes made by other processes
//!   (a `zhongtai sync` run beside the server) can look.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use datafusion::prelude::SessionContext;
use deltalake::DeltaTable;

use crate::error::{Result, WarehouseError};
use crate::lake::Warehouse;
use crate::schema::CATALOG;
use crate::write_lock;

#[derive(Clone)]
struct Entry {
    table: DeltaTable,
    epoch: u64,
    checked: Instant,
}

/// Latest versions of the lake's tables, refreshed incrementally (cheap to share via `Arc`).
pub struct TableCache {
    wh: Warehouse,
    max_age: Duration,
    entries: Mutex<HashMap<&'static str, Entry>>,
}

impl std::fmt::Debug for TableCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableCache")
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl TableCache {
    /// A cache over `wh` that looks for other processes' commits at most every `max_age`.
    pub fn new(wh: Warehouse, max_age: Duration) -> Arc<Self> {
        Arc::new(Self {
            wh,
            max_age,
            entries: Mutex::default(),
        })
    }

    fn get(&self, name: &str) -> Option<Entry> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.get(name).cloned()
    }

    /// `name` at its latest version (as bounded above).
    pub async fn table(&self, name: &str) -> Result<DeltaTable> {
        let def = self.wh.def(name)?;
        let url = self.wh.location().table_url(name);
        // Read the epoch before the log: a write finishing meanwhile leaves the entry behind
        // its epoch, so the next call looks again.
        let epoch = write_lock::epoch(url.as_str());
        let table = match self.get(name) {
            Some(e) if e.epoch == epoch && e.checked.elapsed() < self.max_age => {
                return Ok(e.table);
            }
            Some(mut e) => {
                e.table
                    .update_incremental(None)
                    .await
                    .map_err(WarehouseError::delta("refreshing", name))?;
                e.table
            }
            None => self.wh.table(name).await?,
        };
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let newer = map
            .get(def.name)
            .is_none_or(|old| old.table.version() <= table.version());
        if newer {
            map.insert(
                def.name,
                Entry {
                    table: table.clone(),
                    epoch,
                    checked: Instant::now(),
                },
            );
        }
        Ok(table)
    }

    /// Registers every canonical table, latest version, and the derived views in `ctx`.
    pub async fn register_all(&self, ctx: &SessionContext) -> Result<()> {
        for def in CATALOG {
            let t = self.table(def.name).await?;
            Warehouse::register_loaded(ctx, def.name, &t).await?;
        }
        crate::session::register_views(ctx).await
    }

    /// The version of every canonical table, as [`TableCache::register_all`] would read them:
    /// a cache key for anything computed from the lake.
    pub async fn versions(&self) -> Result<Vec<(&'static str, Option<u64>)>> {
        let mut out = Vec::with_capacity(CATALOG.len());
        for def in CATALOG {
            let t = self.table(def.name).await?;
            out.push((def.name, t.version()));
        }
        Ok(out)
    }
}
