//! When a key was last used, recorded coarsely: at most once a minute per key and process,
//! so a busy key costs one write a minute, not one per request.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use fleet_domain::KeyId;

use super::cache::MAX_ENTRIES;

/// How often a key's use is recorded at most, per process.
pub(crate) const MARK_EVERY: Duration = Duration::from_secs(60);

/// The last time each key's use was recorded by this process.
#[derive(Default)]
pub(crate) struct UsageMarks {
    marked: Mutex<HashMap<KeyId, Instant>>,
}

impl UsageMarks {
    /// Whether the use of `key` at `now` is to be recorded: its last recording here is at
    /// least [`MARK_EVERY`] old, or there was none. When it is, `now` becomes the last.
    ///
    /// Bounded like the key cache: when full of keys recorded within the minute, a new key's
    /// use goes unrecorded until room is made, so the bound on writes holds under any load.
    pub(crate) fn due(&self, key: KeyId, now: Instant) -> bool {
        let mut marked = self.marked.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(last) = marked.get(&key)
            && now.saturating_duration_since(*last) < MARK_EVERY
        {
            return false;
        }
        if marked.len() >= MAX_ENTRIES && !marked.contains_key(&key) {
            marked.retain(|_, last| now.saturating_duration_since(*last) < MARK_EVERY);
            if marked.len() >= MAX_ENTRIES {
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
        let (key, other) = (KeyId::random(), KeyId::random());
        let t0 = Instant::now();
        assert!(marks.due(key, t0));
        assert!(!marks.due(key, t0 + Duration::from_secs(59)));
        assert!(marks.due(other, t0 + Duration::from_secs(1)), "per key");
        assert!(marks.due(key, t0 + MARK_EVERY));
        assert!(!marks.due(key, t0 + MARK_EVERY));
    }

    #[test]
    fn a_full_table_records_no_new_key_within_the_minute() {
        let marks = UsageMarks::default();
        let t0 = Instant::now();
        for _ in 0..MAX_ENTRIES {
            assert!(marks.due(KeyId::random(), t0));
        }
        let late = KeyId::random();
        assert!(!marks.due(late, t0 + Duration::from_secs(1)));
        assert!(
            marks.due(late, t0 + MARK_EVERY),
            "room once the minute is over"
        );
    }
}
