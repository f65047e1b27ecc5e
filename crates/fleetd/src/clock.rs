//! The system clock adapter: the only place fleet reads the wall clock.

use chrono::{DateTime, SubsecRound, Utc};
use fleet_domain::ports::Clock;

/// Where a seeded run's virtual clock starts (2026-01-01T00:00:00Z): a fixed instant, so
/// every timestamp of a replayed scenario is the same.
pub const SEEDED_VIRTUAL_START: i64 = 1_767_225_600;

/// The first reading of the virtual clock: now, or with a seed [`SEEDED_VIRTUAL_START`].
pub fn virtual_start(seed: Option<u64>) -> DateTime<Utc> {
    match seed {
        Some(_) => DateTime::from_timestamp(SEEDED_VIRTUAL_START, 0).unwrap_or_default(),
        None => SystemClock.now(),
    }
}

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
    fn a_seeded_virtual_clock_starts_at_a_fixed_instant() {
        assert_eq!(
            virtual_start(Some(42)).to_rfc3339(),
            "2026-01-01T00:00:00+00:00"
        );
        assert_eq!(virtual_start(Some(7)), virtual_start(Some(42)));
        assert!(virtual_start(None) > virtual_start(Some(42)));
    }

    #[test]
    fn the_time_has_whole_microseconds() {
        for _ in 0..100 {
            let now = SystemClock.now();
            assert_eq!(now.timestamp_subsec_nanos() % 1_000, 0, "{now:?}");
        }
    }
}
