//! The reference store's projects and keys.

use chrono::{DateTime, Utc};
use fleet_domain::error::StoreError;
use fleet_domain::keys::StoredSecret;
use fleet_domain::ports::{ProjectDeletion, ProjectStoreError, StoredKey, TenancyStore};
use fleet_domain::project_update::ProjectUpdate;
use fleet_domain::quota::{ProjectQuotas, Quotas};
use fleet_domain::tenancy::{ApiKey, Project};
use fleet_domain::{KeyId, ProjectId, ServerState};

use super::MemoryStore;

/// Projects and keys (with their hashes), as a migrated store starts: with `default`.
pub struct Tenancy {
    projects: Vec<Project>,
    keys: Vec<(ApiKey, StoredSecret)>,
}

impl Default for Tenancy {
    fn default() -> Self {
        Self {
            projects: vec![Project {
                id: ProjectId::DEFAULT,
                name: "default".to_owned(),
                created_at: Utc::now(),
                rate_limit_per_minute: None,
            }],
            keys: Vec::new(),
        }
    }
}

impl Tenancy {
    /// Whether the project exists (what a foreign key checks).
    pub fn has_project(&self, id: ProjectId) -> bool {
        self.projects.iter().any(|p| p.id == id)
    }

    fn project_mut(&mut self, id: ProjectId) -> Option<&mut Project> {
        self.projects.iter_mut().find(|p| p.id == id)
    }

    fn key_mut(&mut self, id: KeyId) -> Option<&mut ApiKey> {
        self.keys
            .iter_mut()
            .map(|(key, _)| key)
            .find(|key| key.id == id)
    }

    fn name_taken(&self, name: &str, by_other_than: ProjectId) -> bool {
        self.projects
            .iter()
            .any(|p| p.name == name && p.id != by_other_than)
    }
}

#[async_trait::async_trait]
impl TenancyStore for MemoryStore {
    async fn create_project(
        &self,
        project: &Project,
        quotas: &Quotas,
    ) -> Result<(), ProjectStoreError> {
        self.writable()?;
        let mut state = self.state()?;
        if state.tenancy.name_taken(&project.name, project.id) {
            return Err(ProjectStoreError::NameTaken(project.name.clone()));
        }
        if state.tenancy.has_project(project.id) {
            return Err(
                StoreError::Unknown(anyhow::anyhow!("project {} exists", project.id)).into(),
            );
        }
        state.tenancy.projects.push(project.clone());
        if !quotas.is_unlimited() {
            state.quota.limits.insert(project.id, *quotas);
        }
        Ok(())
    }

    async fn project(&self, id: ProjectId) -> Result<Option<Project>, StoreError> {
        let state = self.state()?;
        Ok(state.tenancy.projects.iter().find(|p| p.id == id).cloned())
    }

    async fn project_named(&self, name: &str) -> Result<Option<Project>, StoreError> {
        let state = self.state()?;
        Ok(state
            .tenancy
            .projects
            .iter()
            .find(|p| p.name == name)
            .cloned())
    }

    async fn projects(&self) -> Result<Vec<Project>, StoreError> {
        let mut projects = self.state()?.tenancy.projects.clone();
        projects.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(projects)
    }

    async fn update_project(
        &self,
        id: ProjectId,
        update: &ProjectUpdate,
    ) -> Result<Option<Project>, ProjectStoreError> {
        self.writable()?;
        let mut state = self.state()?;
        if !state.tenancy.has_project(id) {
            return Ok(None);
        }
        if let Some(name) = &update.name
            && state.tenancy.name_taken(name, id)
        {
            return Err(ProjectStoreError::NameTaken(name.clone()));
        }
        Ok(state.tenancy.project_mut(id).map(|project| {
            if let Some(name) = &update.name {
                project.name.clone_from(name);
            }
            if let Some(limit) = update.rate_limit_per_minute {
                project.rate_limit_per_minute = limit;
            }
            project.clone()
        }))
    }

