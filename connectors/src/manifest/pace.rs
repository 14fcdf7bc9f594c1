//! Client-side pacing: at most `per_second` requests in any second and `per_minute` in any
//! minute, with a small margin so the server never counts more than its limit.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

const SECOND: Duration = Duration::from_millis(1_050);
const MINUTE: Duration = Duration::from_millis(60_500);

/// Sliding windows of the requests sent so far.
#[derive(Debug)]
pub(crate) struct Pacer {
    per_second: Option<usize>,
    per_minute: Option<usize>,
    sent: VecDeque<Instant>,
}

impl Pacer {
    /// A pacer; `0` turns a limit off.
    pub(crate) fn new(per_second: usize, per_minute: usize) -> Self {
        Self {
            per_second: (per_second > 0).then_some(per_second),
            per_minute: (per_minute > 0).then_some(per_minute),
            sent: VecDeque::new(),
        }
    }

    /// How long to wait before a request may go at `now` (zero: it may go now).
    pub(crate) fn delay(&mut self, now: Instant) -> Duration {
        while self
            .sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= MINUTE)
        {
            self.sent.pop_front();
        }
        let mut wait = Duration::ZERO;
        if let Some(max) = self.per_second {
            let recent: Vec<&Instant> = self
                .sent
                .iter()
                .rev()
                .take_while(|t| now.duration_since(**t) < SECOND)
                .collect();
            if recent.len() >= max {
                wait = wait.max(SECOND - now.duration_since(*recent[max - 1]));
            }
        }
        if let Some(max) = self.per_minute
            && self.sent.len() >= max
        {
            let oldest = self.sent[self.sent.len() - max];
            wait = wait.max(MINUTE - now.duration_since(oldest));
        }
        wait
    }

    /// Records a request sent at `now`.
    pub(crate) fn sent(&mut self, now: Instant) {
        if self.per_second.is_some() || self.per_minute.is_some() {
            self.sent.push_back(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_back_the_request_over_either_limit() {
        let mut p = Pacer::new(2, 3);
        let t0 = Instant::now();
        for _ in 0..2 {
            assert_eq!(p.delay(t0), Duration::ZERO);
            p.sent(t0);
        }
        assert_eq!(
            p.delay(t0),
            SECOND,
            "a third request in the same second waits"
        );
        let t1 = t0 + SECOND;
        assert_eq!(p.delay(t1), Duration::ZERO);
        p.sent(t1);
        let t2 = t1 + SECOND;
        assert_eq!(
            p.delay(t2),
            MINUTE - (t2 - t0),
            "the minute budget of 3 is spent"
        );
        let mut off = Pacer::new(0, 0);
        off.sent(t0);
        assert_eq!(off.delay(t0), Duration::ZERO);
    }
}
