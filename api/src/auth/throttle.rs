//! Login throttling: per username and per client address, failures lock the key out for a
//! doubling time (5 free attempts, then 1 s, 2 s, 4 s… up to 15 minutes). An attempt counts as
//! a failure from the moment it starts, so a burst of concurrent guesses is cut off after the
//! free ones instead of all being checked; attempts on a locked key count too, so hammering
//! keeps it locked. A success clears its username's count.
//!
//! Memory is bounded: at most [`MAX_KEYS`] keys are kept, the least recently touched dropped
//! first.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Attempts allowed before a key is locked.
pub const FREE_ATTEMPTS: u32 = 5;
/// Longest lock-out.
pub const MAX_LOCK: Duration = Duration::from_secs(15 * 60);
/// Most keys remembered.
pub const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    locked_until: Instant,
    touched: Instant,
}

/// Failure counts by key (`user:<name>`, `addr:<ip>`).
#[derive(Debug, Default)]
pub struct LoginThrottle {
    keys: Mutex<HashMap<String, Entry>>,
}

/// How long after `failures` failures a key is locked.
fn lock_for(failures: u32) -> Duration {
    if failures < FREE_ATTEMPTS {
        return Duration::ZERO;
    }
    let exp = (failures - FREE_ATTEMPTS).min(20);
    Duration::from_secs(1u64 << exp).min(MAX_LOCK)
}

impl LoginThrottle {
    /// Starts an attempt for `keys`: `Err(wait)` when any is locked (the attempt is refused
    /// without checking the password), else counts it as a failure until
    /// [`LoginThrottle::succeeded`] says otherwise.
    pub fn begin(&self, keys: &[String]) -> Result<(), Duration> {
        let now = Instant::now();
        let mut map = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let wait = keys
            .iter()
            .filter_map(|k| map.get(k))
            .map(|e| e.locked_until.saturating_duration_since(now))
            .max()
            .unwrap_or(Duration::ZERO);
        if !wait.is_zero() {
            // Hammering a locked key keeps it locked, longer each time (up to the cap).
            for k in keys {
                if let Some(e) = map.get_mut(k) {
                    e.failures = e.failures.saturating_add(1);
                    e.touched = now;
                    e.locked_until = e.locked_until.max(now + lock_for(e.failures));
                }
            }
            let wait = keys
                .iter()
                .filter_map(|k| map.get(k))
                .map(|e| e.locked_until.saturating_duration_since(now))
                .max()
                .unwrap_or(wait);
            return Err(wait);
        }
        if map.len() + keys.len() > MAX_KEYS {
            // Drop the least recently touched tenth.
            let mut ages: Vec<(Instant, String)> =
                map.iter().map(|(k, e)| (e.touched, k.clone())).collect();
            ages.sort_unstable();
            for (_, k) in ages.into_iter().take(MAX_KEYS / 10) {
                map.remove(&k);
            }
        }
        for k in keys {
            let e = map.entry(k.clone()).or_insert(Entry {
                failures: 0,
                locked_until: now,
                touched: now,
            });
            e.failures += 1;
            e.touched = now;
            e.locked_until = now + lock_for(e.failures);
        }
        Ok(())
    }

    /// The attempt was right: `user` starts afresh, and the address's count drops by the one
    /// attempt [`LoginThrottle::begin`] charged.
    pub fn succeeded(&self, user: &str, addr: Option<&str>) {
        let mut map = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(user);
        if let Some(a) = addr
            && let Some(e) = map.get_mut(a)
        {
            e.failures = e.failures.saturating_sub(1);
            e.locked_until = e.touched + lock_for(e.failures);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_free_attempts_then_a_doubling_lock_and_success_clears_the_user() {
        let t = LoginThrottle::default();
        let keys = ["user:a".to_string(), "addr:1".to_string()];
        for _ in 0..FREE_ATTEMPTS - 1 {
            assert!(t.begin(&keys).is_ok());
        }
        assert!(t.begin(&keys).is_ok(), "the fifth attempt is still checked");
        let wait = t.begin(&keys).expect_err("locked after five failures");
        assert!(
            wait <= Duration::from_secs(2) && !wait.is_zero(),
            "{wait:?}"
        );
        let longer = t.begin(&keys).expect_err("still locked");
        assert!(
            longer > wait,
            "hammering extends the lock: {longer:?} after {wait:?}"
        );
        assert_eq!(lock_for(6), Duration::from_secs(2));
        assert_eq!(lock_for(40), MAX_LOCK);
        // Another user from another address is unaffected.
        assert!(t.begin(&["user:b".into(), "addr:2".into()]).is_ok());
        t.succeeded("user:b", Some("addr:2"));
        assert!(t.begin(&["user:b".into(), "addr:2".into()]).is_ok());
    }
}
