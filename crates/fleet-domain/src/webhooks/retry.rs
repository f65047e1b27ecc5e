//! When a failed delivery is tried again: the Standard Webhooks schedule by default, each
//! wait counted from when the attempt before was due (so a clock moved far ahead catches up
//! attempt by attempt), stretched or shrunk by a jitter so receivers that failed together
//! are not retried together.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// The waits before each attempt; the first is the first attempt's (immediately).
#[derive(Debug, Clone, PartialEq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
    jitter: f64,
}

/// A schedule that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadSchedule {
    /// No attempt at all, or more than [`RetrySchedule::MAX_ATTEMPTS`].
    #[error("a retry schedule has 1 to {max} attempts, got {0}", max = RetrySchedule::MAX_ATTEMPTS)]
    Attempts(usize),
    /// A wait longer than a week.
    #[error("a retry wait may be at most a week")]
    TooLong,
    /// A jitter outside 0 to 0.5.
    #[error("the retry jitter must be between 0 and 0.5")]
    Jitter,
}

impl RetrySchedule {
    /// The most attempts a schedule may make.
    pub const MAX_ATTEMPTS: usize = 50;
    /// The default jitter: each wait is between 90 % and 110 % of the schedule's.
    pub const DEFAULT_JITTER: f64 = 0.1;

    /// The Standard Webhooks schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
    /// 14 h, 20 h and 24 h, with the default jitter.
    pub fn standard() -> Self {
        const MINUTE: u64 = 60;
        const HOUR: u64 = 60 * MINUTE;
        Self {
            delays: [
                0,
                5,
                5 * MINUTE,
                30 * MINUTE,
                2 * HOUR,
                5 * HOUR,
                10 * HOUR,
                14 * HOUR,
                20 * HOUR,
                24 * HOUR,
            ]
            .into_iter()
            .map(Duration::from_secs)
            .collect(),
            jitter: Self::DEFAULT_JITTER,
        }
    }

    /// A schedule of these waits (the first attempt's first) and this jitter (a fraction:
    /// 0.1 stretches or shrinks each wait by up to 10 %).
    pub fn new(delays: Vec<Duration>, jitter: f64) -> Result<Self, BadSchedule> {
        if delays.is_empty() || delays.len() > Self::MAX_ATTEMPTS {
            return Err(BadSchedule::Attempts(delays.len()));
        }
        if delays
            .iter()
            .any(|d| *d > Duration::from_secs(7 * 24 * 3600))
        {
            return Err(BadSchedule::TooLong);
        }
        if !(0.0..=0.5).contains(&jitter) {
            return Err(BadSchedule::Jitter);
        }
        Ok(Self { delays, jitter })
    }

    /// The waits before each attempt, the first attempt's first.
    pub fn delays(&self) -> &[Duration] {
        &self.delays
    }

    /// How many attempts a delivery gets.
    pub fn attempts(&self) -> u32 {
        u32::try_from(self.delays.len()).unwrap_or(u32::MAX)
    }

    /// When the attempt after `made` attempts is due, the last of them having been due at
    /// `due`; `None` when they were all. `unit` (in `[0, 1)`) places the jitter.
    pub fn next_due(&self, made: u32, due: DateTime<Utc>, unit: f64) -> Option<DateTime<Utc>> {
        let wait = *self.delays.get(usize::try_from(made).ok()?)?;
        let factor = 1.0 + self.jitter * (2.0 * unit - 1.0);
        let millis = (wait.as_millis() as f64 * factor).round() as i64;
        Some(due + TimeDelta::milliseconds(millis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).expect("an instant")
    }

    #[test]
    fn the_standard_schedule_without_jitter_waits_as_the_specification_says() {
        let schedule = RetrySchedule::standard();
        assert_eq!(schedule.attempts(), 10);
        let mut due = at(1_000);
        let mut waits = Vec::new();
        for made in 1..schedule.attempts() {
            let next = schedule.next_due(made, due, 0.5).expect("another attempt");
            waits.push((next - due).num_seconds());
            due = next;
        }
        assert_eq!(
            waits,
            [5, 300, 1_800, 7_200, 18_000, 36_000, 50_400, 72_000, 86_400]
        );
        assert_eq!(schedule.next_due(10, due, 0.5), None);
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let schedule = RetrySchedule::standard();
        let due = at(0);
        let lowest = schedule.next_due(3, due, 0.0).expect("an attempt");
        let highest = schedule.next_due(3, due, 0.999_999).expect("an attempt");
        assert_eq!((lowest - due).num_seconds(), 1_620);
        assert!((highest - due).num_seconds() <= 1_980);
        assert!((highest - due).num_seconds() >= 1_979);
    }

    #[test]
    fn bad_schedules_are_refused() {
        assert_eq!(
            RetrySchedule::new(vec![], 0.1),
            Err(BadSchedule::Attempts(0))
        );
        assert_eq!(
            RetrySchedule::new(vec![Duration::from_secs(8 * 24 * 3600)], 0.1),
            Err(BadSchedule::TooLong)
        );
        assert_eq!(
            RetrySchedule::new(vec![Duration::ZERO], 0.7),
            Err(BadSchedule::Jitter)
        );
    }
}
