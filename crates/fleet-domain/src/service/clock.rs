//! A clock that moves only when told: for tests, demos and the virtual-clock mode.

use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

use crate::ports::Clock;

/// A [`Clock`] whose time is set by its owner.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A clock reading `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock to `instant` if that is later than now; time never runs backwards.
    pub fn advance_to(&self, instant: DateTime<Utc>) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if instant > *now {
            *now = instant;
        }
    }

    /// Moves the clock forward by `delta`.
    pub fn advance(&self, delta: TimeDelta) {
        let target = self.now() + delta;
        self.advance_to(target);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
