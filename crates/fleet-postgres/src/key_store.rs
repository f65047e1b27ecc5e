//! The `IdempotencyStore` port of [`PgStore`].

use chrono::{DateTime, Utc};
use fleet_domain::error::StoreError;
use fleet_domain::idempotency::{ClaimToken, Claimed, IdempotencyKey, KeyClaim, StoredResponse};
use fleet_domain::ids::ProjectId;
use fleet_domain::ports::IdempotencyStore;

use crate::idempotency;
use crate::store::PgStore;

#[async_trait::async_trait]
impl IdempotencyStore for PgStore {
    async fn claim_key(&self, claim: &KeyClaim) -> Result<Claimed, StoreError> {
        let mut conn = self.conn().await?;
        Ok(idempotency::claim(&mut conn, claim).await?)
    }

    async fn complete_key(
        &self,
        project: ProjectId,
        key: &IdempotencyKey,
        token: ClaimToken,
        response: &StoredResponse,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        Ok(idempotency::complete(&mut conn, project, key, token, response).await?)
    }

    async fn release_key(
        &self,
        project: ProjectId,
        key: &IdempotencyKey,
        token: ClaimToken,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        Ok(idempotency::release(&mut conn, project, key, token).await?)
    }

    async fn prune_keys(&self, before: DateTime<Utc>, limit: u32) -> Result<u32, StoreError> {
        let mut conn = self.conn().await?;
        Ok(idempotency::prune(&mut conn, before, limit).await?)
    }
}
