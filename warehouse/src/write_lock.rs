//! One writer at a time per table within a process, and a count of the commits made here.
//!
//! Delta commits are optimistic: two writers that read the same table version and both commit
//! make the second fail with "a concurrent transaction added new data" (delta-rs detects it, so
//! nothing is doubled, but the second write is lost to its caller). Inside one process — the
//! server's journal flush, a sync started through the API, a mart refresh — that is avoidable,
//! so every write path takes this table's lock from loading the table to its commit. The lock
//! is keyed by the table's URL, not by a `Warehouse` value, because two handles opened on the
//! same lake must still take turns. Writers in other processes still meet Delta's own check.
//!
//! Releasing the lock bumps the table's *epoch*, which tells [`crate::TableCache`] that a
//! cached copy is behind without reading the Delta log.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

#[derive(Default)]
struct Slot {
    lock: Arc<AsyncMutex<()>>,
    epoch: Arc<AtomicU64>,
}

static SLOTS: LazyLock<Mutex<HashMap<String, Slot>>> = LazyLock::new(Mutex::default);

fn slot<T>(url: &str, f: impl FnOnce(&Slot) -> T) -> T {
    let mut map = SLOTS.lock().unwrap_or_else(|p| p.into_inner());
    f(map.entry(url.to_string()).or_default())
}

/// Held while writing one table; dropping it lets the next writer in and bumps the epoch.
pub(crate) struct WriteGuard {
    _guard: OwnedMutexGuard<()>,
    epoch: Arc<AtomicU64>,
}

impl Drop for WriteGuard {
    fn drop(&mut self) {
        self.epoch.fetch_add(1, Ordering::Release);
    }
}

/// Waits for the write lock of the table at `url`.
pub(crate) async fn lock(url: &str) -> WriteGuard {
    let (m, epoch) = slot(url, |s| (Arc::clone(&s.lock), Arc::clone(&s.epoch)));
    WriteGuard {
        _guard: m.lock_owned().await,
        epoch,
    }
}

/// How many writes of the table at `url` this process has finished.
pub(crate) fn epoch(url: &str) -> u64 {
    slot(url, |s| s.epoch.load(Ordering::Acquire))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_writer_per_table_and_tables_are_independent() {
        let before = epoch("mem://lake/a");
        let a = lock("mem://lake/a").await;
        // Another table is not blocked.
        let _b = lock("mem://lake/b").await;
        // The same table is, until the first guard is dropped.
        let waited =
            tokio::time::timeout(std::time::Duration::from_millis(100), lock("mem://lake/a")).await;
        assert!(
            waited.is_err(),
            "a second writer got in while the first held the lock"
        );
        assert_eq!(epoch("mem://lake/a"), before, "no write finished yet");
        drop(a);
        let g = tokio::time::timeout(std::time::Duration::from_secs(5), lock("mem://lake/a"))
            .await
            .expect("the second writer gets the lock once the first lets go");
        drop(g);
        assert_eq!(epoch("mem://lake/a"), before + 2);
    }
}
