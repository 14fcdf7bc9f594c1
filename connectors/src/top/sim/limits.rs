//! The gateway's per-app flow control: sliding windows of one second and one minute; a call
//! over either starts a ban, and every call during a ban is refused with code 7 stating the
//! seconds left.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub(crate) struct Limiter {
    per_second: Option<usize>,
    per_minute: Option<usize>,
    ban: Duration,
    seen: VecDeque<Instant>,
    banned_until: Option<Instant>,
}

impl Limiter {
    pub(crate) fn new(per_second: Option<usize>, per_minute: Option<usize>, ban: Duration) -> Self {
        Self {
            per_second,
            per_minute,
            ban,
            seen: VecDeque::new(),
            banned_until: None,
        }
    }

    /// Bans the app for `ban` from `now` (a throttling burst).
    pub(crate) fn ban(&mut self, now: Instant, ban: Duration) {
        self.banned_until = Some(now + ban);
    }

    /// Admits a call now, or returns the whole seconds the ban still lasts (at least 1).
    pub(crate) fn admit(&mut self, now: Instant) -> Result<(), u64> {
        if let Some(until) = self.banned_until {
            if until > now {
                return Err((until - now).as_secs_f64().ceil().max(1.0) as u64);
            }
            self.banned_until = None;
        }
        if self.per_second.is_none() && self.per_minute.is_none() {
            return Ok(());
        }
        while self
            .seen
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
        {
            self.seen.pop_front();
        }
        let last_second = self
            .seen
            .iter()
            .rev()
            .take_while(|t| now.duration_since(**t) < Duration::from_secs(1))
            .count();
        let over = self.per_second.is_some_and(|max| last_second >= max)
            || self.per_minute.is_some_and(|max| self.seen.len() >= max);
        if over {
            self.banned_until = Some(now + self.ban);
            return Err(self.ban.as_secs_f64().ceil().max(1.0) as u64);
        }
        self.seen.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_the_limit_bans_for_the_stated_seconds() {
        let mut l = Limiter::new(Some(3), Some(5), Duration::from_secs(2));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.admit(t0), Ok(()));
        }
        assert_eq!(
            l.admit(t0),
            Err(2),
            "the fourth call in a second starts a ban"
        );
        assert_eq!(
            l.admit(t0 + Duration::from_millis(1_500)),
            Err(1),
            "still banned"
        );
        assert_eq!(l.admit(t0 + Duration::from_secs(2)), Ok(()));
        assert_eq!(l.admit(t0 + Duration::from_secs(3)), Ok(()));
        assert_eq!(
            l.admit(t0 + Duration::from_secs(4)),
            Err(2),
            "five a minute"
        );
        assert_eq!(l.admit(t0 + Duration::from_secs(66)), Ok(()));
        l.ban(t0 + Duration::from_secs(70), Duration::from_secs(5));
        assert_eq!(l.admit(t0 + Duration::from_secs(71)), Err(4));
    }
}
