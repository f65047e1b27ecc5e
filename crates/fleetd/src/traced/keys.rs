use std::sync::Arc;

use chrono::{DateTime, Utc};
use fleet_domain::error::StoreError;
use fleet_domain::idempotency::{ClaimToken, Claimed, KeyClaim};
use fleet_domain::ports::IdempotencyStore;
use fleet_domain::{IdempotencyKey, ProjectId, StoredResponse};

use super::{DbSystem, traced};

/// [`IdempotencyStore`] with a span around every call.
pub struct TracedIdempotencyStore {
    inner: Arc<dyn IdempotencyStore>,
    system: DbSystem,
}

impl TracedIdempotencyStore {
    /// `inner`, its calls spanned as calls to `system`.
    pub fn new(inner: Arc<dyn IdempotencyStore>, system: DbSystem) -> Self {
        Self { inner, system }
    }
}

#[async_trait::async_trait]
impl IdempotencyStore for TracedIdempotencyStore {
    async fn claim_key(&self, claim: &KeyClaim) -> Result<Claimed, StoreError> {
        traced(self.system, "claim_key", self.inner.claim_key(claim)).await
    }

    async fn complete_key(
        &self,
        project: ProjectId,
        key: &IdempotencyKey,
        token: ClaimToken,
        response: &StoredResponse,
    ) -> Result<bool, StoreError> {
        traced(
            self.system,
            "complete_key",
            self.inner.complete_key(project, key, token, response),
        )
        .await
    }

    async fn release_key(
        &self,
        project: ProjectId,
        key: &IdempotencyKey,
        token: ClaimToken,
    ) -> Result<bool, StoreError> {
        traced(
            self.system,
            "release_key",
            self.inner.release_key(project, key, token),
        )
        .await
    }

    async fn prune_keys(&self, before: DateTime<Utc>, limit: u32) -> Result<u32, StoreError> {
        traced(
            self.system,
            "prune_keys",
            self.inner.prune_keys(before, limit),
        )
        .await
    }
}
