//! Request rate limits, per whatever key an adapter counts by (an API key, or a client
//! address for keyless calls): GCRA through `governor`, and the IETF `RateLimit-Policy` /
//! `RateLimit` header fields (draft-ietf-httpapi-ratelimit-headers) that tell a client where
//! it stands.
//!
//! The state lives in this process: N replicas behind a load balancer allow N times the
//! rate.

use std::collections::HashMap;
use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// The window every policy is stated over.
const WINDOW_SECS: u32 = 60;
/// How many checks pass between sweeps of the keys that have been idle for a full window,
/// so keys (and client addresses) seen once do not stay in memory.
const SWEEP_EVERY: u64 = 4_096;

type Limiter<K> = DefaultKeyedRateLimiter<K, StateInformationMiddleware>;

/// The limiters of this process: one per distinct rate, shared by the keys (`K`: whose
/// requests are counted together) that have it.
pub struct RateLimits<K: Hash + Eq + Clone> {
    clock: DefaultClock,
    limiters: Mutex<HashMap<NonZeroU32, Arc<Limiter<K>>>>,
    checks: AtomicU64,
}

/// A request within its limit, and what is left of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowed {
    /// Requests allowed per window.
    pub limit: NonZeroU32,
    /// Requests left now.
    pub remaining: u32,
    /// Seconds until the whole limit is available again.
    pub reset_secs: u64,
}

/// A request over its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// Requests allowed per window.
    pub limit: NonZeroU32,
    /// Seconds until one more request is allowed (at least 1).
    pub retry_after_secs: u64,
}

impl<K: Hash + Eq + Clone> Default for RateLimits<K> {
    fn default() -> Self {
        Self {
            clock: DefaultClock::default(),
            limiters: Mutex::new(HashMap::new()),
            checks: AtomicU64::new(0),
        }
    }
}

impl<K: Hash + Eq + Clone> RateLimits<K> {
    /// Counts one request of `key` against `per_minute` requests a minute.
    pub fn check(&self, key: &K, per_minute: NonZeroU32) -> Result<Allowed, Limited> {
        let limiter = self.limiter(per_minute);
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.sweep();
        }
        match limiter.check_key(key) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let used = per_minute.get().saturating_sub(remaining);
                Ok(Allowed {
                    limit: per_minute,
                    remaining,
                    reset_secs: seconds_for(used, per_minute),
                })
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                Err(Limited {
                    limit: per_minute,
                    retry_after_secs: ceil_secs(wait).max(1),
                })
            }
        }
    }

    fn limiter(&self, per_minute: NonZeroU32) -> Arc<Limiter<K>> {
        let mut limiters = self.limiters.lock().unwrap_or_else(PoisonError::into_inner);
        limiters
            .entry(per_minute)
            .or_insert_with(|| {
                Arc::new(
                    RateLimiter::dashmap_with_clock(
                        Quota::per_minute(per_minute),
                        self.clock.clone(),
                    )
                    .with_middleware::<StateInformationMiddleware>(),
                )
            })
            .clone()
    }

    /// Forgets keys idle long enough to have their whole limit back.
    fn sweep(&self) {
        let limiters: Vec<Arc<Limiter<K>>> = self
            .limiters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for limiter in limiters {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// `RateLimit-Policy`: the policy's quota and window.
pub fn policy_header(limit: NonZeroU32) -> String {
    format!("\"default\";q={limit};w={WINDOW_SECS}")
}

/// `RateLimit`: what is left, and when the quota is whole again.
pub fn limit_header(remaining: u32, reset_secs: u64) -> String {
    format!("\"default\";r={remaining};t={reset_secs}")
}

/// Seconds for `used` requests of a `per_minute` quota to be earned back.
fn seconds_for(used: u32, per_minute: NonZeroU32) -> u64 {
    let secs = u64::from(used) * u64::from(WINDOW_SECS);
    secs.div_ceil(u64::from(per_minute.get()))
}

fn ceil_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).expect("non-zero")
    }

    #[test]
    fn a_key_gets_its_quota_then_is_told_when_to_retry() {
        let limits = RateLimits::default();
        let key = "key-1";
        for left in (0..3).rev() {
            let allowed = limits.check(&key, rate(3)).expect("within the limit");
            assert_eq!(allowed.remaining, left);
            assert!(allowed.reset_secs <= 60, "{allowed:?}");
        }
        let limited = limits.check(&key, rate(3)).expect_err("over the limit");
        assert_eq!(limited.limit, rate(3));
        assert!(
            (1..=20).contains(&limited.retry_after_secs),
            "one request of 3 a minute comes back within 20 s: {limited:?}"
        );
    }

    #[test]
    fn keys_are_counted_apart() {
        let limits = RateLimits::default();
        assert!(limits.check(&"one", rate(1)).is_ok());
        assert!(limits.check(&"one", rate(1)).is_err());
        assert!(limits.check(&"other", rate(1)).is_ok());
    }

    #[test]
    fn each_rate_has_its_own_limiter() {
        let limits = RateLimits::default();
        assert!(limits.check(&"key", rate(1)).is_ok());
        assert!(limits.check(&"key", rate(1)).is_err());
        let generous = limits
            .check(&"key", rate(100))
            .expect("another rate's budget");
        assert_eq!(generous.remaining, 99);
    }

    #[test]
    fn the_header_fields_follow_the_draft() {
        assert_eq!(policy_header(rate(100)), "\"default\";q=100;w=60");
        assert_eq!(limit_header(42, 17), "\"default\";r=42;t=17");
        assert_eq!(seconds_for(0, rate(100)), 0);
        assert_eq!(seconds_for(1, rate(100)), 1);
        assert_eq!(seconds_for(100, rate(100)), 60);
        assert_eq!(ceil_secs(Duration::from_millis(1)), 1);
        assert_eq!(ceil_secs(Duration::from_secs(2)), 2);
    }

    #[test]
    fn keys_whose_budget_came_back_are_swept() {
        let limits = RateLimits::default();
        // One request a millisecond: a key's one request is earned back within 1 ms.
        let fast = rate(60_000);
        for i in 0..100u8 {
            assert!(limits.check(&i, fast).is_ok());
        }
        assert_eq!(limits.limiter(fast).len(), 100);
        std::thread::sleep(Duration::from_millis(20));
        limits.sweep();
        assert_eq!(limits.limiter(fast).len(), 0);
    }
}