    async fn delete_project(&self, id: ProjectId) -> Result<ProjectDeletion, StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        if !state.tenancy.has_project(id) {
            return Ok(ProjectDeletion::Missing);
        }
        let of_project: Vec<_> = state
            .servers
            .values()
            .filter(|s| s.project == id)
            .map(|s| (s.id, s.state))
            .collect();
        let live = of_project
            .iter()
            .filter(|(_, state)| *state != ServerState::Terminated)
            .count();
        if live > 0 {
            return Ok(ProjectDeletion::HasLiveServers(live as u64));
        }
        for (server, _) in of_project {
            state.servers.remove(&server);
            state.events.retain(|e| e.event.server_id() != Some(server));
            state.watching.actions.retain(|a| a.server_id != server);
            state.usage.retain(|u| u.record.server_id != server);
            state.quota.vcpus.remove(&server);
        }
        state.events.retain(|e| e.project != id);
        state.budgets.retain(|b| b.project != id);
        state.rollups.retain(|r| r.project != id);
        state.quota.limits.remove(&id);
        state.tenancy.keys.retain(|(key, _)| key.project != id);
        state.keys.retain(|(project, _), _| *project != id);
        state.webhooks.forget_project(id);
        state.tenancy.projects.retain(|p| p.id != id);
        Ok(ProjectDeletion::Deleted)
    }

    async fn create_key(&self, key: &ApiKey, secret: &StoredSecret) -> Result<(), StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        if !state.tenancy.has_project(key.project) {
            return Err(StoreError::Unknown(anyhow::anyhow!(
                "no project {}",
                key.project
            )));
        }
        if state.tenancy.key_mut(key.id).is_some() {
            return Err(StoreError::Unknown(anyhow::anyhow!(
                "key {} exists",
                key.id
            )));
        }
        state.tenancy.keys.push((key.clone(), secret.clone()));
        Ok(())
    }

    async fn keys(&self, project: ProjectId) -> Result<Vec<ApiKey>, StoreError> {
        let state = self.state()?;
        let mut keys: Vec<ApiKey> = state
            .tenancy
            .keys
            .iter()
            .map(|(key, _)| key)
            .filter(|key| key.project == project)
            .cloned()
            .collect();
        keys.sort_by_key(|key| (key.created_at, key.id));
        Ok(keys)
    }

    async fn key_with_hash(&self, id: KeyId) -> Result<Option<StoredKey>, StoreError> {
        let state = self.state()?;
        let tenancy = &state.tenancy;
        Ok(tenancy
            .keys
            .iter()
            .find(|(key, _)| key.id == id)
            .map(|(key, secret)| StoredKey {
                key: key.clone(),
                secret_hash: secret.hash.clone(),
                sealed_secret: secret.sealed.clone(),
                project_rate_limit: tenancy
                    .projects
                    .iter()
                    .find(|p| p.id == key.project)
                    .and_then(|p| p.rate_limit_per_minute),
            }))
    }

    async fn revoke_key(&self, id: KeyId, at: DateTime<Utc>) -> Result<Option<ApiKey>, StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        Ok(state.tenancy.key_mut(id).map(|key| {
            key.revoked_at.get_or_insert(at);
            key.clone()
        }))
    }

    async fn project_quotas(&self, id: ProjectId) -> Result<Option<ProjectQuotas>, StoreError> {
        let state = self.state()?;
        Ok(state.tenancy.has_project(id).then(|| state.quotas(id)))
    }

    async fn set_project_quotas(
        &self,
        id: ProjectId,
        limits: &Quotas,
    ) -> Result<Option<ProjectQuotas>, StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        if !state.tenancy.has_project(id) {
            return Ok(None);
        }
        state.quota.limits.insert(id, *limits);
        Ok(Some(state.quotas(id)))
    }

    async fn seal_key(&self, id: KeyId, sealed: &str) -> Result<bool, StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        let Some((_, secret)) = state.tenancy.keys.iter_mut().find(|(key, _)| key.id == id) else {
            return Ok(false);
        };
        if secret.sealed.is_some() {
            return Ok(false);
        }
        secret.sealed = Some(sealed.to_owned());
        Ok(true)
    }

    async fn mark_keys_used(&self, ids: &[KeyId], at: DateTime<Utc>) -> Result<(), StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        for id in ids {
            if let Some(key) = state.tenancy.key_mut(*id) {
                key.last_used_at = key.last_used_at.max(Some(at));
            }
        }
        Ok(())
    }
}
