//! The system clock adapter: the only place fleet reads the wall clock.

use chrono::{DateTime, Utc};
use fleet_domain::ports::Clock;

/// The domain's [`Clock`] over the system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
