//! The system clock adapter: the only place fleet reads the wall clock.

use chrono::{DateTime, SubsecRound, Utc};
use fleet_domain::ports::Clock;

/// The domain's [`Clock`] over the system clock, to whole microseconds: both stores keep
/// microseconds, so a time a response shows is the time a later read of the store shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_has_whole_microseconds() {
        for _ in 0..100 {
            let now = SystemClock.now();
            assert_eq!(now.timestamp_subsec_nanos() % 1_000, 0, "{now:?}");
        }
    }
}
