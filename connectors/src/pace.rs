//! Client-side rate budgets, shared by every platform client (Jushuitan, TOP, manifests): at
//! most `per_second` calls in any second and `per_minute` in any minute, with a 5 % margin so
//! the gateway, which sees the calls a little later than they leave, never counts more.
//!
//! A platform counts calls per app, not per connector or process, so a budget is keyed by the
//! app and every client of that app takes its call slots from the same [`Budget`]:
//! - [`LocalBudget`]: one process (the default, and for clients built without a store);
//! - [`FileBudget`]: every process on the machine, through a small file under the data
//!   directory locked for each reservation (the embedded default of a deployment).
//!
//! A caller *reserves* a slot, then sleeps until it: slots are handed out in order, so
//! concurrent callers never pile onto the same instant. A refusal for rate holds every
//! caller of the budget back for the platform's window ([`Budget::hold`]).

use std::collections::VecDeque;
use std::fmt;
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECOND_MS: i64 = 1_050;
const MINUTE_MS: i64 = 60_500;

/// Calls allowed per second and per minute (`None`: no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    pub per_second: Option<usize>,
    pub per_minute: Option<usize>,
}

impl Limits {
    /// Limits where `None` or `Some(0)` turns one off.
    pub fn new(per_second: Option<usize>, per_minute: Option<usize>) -> Self {
        Self {
            per_second: per_second.filter(|n| *n > 0),
            per_minute: per_minute.filter(|n| *n > 0),
        }
    }

    fn off(&self) -> bool {
        self.per_second.is_none() && self.per_minute.is_none()
    }
}

/// A shared call budget.
pub trait Budget: Send + Sync + fmt::Debug {
    /// Takes the next call slot and returns how long to wait until it.
    fn reserve(&self) -> Duration;
    /// Holds every caller back for `window` from now (the platform refused for rate).
    fn hold(&self, window: Duration);
}

/// The schedule of slots: times (Unix ms) of calls sent or reserved, oldest first, and the
/// end of a hold.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Slots {
    sent: VecDeque<i64>,
    hold_until: i64,
}

impl Slots {
    /// Reserves the earliest slot at or after `now` that keeps both limits, and after every
    /// slot already given (first come, first served).
    fn reserve(&mut self, limits: Limits, now: i64) -> i64 {
        let keep = if limits.per_minute.is_some() {
            MINUTE_MS
        } else {
            SECOND_MS
        };
        // Slots ahead of now are callers still waiting; an hour ahead only a clock set back
        // explains, and those are dropped.
        self.sent.retain(|&t| t > now - keep && t < now + 3_600_000);
        self.hold_until = self.hold_until.min(now + 3_600_000);
        let mut t = now
            .max(self.hold_until)
            .max(self.sent.back().copied().unwrap_or(i64::MIN));
        loop {
            let before = t;
            for (max, window) in [
                (limits.per_second, SECOND_MS),
                (limits.per_minute, MINUTE_MS),
            ] {
                if let Some(max) = max
                    && self.sent.len() >= max
                {
                    let nth = self.sent[self.sent.len() - max];
                    t = t.max(nth + window);
                }
            }
            if t == before {
                break;
            }
        }
        self.sent.push_back(t);
        t
    }

    fn hold(&mut self, until: i64) {
        self.hold_until = self.hold_until.max(until);
    }

    /// `hold <ms>` then one slot per line.
    fn encode(&self) -> String {
        let mut s = format!("hold {}\n", self.hold_until);
        for t in &self.sent {
            s.push_str(&t.to_string());
            s.push('\n');
        }
        s
    }

