//! The gateway's per-token limiter: sliding windows of one second and one minute.

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

    /// Records a request by `token` now, or returns the code it is refused with (199, 200).
    pub(crate) fn admit(&mut self, token: &str, now: Instant) -> Result<(), i64> {
        if self.per_second.is_none() && self.per_minute.is_none() {
            return Ok(());
        }
        let q = self.seen.entry(token.to_string()).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
        {
            q.pop_front();
        }
        if let Some(max) = self.per_second {
            let last_second = q
                .iter()
                .rev()
                .take_while(|t| now.duration_since(**t) < Duration::from_secs(1))
                .count();
            if last_second >= max {
                return Err(199);
            }
        }
        if let Some(max) = self.per_minute
            && q.len() >= max
        {
            return Err(200);
        }
        q.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_per_second_and_a_hundred_per_minute() {
        let mut l = Limiter::new(Some(5), Some(100));
        let t0 = Instant::now();
        for _ in 0..5 {
            assert_eq!(l.admit("a", t0), Ok(()));
        }
        assert_eq!(l.admit("a", t0), Err(199));
        assert_eq!(l.admit("b", t0), Ok(()), "limits are per token");
        let mut t = t0;
        let mut admitted = 5;
        while admitted < 100 {
            t += Duration::from_millis(250);
            if l.admit("a", t).is_ok() {
                admitted += 1;
            }
        }
        assert_eq!(l.admit("a", t + Duration::from_secs(2)), Err(200));
        assert_eq!(l.admit("a", t0 + Duration::from_secs(61)), Ok(()));
    }
}
