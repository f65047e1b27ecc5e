//! The `IdempotencyStore` port of [`SqliteStore`]: every write is a `BEGIN IMMEDIATE`
//! transaction, so a claim and the read of the record that refused it see one state.

use chrono::{DateTime, Utc};
use fleet_domain::error::StoreError;
use fleet_domain::idempotency::{ClaimToken, Claimed, IdempotencyKey, KeyClaim, StoredResponse};
use fleet_domain::ids::ProjectId;
use fleet_domain::ports::IdempotencyStore;

use crate::ops::idempotency;
use crate::store::SqliteStore;

#[async_trait::async_trait]
impl IdempotencyStore for SqliteStore {
    async fn claim_key(&self, claim: &KeyClaim) -> Result<Claimed, StoreError> {
        let claim = claim.clone();
        self.write(move |conn| idempotency::claim(conn, &claim))
            .await
    }

    async fn complete_key(
        &self,
        project: ProjectId,
        key: &IdempotencyKey,
        token: ClaimToken,
        response: &StoredResponse,
    ) -> Result<bool, StoreError> {
        let (key, response) = (key.clone(), response.clone());
        self.write(move |conn| idempotency::complete(conn, project, &key, token, &response))
            .await
    }

    async fn release_key(
        &self,
        project: ProjectId,
        key: &IdempotencyKey,
        token: ClaimToken,
    ) -> Result<bool, StoreError> {
        let key = key.clone();
        self.write(move |conn| idempotency::release(conn, project, &key, token))
            .await
    }

    async fn prune_keys(&self, before: DateTime<Utc>, limit: u32) -> Result<u32, StoreError> {
        self.write(move |conn| idempotency::prune(conn, before, limit))
            .await
    }
}