    /// Reads [`Slots::encode`]'s text; what does not parse is dropped (a budget file is only
    /// a courtesy between processes, never worth failing a sync over).
    fn decode(text: &str) -> Self {
        let mut out = Self::default();
        for line in text.lines() {
            if let Some(h) = line.strip_prefix("hold ") {
                out.hold_until = h.trim().parse().unwrap_or(0);
            } else if let Ok(t) = line.trim().parse() {
                out.sent.push_back(t);
            }
        }
        out.sent.make_contiguous().sort_unstable();
        out
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn wait_until(slot: i64, now: i64) -> Duration {
    Duration::from_millis(slot.saturating_sub(now).max(0) as u64)
}

/// A budget of one process.
#[derive(Debug)]
pub struct LocalBudget {
    limits: Limits,
    slots: Mutex<Slots>,
}

impl LocalBudget {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            slots: Mutex::new(Slots::default()),
        }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Budget for LocalBudget {
    fn reserve(&self) -> Duration {
        let now = now_ms();
        if self.limits.off() {
            // No limits to keep, but a refusal's hold still stands.
            return wait_until(self.slots().hold_until, now);
        }
        let slot = self.slots().reserve(self.limits, now);
        wait_until(slot, now)
    }

    fn hold(&self, window: Duration) {
        self.slots().hold(now_ms() + window.as_millis() as i64);
    }
}

/// A budget shared by every process that opens the same file. Each reservation locks the
/// file, reads the schedule, adds its slot and writes it back (a few hundred bytes). When the
/// file cannot be used, the budget falls back to this process's own schedule and says so once.
#[derive(Debug)]
pub struct FileBudget {
    path: PathBuf,
    local: LocalBudget,
    warned: std::sync::atomic::AtomicBool,
}

impl FileBudget {
    /// The budget kept in `path` (created on first use).
    pub fn new(path: PathBuf, limits: Limits) -> Self {
        Self {
            path,
            local: LocalBudget::new(limits),
            warned: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// `dir/<key>.budget`, with the key reduced to a safe file name.
    pub fn in_dir(dir: &std::path::Path, key: &str, limits: Limits) -> Self {
        let name: String = key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(120)
            .collect();
        Self::new(dir.join(format!("{name}.budget")), limits)
    }

    fn with_file(&self, f: impl FnOnce(&mut Slots) -> i64) -> std::io::Result<i64> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)?;
        file.lock()?;
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        let mut slots = Slots::decode(&text);
        let out = f(&mut slots);
        file.set_len(0)?;
        file.rewind()?;
        file.write_all(slots.encode().as_bytes())?;
        Ok(out)
    }

    fn fallback(&self, e: &std::io::Error) {
        if !self.warned.swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::warn!(path = %self.path.display(), error = %e,
                "the shared rate budget file cannot be used; pacing this process alone");
        }
    }
}

impl Budget for FileBudget {
    fn reserve(&self) -> Duration {
        let limits = self.local.limits;
        if limits.off() {
            return self.local.reserve();
        }
        let now = now_ms();
        match self.with_file(|s| s.reserve(limits, now)) {
            Ok(slot) => wait_until(slot, now),
            Err(e) => {
                self.fallback(&e);
                self.local.reserve()
            }
        }
    }

    fn hold(&self, window: Duration) {
        let until = now_ms() + window.as_millis() as i64;
        self.local.hold(window);
        if let Err(e) = self.with_file(|s| {
            s.hold(until);
            0
        }) {
            self.fallback(&e);
        }
    }
}

/// Sleeps until a slot of `budget`; returns the wait (zero when the call may go at once).
pub(crate) async fn take(budget: &dyn Budget) -> Duration {
    let wait = budget.reserve();
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    wait
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim(s: usize, m: usize) -> Limits {
        Limits::new(Some(s), Some(m))
    }

    #[test]
    fn slots_keep_the_per_second_and_per_minute_budgets() {
        let mut s = Slots::default();
        let t0 = 1_000_000;
        let got: Vec<i64> = (0..5).map(|_| s.reserve(lim(3, 5), t0) - t0).collect();
        assert_eq!(got, vec![0, 0, 0, SECOND_MS, SECOND_MS], "3 a second");
        assert_eq!(s.reserve(lim(3, 5), t0) - t0, MINUTE_MS, "5 a minute");
        // Every window of SECOND_MS holds at most 3 slots, of MINUTE_MS at most 5.
        let mut s = Slots::default();
        let slots: Vec<i64> = (0..40).map(|i| s.reserve(lim(3, 5), t0 + i * 7)).collect();
        for (i, a) in slots.iter().enumerate() {
            let in_second = slots[i..].iter().filter(|b| **b < a + SECOND_MS).count();
            let in_minute = slots[i..].iter().filter(|b| **b < a + MINUTE_MS).count();
            assert!(in_second <= 3 && in_minute <= 5, "{slots:?}");
        }
        assert!(
            slots.windows(2).all(|w| w[0] <= w[1]),
            "first come, first served"
        );
    }

    #[test]
    fn a_hold_delays_every_slot_and_limits_off_are_free() {
        let mut s = Slots::default();
        s.hold(5_000);
        assert_eq!(s.reserve(lim(5, 100), 1_000), 5_000);
        let off = LocalBudget::new(Limits::new(Some(0), None));
        assert_eq!(off.reserve(), Duration::ZERO);
        off.hold(Duration::from_secs(5));
        assert!(
            off.reserve() > Duration::from_secs(4),
            "a hold stands without limits"
        );
        let text = s.encode();
        assert_eq!(Slots::decode(&text), s);
        assert_eq!(
            Slots::decode("garbage\n12\nhold x"),
            Slots {
                sent: [12].into(),
                hold_until: 0
            }
        );
    }

    #[test]
    fn budgets_in_one_file_share_their_slots() {
        let dir = tempfile::tempdir().expect("dir");
        let a = FileBudget::in_dir(dir.path(), "jushuitan/app 1", lim(2, 100));
        let b = FileBudget::in_dir(dir.path(), "jushuitan/app 1", lim(2, 100));
        let other = FileBudget::in_dir(dir.path(), "jushuitan/app 2", lim(2, 100));
        assert_eq!(a.reserve(), Duration::ZERO);
        assert_eq!(b.reserve(), Duration::ZERO);
        assert!(
            a.reserve() > Duration::from_millis(900),
            "the third slot of the app waits"
        );
        assert_eq!(
            other.reserve(),
            Duration::ZERO,
            "another app has its own budget"
        );
        b.hold(Duration::from_secs(30));
        assert!(
            a.reserve() > Duration::from_secs(29),
            "a hold reaches every holder"
        );
    }
}
