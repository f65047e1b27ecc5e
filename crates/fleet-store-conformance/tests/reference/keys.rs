//! The reference store's idempotency keys: a map under the one state lock, leases on the
//! host's clock (`Utc::now`), as a store's on its database's.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use fleet_domain::ProjectId;
use fleet_domain::error::StoreError;
use fleet_domain::idempotency::{
    ClaimToken, Claimed, Fingerprint, HeldKey, IdempotencyKey, KeyClaim, StoredResponse,
};
use fleet_domain::ports::IdempotencyStore;

use super::MemoryStore;

/// One key's record.
pub struct Record {
    fingerprint: Fingerprint,
    created_at: DateTime<Utc>,
    token: ClaimToken,
    lease_until: DateTime<Utc>,
    response: Option<StoredResponse>,
}

/// Every project's keys.
pub type Keys = HashMap<(ProjectId, IdempotencyKey), Record>;

impl Record {
    /// Whether `claim` takes the key from this record.
    fn yields_to(&self, claim: &KeyClaim, now: DateTime<Utc>) -> bool {
        self.created_at < claim.forget_before
            || (self.response.is_none()
                && self.lease_until <= now
                && self.fingerprint == claim.fingerprint)
    }
}

#[async_trait::async_trait]
impl IdempotencyStore for MemoryStore {
    async fn claim_key(&self, claim: &KeyClaim) -> Result<Claimed, StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        let now = Utc::now();
        let id = (claim.project, claim.key.clone());
        if let Some(held) = state.keys.get(&id).filter(|r| !r.yields_to(claim, now)) {
            return Ok(Claimed::Held(HeldKey {
                fingerprint: held.fingerprint.clone(),
                response: held.response.clone(),
            }));
        }
        let token = ClaimToken::random();
        let lease = chrono::TimeDelta::from_std(claim.lease).unwrap_or(chrono::TimeDelta::MAX);
        state.keys.insert(
            id,
            Record {
                fingerprint: claim.fingerprint.clone(),
                created_at: claim.at,
                token,
                lease_until: now + lease,
                response: None,
            },
        );
        Ok(Claimed::Won(token))
    }

    async fn complete_key(
        &self,
        project: ProjectId,
        key: &IdempotencyKey,
        token: ClaimToken,
        response: &StoredResponse,
    ) -> Result<bool, StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        let record = state.keys.get_mut(&(project, key.clone()));
        match record.filter(|r| r.token == token && r.response.is_none()) {
            Some(record) => {
                record.response = Some(response.clone());
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn release_key(
        &self,
        project: ProjectId,
        key: &IdempotencyKey,
        token: ClaimToken,
    ) -> Result<bool, StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        let id = (project, key.clone());
        let held = state
            .keys
            .get(&id)
            .is_some_and(|r| r.token == token && r.response.is_none());
        if held {
            state.keys.remove(&id);
        }
        Ok(held)
    }

    async fn prune_keys(&self, before: DateTime<Utc>, limit: u32) -> Result<u32, StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        let mut old: Vec<_> = state
            .keys
            .iter()
            .filter(|(_, r)| r.created_at < before)
            .map(|(id, r)| (r.created_at, id.clone()))
            .collect();
        old.sort_by_key(|(created_at, _)| *created_at);
        old.truncate(limit as usize);
        for (_, id) in &old {
            state.keys.remove(id);
        }
        Ok(old.len() as u32)
    }
}
