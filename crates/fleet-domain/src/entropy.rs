//! Where fleet's random choices come from: the operating system (the default), or a seed,
//! so that a run on the virtual clock replays bit for bit.
//!
//! A seeded [`Entropy`] keeps one ChaCha20 stream per *purpose* (what is drawn: server ids,
//! action ids, request ids, a fault rule's draws) and *key* (of what: a rule's id, a class
//! of request), each seeded from a SHA-256 of the seed, the purpose and the key. Streams are
//! independent: a change that draws more from one (another request id) never shifts
//! another (the next server id), so a scenario stays the same under unrelated changes.
//!
//! The streams live in one map behind a mutex, advanced as they are drawn from, rather than
//! derived afresh per call from a counter: a draw is a few nanoseconds under the lock, and
//! the n-th draw of a stream is the n-th whatever else happened in between. A run replays
//! when its draws of each stream happen in the same order, which holds when requests arrive
//! one after another in the same order (as a scenario sends them) and, on the virtual
//! clock, no background work draws in between (the engine runs inside the clock's moves).
//!
//! Credentials never come from here: API key secrets and their ids are drawn from the
//! operating system whatever the seed, so a seed never makes a key guessable.

use std::collections::HashMap;
use std::sync::Mutex;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::faults::Draw;
use crate::faults::draw::unit_from_bits;
use crate::ids::{ActionId, FaultRuleId, ProjectId, ServerId};

/// The purposes fleet draws for. Their names are part of every seeded run: renaming one
/// changes what a seed produces.
pub mod purpose {
    /// Server ids.
    pub const SERVER_ID: &str = "server-id";
    /// Action record ids.
    pub const ACTION_ID: &str = "action-id";
    /// Project ids.
    pub const PROJECT_ID: &str = "project-id";
    /// The ids of requests that arrive without one.
    pub const REQUEST_ID: &str = "request-id";
    /// Fault rule ids.
    pub const FAULT_RULE_ID: &str = "fault-rule-id";
    /// Fault rules' draws; the key names the rule and what is drawn
    /// (`fault/<rule id>/fire`, …).
    pub const FAULT: &str = "fault";
    /// The engine's fault draws, one per key (`<rule id>/launch/<server id>/…`), not
    /// streams: each depends on its key alone.
    pub const FAULT_KEYED: &str = "fault-keyed";
}

/// Versions the derivation: a change of the hashing below must change this too.
const DOMAIN_TAG: &[u8] = b"fleet/entropy/v1";

/// The source of every random choice fleet makes but credentials: the operating system, or
/// streams derived from a seed.
#[derive(Debug)]
pub struct Entropy {
    seed: Option<u64>,
    streams: Mutex<HashMap<(String, String), ChaCha20Rng>>,
}

impl Entropy {
    /// Randomness from the operating system: ids as random as ever (UUID v4).
    pub fn os() -> Self {
        Self {
            seed: None,
            streams: Mutex::default(),
        }
    }

    /// Every draw a function of `seed`, the purpose, the key and the draws before it in
    /// the same stream.
    pub fn seeded(seed: u64) -> Self {
        Self {
            seed: Some(seed),
            streams: Mutex::default(),
        }
    }

    /// The seed, when there is one.
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// A new generator for `purpose` and `key`, at the start of its stream: seeded, the same
    /// generator on every call; unseeded, one from the operating system.
    pub fn stream(&self, purpose: &str, key: &str) -> ChaCha20Rng {
        match self.seed {
            Some(seed) => ChaCha20Rng::from_seed(derive(seed, purpose, key)),
            None => ChaCha20Rng::from_seed(os_seed()),
        }
    }

    /// Runs `draw` on the stream of `purpose` and `key` where the previous draw of that
    /// stream left it, so successive calls continue one sequence.
    pub fn draw<T>(&self, purpose: &str, key: &str, draw: impl FnOnce(&mut ChaCha20Rng) -> T) -> T {
        // A panic while drawing leaves a stream in a valid state: keep using it.
        let mut streams = self
            .streams
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let rng = streams
            .entry((purpose.to_owned(), key.to_owned()))
            .or_insert_with(|| self.stream(purpose, key));
        draw(rng)
    }

    /// A UUID v4 for `purpose` and `key`. Unseeded it is `Uuid::new_v4()`, exactly as
    /// before seeds existed; seeded its random bits are the stream's next 16 bytes.
    pub fn uuid(&self, purpose: &str, key: &str) -> Uuid {
        if self.seed.is_none() {
            return Uuid::new_v4();
        }
        let mut bytes = [0u8; 16];
        self.draw(purpose, key, |rng| rng.fill_bytes(&mut bytes));
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    /// A number in `[0, 1)`, every value of 53 bits equally likely, from the stream of
    /// `purpose` and `key`: what probabilities and distributions (fault rules) draw. Unseeded
    /// the stream is seeded by the operating system, so the draws are as random as its own.
    pub fn unit(&self, purpose: &str, key: &str) -> f64 {
        unit_from_bits(self.draw(purpose, key, RngCore::next_u64))
    }

    /// A new server's id.
    pub fn server_id(&self) -> ServerId {
        ServerId::from(self.uuid(purpose::SERVER_ID, ""))
    }

    /// A new fault rule's id.
    pub fn fault_rule_id(&self) -> FaultRuleId {
        FaultRuleId::from(self.uuid(purpose::FAULT_RULE_ID, ""))
    }

    /// A new action record's id.
    pub fn action_id(&self) -> ActionId {
        ActionId::from(self.uuid(purpose::ACTION_ID, ""))
    }

    /// A new project's id.
    pub fn project_id(&self) -> ProjectId {
        ProjectId::from(self.uuid(purpose::PROJECT_ID, ""))
    }
}

/// Fault rules draw from one stream per rule and purpose, named by the rule (`stream`).
impl Draw for Entropy {
    fn unit(&self, stream: &str) -> f64 {
        Entropy::unit(self, purpose::FAULT, stream)
    }

    fn unit_keyed(&self, key: &str) -> f64 {
        let seed = match self.seed {
            Some(seed) => derive(seed, purpose::FAULT_KEYED, key),
            None => os_seed(),
        };
        unit_from_bits(ChaCha20Rng::from_seed(seed).next_u64())
    }
}

impl Default for Entropy {
    fn default() -> Self {
        Self::os()
    }
}

/// The 256-bit seed of the stream of `purpose` and `key` under `seed`: SHA-256 over a tag
/// and the three, each string length-prefixed so no two triples hash the same bytes.
fn derive(seed: u64, purpose: &str, key: &str) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(DOMAIN_TAG);
    hash.update(seed.to_le_bytes());
    for part in [purpose, key] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize().into()
}

/// 256 bits from the operating system; should it fail (it does not on a booted Linux), the
/// random bits of two UUID v4s, the generator fleet's ids came from before, rather than a
/// panic.
fn os_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    if getrandom::fill(&mut seed).is_err() {
        seed[..16].copy_from_slice(Uuid::new_v4().as_bytes());
        seed[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    }
    seed
}

#[cfg(test)]
#[path = "entropy_tests.rs"]
mod tests;
