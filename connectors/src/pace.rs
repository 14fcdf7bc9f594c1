//! Client-side pacing, shared by every platform client (Jushuitan, TOP, manifests): at most
//! `per_second` calls in any second and `per_minute` in any minute, with a 5 % margin so the
//! gateway, which sees the calls a little later than they leave, never counts more. One pacer
//! per client, so all streams of a connector share one budget.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

const SECOND: Duration = Duration::from_millis(1_050);
const MINUTE: Duration = Duration::from_millis(60_500);

#[derive(Debug)]
pub(crate) struct Pacer {
    per_second: Option<usize>,
    per_minute: Option<usize>,
    sent: VecDeque<Instant>,
}

impl Pacer {
    /// A pacer; `None` or `Some(0)` turns a limit off.
    pub(crate) fn new(per_second: Option<usize>, per_minute: Option<usize>) -> Self {
        Self {
            per_second: per_second.filter(|n| *n > 0),
            per_minute: per_minute.filter(|n| *n > 0),
            sent: VecDeque::new(),
        }
    }

    /// How long to wait before the next call may go (zero when it may go now).
    pub(crate) fn delay(&mut self, now: Instant) -> Duration {
        let keep = if self.per_minute.is_some() {
            MINUTE
        } else {
            SECOND
        };
        while self
            .sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= keep)
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

    /// Records a call sent at `now`.
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
    fn holds_calls_beyond_the_per_second_and_per_minute_budgets() {
        let mut p = Pacer::new(Some(3), Some(5));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(p.delay(t0), Duration::ZERO);
            p.sent(t0);
        }
        assert_eq!(
            p.delay(t0),
            SECOND,
            "the fourth call waits for the first to age out"
        );
        let t1 = t0 + SECOND;
        for _ in 0..2 {
            assert_eq!(p.delay(t1), Duration::ZERO);
            p.sent(t1);
        }
        assert_eq!(p.delay(t1 + SECOND), MINUTE - SECOND * 2, "five a minute");
        let mut off = Pacer::new(None, Some(0));
        off.sent(t0);
        assert_eq!(off.delay(t0), Duration::ZERO);
    }

    #[test]
    fn holds_back_the_request_over_either_limit() {
        let mut p = Pacer::new(Some(2), Some(3));
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
        let mut off = Pacer::new(Some(0), Some(0));
        off.sent(t0);
        assert_eq!(off.delay(t0), Duration::ZERO);
    }
}
