//! Keys verified lately, so that a request with a key costs no store round trip (and no
//! HMAC) while its verification is fresh. The price is the revocation delay: a key revoked
//! on another replica keeps working here until its entry is older than the TTL.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use fleet_domain::Caller;
use fleet_domain::service::Authenticated;
use sha2::{Digest as _, Sha256};

/// The most keys remembered at once: enough for every client of a busy service, small
/// enough (a few hundred KiB) that a flood of distinct valid keys cannot grow it further.
pub(crate) const MAX_ENTRIES: usize = 10_000;

/// The SHA-256 of a presented key's text: what the cache is keyed by, so it holds no
/// secret, and one key cannot be mistaken for another.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Digest([u8; 32]);

impl Digest {
    /// The digest of the key `text`.
    pub(crate) fn of(text: &str) -> Self {
        Self(Sha256::digest(text.as_bytes()).into())
    }

    /// The digest of the session token `text`: never the digest of a key with the same
    /// text, so a session token sent as a key is checked as one (and refused).
    pub(crate) fn of_session(text: &str) -> Self {
        Self(
            Sha256::new_with_prefix(b"session\0")
                .chain_update(text)
                .finalize()
                .into(),
        )
    }
}

struct Entry {
    who: Authenticated,
    verified: Instant,
}

/// Keys verified within the last `ttl` (their callers, and their projects' rate limits as
/// read with them), shared by every HTTP worker of the
/// process. A TTL of zero caches nothing.
pub(crate) struct KeyCache {
    ttl: Duration,
    entries: Mutex<HashMap<Digest, Entry>>,
}

impl KeyCache {
    /// An empty cache whose entries live `ttl`.
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Who a key verified less than the TTL before `now` is.
    pub(crate) fn get(&self, digest: &Digest, now: Instant) -> Option<Authenticated> {
        let mut entries = self.lock();
        let entry = entries.get(digest)?;
        if now.saturating_duration_since(entry.verified) < self.ttl {
            return Some(entry.who);
        }
        entries.remove(digest);
        None
    }

    /// Remembers a key verified at `now`. When the cache is full of fresh entries the key
    /// is not remembered: its next request asks the store again, which is slower, not wrong.
    pub(crate) fn insert(&self, digest: Digest, who: Authenticated, now: Instant) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&digest) {
            entries.retain(|_, e| now.saturating_duration_since(e.verified) < self.ttl);
            if entries.len() >= MAX_ENTRIES {
                return;
            }
        }
        entries.insert(digest, Entry { who, verified: now });
    }

    /// Forgets every key whose caller `matches`: a key revoked, or a project deleted or
    /// changed, through this process is checked again (or refused) here at once.
    pub(crate) fn forget(&self, matches: impl Fn(&Caller) -> bool) {
        self.lock().retain(|_, e| !matches(&e.who.caller));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Digest, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use fleet_domain::{KeyId, ProjectId, Role};

    use super::*;

    fn caller() -> Authenticated {
        Authenticated {
            caller: Caller {
                project: ProjectId::random(),
                role: Role::Member,
                key: Some(KeyId::random()),
            },
            rate_limit_per_minute: None,
        }
    }

    const TTL: Duration = Duration::from_secs(5);

    #[test]
    fn an_entry_lives_exactly_the_ttl() {
        let cache = KeyCache::new(TTL);
        let t0 = Instant::now();
        let (digest, member) = (Digest::of("fleet_a"), caller());
        cache.insert(digest, member, t0);
        assert_eq!(cache.get(&digest, t0), Some(member));
        assert_eq!(
            cache.get(&digest, t0 + TTL - Duration::from_millis(1)),
            Some(member)
        );
        assert_eq!(cache.get(&digest, t0 + TTL), None, "expired");
        assert_eq!(cache.get(&digest, t0), None, "and gone");
        assert_eq!(cache.get(&Digest::of("fleet_b"), t0), None);
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let cache = KeyCache::new(Duration::ZERO);
        let t0 = Instant::now();
        cache.insert(Digest::of("k"), caller(), t0);
        assert_eq!(cache.get(&Digest::of("k"), t0), None);
    }

    #[test]
    fn a_full_cache_makes_room_from_expired_entries_only() {
        let cache = KeyCache::new(TTL);
        let t0 = Instant::now();
        for i in 0..MAX_ENTRIES {
            cache.insert(Digest::of(&i.to_string()), caller(), t0);
        }
        let late = Digest::of("late");
        cache.insert(late, caller(), t0 + Duration::from_secs(1));
        assert_eq!(cache.get(&late, t0 + Duration::from_secs(1)), None, "full");
        assert!(cache.get(&Digest::of("0"), t0).is_some(), "fresh ones stay");
        let later = t0 + TTL;
        cache.insert(late, caller(), later);
        assert!(cache.get(&late, later).is_some(), "the expired made room");
        assert_eq!(cache.lock().len(), 1);
    }

    #[test]
    fn forgetting_drops_the_matching_callers() {
        let cache = KeyCache::new(TTL);
        let t0 = Instant::now();
        let (a, b) = (caller(), caller());
        cache.insert(Digest::of("a"), a, t0);
        cache.insert(Digest::of("b"), b, t0);
        cache.forget(|c| c.key == a.caller.key);
        assert_eq!(cache.get(&Digest::of("a"), t0), None);
        assert_eq!(cache.get(&Digest::of("b"), t0), Some(b));
    }
}
