//! Sliding-window pacing shared by every call of a [`super::TopClient`]: at most `per_second`
//! calls in any second and `per_minute` in any minute, with a 5 % margin so the gateway, which
//! sees the calls a little later than they leave, never counts more.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

const SECOND: Duration = Duration::from_millis(1_050);
const MINUTE: Duration = Duration::from_millis(60_500);

#[derive(Debug)]
pub(crate) struct Pacer {
    per_second: Option<u32>,
    per_minute: Option<u32>,
    sent: VecDeque<Instant>,
}

impl Pacer {
    pub(crate) fn new(per_second: Option<u32>, per_minute: Option<u32>) -> Self {
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
        if let Some(max) = self.per_second.map(|m| m as usize) {
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
        if let Some(max) = self.per_minute.map(|m| m as usize)
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
}
