use std::sync::Arc;

use chrono::{DateTime, Utc};
use fleet_domain::error::StoreError;
use fleet_domain::keys::StoredSecret;
use fleet_domain::ports::{ProjectDeletion, ProjectStoreError, StoredKey, TenancyStore};
use fleet_domain::{ApiKey, KeyId, Project, ProjectId, ProjectQuotas, ProjectUpdate, Quotas};

use super::{DbSystem, traced};

/// [`TenancyStore`] with a span around every call.
pub struct TracedTenancyStore {
    inner: Arc<dyn TenancyStore>,
    system: DbSystem,
}

impl TracedTenancyStore {
    /// `inner`, its calls spanned as calls to `system`.
    pub fn new(inner: Arc<dyn TenancyStore>, system: DbSystem) -> Self {
        Self { inner, system }
    }
}

#[async_trait::async_trait]
impl TenancyStore for TracedTenancyStore {
    async fn create_project(
        &self,
        project: &Project,
        quotas: &Quotas,
    ) -> Result<(), ProjectStoreError> {
        traced(
            self.system,
            "create_project",
            self.inner.create_project(project, quotas),
        )
        .await
    }

    async fn project(&self, id: ProjectId) -> Result<Option<Project>, StoreError> {
        traced(self.system, "project", self.inner.project(id)).await
    }

    async fn project_named(&self, name: &str) -> Result<Option<Project>, StoreError> {
        traced(self.system, "project_named", self.inner.project_named(name)).await
    }

    async fn projects(&self) -> Result<Vec<Project>, StoreError> {
        traced(self.system, "projects", self.inner.projects()).await
    }

    async fn update_project(
        &self,
        id: ProjectId,
        update: &ProjectUpdate,
    ) -> Result<Option<Project>, ProjectStoreError> {
        traced(
            self.system,
            "update_project",
            self.inner.update_project(id, update),
        )
        .await
    }

    async fn delete_project(&self, id: ProjectId) -> Result<ProjectDeletion, StoreError> {
        traced(self.system, "delete_project", self.inner.delete_project(id)).await
    }

    async fn create_key(&self, key: &ApiKey, secret: &StoredSecret) -> Result<(), StoreError> {
        traced(
            self.system,
            "create_key",
            self.inner.create_key(key, secret),
        )
        .await
    }

    async fn keys(&self, project: ProjectId) -> Result<Vec<ApiKey>, StoreError> {
        traced(self.system, "keys", self.inner.keys(project)).await
    }

    async fn key_with_hash(&self, id: KeyId) -> Result<Option<StoredKey>, StoreError> {
        traced(self.system, "key_with_hash", self.inner.key_with_hash(id)).await
    }

    async fn revoke_key(&self, id: KeyId, at: DateTime<Utc>) -> Result<Option<ApiKey>, StoreError> {
        traced(self.system, "revoke_key", self.inner.revoke_key(id, at)).await
    }

    async fn seal_key(&self, id: KeyId, sealed: &str) -> Result<bool, StoreError> {
        traced(self.system, "seal_key", self.inner.seal_key(id, sealed)).await
    }

    async fn mark_keys_used(&self, ids: &[KeyId], at: DateTime<Utc>) -> Result<(), StoreError> {
        traced(
            self.system,
            "mark_keys_used",
            self.inner.mark_keys_used(ids, at),
        )
        .await
    }

    async fn project_quotas(&self, id: ProjectId) -> Result<Option<ProjectQuotas>, StoreError> {
        traced(self.system, "project_quotas", self.inner.project_quotas(id)).await
    }

    async fn set_project_quotas(
        &self,
        id: ProjectId,
        limits: &Quotas,
    ) -> Result<Option<ProjectQuotas>, StoreError> {
        traced(
            self.system,
            "set_project_quotas",
            self.inner.set_project_quotas(id, limits),
        )
        .await
    }
}
