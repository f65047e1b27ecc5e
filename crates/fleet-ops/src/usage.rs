//! When a credential was last used, recorded coarsely: at most once a minute per
//! credential and process, so a busy key costs one write a minute, not one per request.
//! Every driving adapter that authenticates keys records their use through one of these.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often a credential's use is recorded at most, per process.
pub const MARK_EVERY: Duration = Duration::from_secs(60);
/// The most credentials remembered: the bound on memory and on writes under any load.
pub const MAX_MARKED: usize = 10_000;

/// The last time each credential's use was recorded by this process.
pub struct UsageMarks<K> {
    marked: Mutex<HashMap<K, Instant>>,
}

impl<K> Default for UsageMarks<K> {
    fn default() -> Self {
        Self {
            marked: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq + Copy> UsageMarks<K> {
    /// Whether the use of `key` at `now` is to be recorded: its last recording here is at
    /// least [`MARK_EVERY`] old, or there was none. When it is, `now` becomes the last.
    ///
    /// When full of credentials recorded within the minute, a new one's use goes
    /// unrecorded until room is made, so the bound on writes holds under any load.
    pub fn due(&self, key: K, now: Instant) -> bool {
        let mut marked = self.marked.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(last) = marked.get(&key)
            && now.saturating_duration_since(*last) < MARK_EVERY
        {
            return false;
        }
        if marked.len() >= MAX_MARKED && !marked.contains_key(&key) {
            marked.retain(|_, last| now.saturating_duration_since(*last) < MARK_EVERY);
            if marked.len() >= MAX_MARKED {
                return false;
            }
        }
        marked.insert(key, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_recorded_at_most_once_a_minute() {
        let marks = UsageMarks::default();
        let t0 = Instant::now();
        assert!(marks.due(1, t0));
        assert!(!marks.due(1, t0 + Duration::from_secs(59)));
        assert!(marks.due(2, t0 + Duration::from_secs(1)), "per key");
        assert!(marks.due(1, t0 + MARK_EVERY));
        assert!(!marks.due(1, t0 + MARK_EVERY));
    }

    #[test]
    fn a_full_table_records_no_new_key_within_the_minute() {
        let marks = UsageMarks::default();
        let t0 = Instant::now();
        for key in 0..MAX_MARKED {
            assert!(marks.due(key, t0));
        }
        let late = MAX_MARKED;
        assert!(!marks.due(late, t0 + Duration::from_secs(1)));
        assert!(
            marks.due(late, t0 + MARK_EVERY),
            "room once the minute is over"
        );
    }
}
