//! Running a request once per idempotency key: claim the key, then run and record the
//! answer, or replay the recorded one, or refuse.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;

use crate::error::{IdempotencyError, StoreError};
use crate::idempotency::{
    ClaimToken, Claimed, DEFAULT_LEASE, DEFAULT_RETENTION, Fingerprint, HeldKey, IdempotencyKey,
    KeyClaim, StoredResponse,
};
use crate::ids::ProjectId;
use crate::ports::{Clock, IdempotencyStore};
use crate::tenancy::{Caller, Role};

/// How long keys are kept and claims held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPolicy {
    /// How long a key is kept after its first request, on the service's clock.
    pub retention: TimeDelta,
    /// How long an unanswered claim holds its key, on the store's clock.
    pub lease: Duration,
}

impl Default for KeyPolicy {
    fn default() -> Self {
        KeyPolicy {
            retention: DEFAULT_RETENTION,
            lease: DEFAULT_LEASE,
        }
    }
}

/// What a request with a key does.
#[derive(Debug)]
pub enum Begun {
    /// Run: the key is the request's until the ticket answers or releases it.
    Run(Ticket),
    /// Do not run: answer with the first request's answer again.
    Replay(StoredResponse),
}

/// A won claim: the request runs, then records its answer or gives the key back.
pub struct Ticket {
    store: Arc<dyn IdempotencyStore>,
    project: ProjectId,
    key: IdempotencyKey,
    token: ClaimToken,
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("project", &self.project)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Ticket {
    /// Records the request's final answer for its retries; `false` when the claim had been
    /// taken over or forgotten meanwhile, and nothing was recorded.
    pub async fn complete(self, response: &StoredResponse) -> Result<bool, StoreError> {
        self.store
            .complete_key(self.project, &self.key, self.token, response)
            .await
    }

    /// Gives the key back after an answer a retry should not get again (the request
    /// failed for a passing reason), so that a retry runs anew.
    pub async fn release(self) -> Result<bool, StoreError> {
        self.store
            .release_key(self.project, &self.key, self.token)
            .await
    }
}

/// Idempotency keys: which requests run, which are answered again, which are refused.
pub struct IdempotencyService {
    store: Arc<dyn IdempotencyStore>,
    clock: Arc<dyn Clock>,
    policy: KeyPolicy,
}

impl IdempotencyService {
    /// The service over its ports.
    pub fn new(store: Arc<dyn IdempotencyStore>, clock: Arc<dyn Clock>, policy: KeyPolicy) -> Self {
        Self {
            store,
            clock,
            policy,
        }
    }

    /// Claims `key` in the caller's project for the request `fingerprint` names. A key
    /// held for another request is [`IdempotencyError::Reused`]; one whose request still
    /// runs is [`IdempotencyError::InFlight`]. Only members may claim: every request that
    /// takes a key changes something.
    pub async fn begin(
        &self,
        caller: &Caller,
        key: IdempotencyKey,
        fingerprint: Fingerprint,
    ) -> Result<Begun, IdempotencyError> {
        caller.require(Role::Member)?;
        let at = self.clock.now();
        let claim = KeyClaim {
            project: caller.project,
            key,
            fingerprint,
            at,
            forget_before: at - self.policy.retention,
            lease: self.policy.lease,
        };
        match self.store.claim_key(&claim).await? {
            Claimed::Won(token) => Ok(Begun::Run(Ticket {
                store: self.store.clone(),
                project: claim.project,
                key: claim.key,
                token,
            })),
            Claimed::Held(HeldKey { fingerprint, .. }) if fingerprint != claim.fingerprint => {
                Err(IdempotencyError::Reused)
            }
            Claimed::Held(HeldKey {
                response: Some(response),
                ..
            }) => Ok(Begun::Replay(response)),
            Claimed::Held(HeldKey { response: None, .. }) => Err(IdempotencyError::InFlight),
        }
    }

    /// Deletes at most `limit` keys older than the retention period; how many it deleted.
    pub async fn prune(&self, limit: u32) -> Result<u32, StoreError> {
        let before = self.clock.now() - self.policy.retention;
        self.store.prune_keys(before, limit).await
    }
}
