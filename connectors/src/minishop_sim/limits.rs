//! MiniShop's per-app-key limiter: sliding windows of one second and one minute. A refused
//! request does not count.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub(crate) struct Limiter {
    per_second: Option<usize>,
    per_minute: Option<usize>,
    seen: HashMap<String, VecDeque<Instant>>,
}

impl Limiter {
    pub(crate) fn new(per_second: Option<usize>, per_minute: Option<usize>) -> Self {
        Self {
            per_second,
            per_minute,
            seen: HashMap::new(),
        }
    }

    /// Records a request by `key` at `now`, or says how many seconds to wait (`Retry-After`).
    pub(crate) fn admit(&mut self, key: &str, now: Instant) -> Result<(), u64> {
        if self.per_second.is_none() && self.per_minute.is_none() {
            return Ok(());
        }
        let q = self.seen.entry(key.to_string()).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
        {
            q.pop_front();
        }
        if let Some(max) = self.per_second
            && q.iter()
                .rev()
                .take_while(|t| now.duration_since(**t) < Duration::from_secs(1))
                .count()
                >= max
        {
            return Err(1);
        }
        if let Some(max) = self.per_minute
            && q.len() >= max
        {
            let oldest = q[q.len() - max];
            let left = Duration::from_secs(60).saturating_sub(now.duration_since(oldest));
            return Err(left.as_secs().max(1));
        }
        q.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_second_and_per_minute_with_the_wait() {
        let mut l = Limiter::new(Some(2), Some(3));
        let t0 = Instant::now();
        assert_eq!(l.admit("k", t0), Ok(()));
        assert_eq!(l.admit("k", t0), Ok(()));
        assert_eq!(l.admit("k", t0), Err(1));
        assert_eq!(l.admit("other", t0), Ok(()), "limits are per key");
        assert_eq!(l.admit("k", t0 + Duration::from_secs(2)), Ok(()));
        assert_eq!(l.admit("k", t0 + Duration::from_secs(4)), Err(56));
        assert_eq!(l.admit("k", t0 + Duration::from_secs(61)), Ok(()));
    }
}
