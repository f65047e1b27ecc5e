//! Projects and API keys: the admin's use cases, and checking a presented key.

use std::num::NonZeroU32;
use std::sync::Arc;

use crate::entropy::Entropy;
use crate::error::{AuthError, ProjectError};
use crate::ids::{KeyId, ProjectId};
use crate::keys::{self, KeyText, Pepper, PresentedKey};
use crate::ports::{Clock, ProjectDeletion, ProjectStoreError, StoredKey, TenancyStore};
use crate::project_update::ProjectChanges;
use crate::quota::{ProjectQuotas, Quotas};
use crate::session::SessionSecret;
use crate::tenancy::{self, ApiKey, Caller, Project, Role};

mod sessions;

pub use sessions::ConsoleSession;

/// A key just created: the record, and its text, which is shown this once.
#[derive(Debug)]
pub struct CreatedKey {
    /// The key as stored.
    pub key: ApiKey,
    /// The whole key, for its holder.
    pub text: KeyText,
}

/// Who a presented key is, and the rate limit its project sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authenticated {
    /// The caller the key acts as.
    pub caller: Caller,
    /// Its project's rate-limit override (`None`: the service's default applies).
    pub rate_limit_per_minute: Option<NonZeroU32>,
}

/// A key's secret, for a protocol that signs requests with it (AWS SigV4), with who the
/// key is. Its `Debug` never shows the secret.
pub struct SigningKey {
    /// Who the key is, and its project's rate limit.
    pub who: Authenticated,
    secret: String,
}

impl SigningKey {
    /// The key's secret, to recompute a signature with; never to be logged or returned.
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("who", &self.who)
            .finish_non_exhaustive()
    }
}

/// Projects and keys.
pub struct ProjectService {
    store: Arc<dyn TenancyStore>,
    clock: Arc<dyn Clock>,
    pepper: Pepper,
    default_quotas: Quotas,
    ids: Arc<Entropy>,
    /// What tags console sessions; `None` opens none.
    sessions: Option<SessionSecret>,
}

impl ProjectService {
    /// The service over its store; `pepper` is mixed into every key hash.
    pub fn new(store: Arc<dyn TenancyStore>, clock: Arc<dyn Clock>, pepper: Pepper) -> Self {
        Self {
            store,
            clock,
            sessions: SessionSecret::from_pepper(&pepper),
            pepper,
            default_quotas: Quotas::NONE,
            ids: Arc::new(Entropy::os()),
        }
    }

    /// The service drawing the ids of the projects it creates from `ids` (the operating
    /// system by default). Keys stay the operating system's: see [`crate::entropy`].
    pub fn with_entropy(mut self, ids: Arc<Entropy>) -> Self {
        self.ids = ids;
        self
    }

    /// The service giving every project it creates these quotas (none by default; the
    /// project `default`, made by the migrations, has none unless an admin sets them).
    pub fn with_default_quotas(mut self, quotas: Quotas) -> Self {
        self.default_quotas = quotas;
        self
    }

    /// Who a presented key is: its project, role and id, and its project's rate limit. A
    /// malformed, unknown, wrong or revoked key is refused.
    pub async fn authenticate(&self, text: &str) -> Result<Authenticated, AuthError> {
        let presented = PresentedKey::parse(text).map_err(|_| AuthError::Malformed)?;
        let stored = self.stored_key(presented.id).await?;
        if !presented.matches(&self.pepper, &stored.secret_hash) {
            return Err(AuthError::Unknown);
        }
        live(stored)
    }

    /// The stored key with this id; an unknown one is refused.
    async fn stored_key(&self, id: KeyId) -> Result<StoredKey, AuthError> {
        self.store
            .key_with_hash(id)
            .await?
            .ok_or(AuthError::Unknown)
    }

    /// The secret of the key with this id, to check a request signed with it, and who the
    /// key is. An unknown or revoked key is refused, and so is one stored before secrets
    /// were sealed (or under another pepper).
    pub async fn signing_key(&self, id: KeyId) -> Result<SigningKey, AuthError> {
        let stored = self.stored_key(id).await?;
        let sealed = stored.sealed_secret.clone();
        let who = live(stored)?;
        let secret = sealed
            .and_then(|sealed| keys::unseal(&self.pepper, &sealed))
            .ok_or(AuthError::Unsealed)?;
        Ok(SigningKey { who, secret })
    }

    /// Records that these keys were used now.
    pub async fn mark_used(&self, ids: &[KeyId]) -> Result<(), ProjectError> {
        Ok(self.store.mark_keys_used(ids, self.clock.now()).await?)
    }

    /// Creates a project named `name` (admin).
    pub async fn create_project(
        &self,
        caller: &Caller,
        name: &str,
    ) -> Result<Project, ProjectError> {
        caller.require(Role::Admin)?;
        let project = Project {
            id: self.ids.project_id(),
            name: tenancy::project_name(name)?,
            created_at: self.clock.now(),
            rate_limit_per_minute: None,
        };
        self.store
            .create_project(&project, &self.default_quotas)
            .await
            .map_err(name_taken)?;
        Ok(project)
    }

    /// A project's quotas and its use of them (admin).
    pub async fn quotas(
        &self,
        caller: &Caller,
        id: ProjectId,
    ) -> Result<ProjectQuotas, ProjectError> {
        caller.require(Role::Admin)?;
        self.store
            .project_quotas(id)
            .await?
            .ok_or(ProjectError::ProjectNotFound(id))
    }

    /// Sets a project's quotas (admin), the project `default`'s included. A limit below the
    /// current use is accepted: it stops further growth and changes no server.
    pub async fn set_quotas(
        &self,
        caller: &Caller,
        id: ProjectId,
        limits: Quotas,
    ) -> Result<ProjectQuotas, ProjectError> {
        caller.require(Role::Admin)?;
        self.store
            .set_project_quotas(id, &limits)
            .await?
            .ok_or(ProjectError::ProjectNotFound(id))
    }

    /// The project with this id (admin).
    pub async fn project(&self, caller: &Caller, id: ProjectId) -> Result<Project, ProjectError> {
        caller.require(Role::Admin)?;
        self.store
            .project(id)
            .await?
            .ok_or(ProjectError::ProjectNotFound(id))
    }

    /// Every project (admin).
    pub async fn projects(&self, caller: &Caller) -> Result<Vec<Project>, ProjectError> {
        caller.require(Role::Admin)?;
        Ok(self.store.projects().await?)
    }

    /// Renames a project, sets or clears its rate-limit override (admin); what `changes`
    /// leaves out stays as it is.
    pub async fn update_project(
        &self,
        caller: &Caller,
        id: ProjectId,
        changes: ProjectChanges,
    ) -> Result<Project, ProjectError> {
        caller.require(Role::Admin)?;
        let update = changes.check()?;
        self.store
            .update_project(id, &update)
            .await
            .map_err(name_taken)?
            .ok_or(ProjectError::ProjectNotFound(id))
    }

    /// Deletes a project whose servers are all terminated, with its keys (admin). The
    /// project `default` stays: open mode acts in it.
    pub async fn delete_project(&self, caller: &Caller, id: ProjectId) -> Result<(), ProjectError> {
        caller.require(Role::Admin)?;
        if id == ProjectId::DEFAULT {
            return Err(ProjectError::DefaultProject);
        }
        match self.store.delete_project(id).await? {
            ProjectDeletion::Deleted => Ok(()),
            ProjectDeletion::Missing => Err(ProjectError::ProjectNotFound(id)),
            ProjectDeletion::HasLiveServers(count) => {
                Err(ProjectError::HasLiveServers { id, count })
            }
        }
    }

    /// Creates a key of `project` with `role` (admin); its text is returned this once.
    pub async fn create_key(
        &self,
        caller: &Caller,
        project: ProjectId,
        role: Role,
        description: &str,
    ) -> Result<CreatedKey, ProjectError> {
        caller.require(Role::Admin)?;
        let description = tenancy::key_description(description)?;
        self.store
            .project(project)
            .await?
            .ok_or(ProjectError::ProjectNotFound(project))?;
        let minted = keys::mint(&self.pepper)?;
        let key = ApiKey {
            id: minted.id,
            project,
            role,
            description,
            created_at: self.clock.now(),
            last_used_at: None,
            revoked_at: None,
        };
        self.store.create_key(&key, &minted.secret).await?;
        Ok(CreatedKey {
            key,
            text: minted.text,
        })
    }

    /// Installs `text`, a key made elsewhere (a bootstrap key from the environment), as a
    /// key of `project` with `role`, unless a key with its id exists. Returns whether it was
    /// installed.
    pub async fn install_key(
        &self,
        caller: &Caller,
        text: &str,
        project: ProjectId,
        role: Role,
        description: &str,
    ) -> Result<bool, ProjectError> {
        caller.require(Role::Admin)?;
        let presented = PresentedKey::parse(text)
            .map_err(|_| ProjectError::Invalid(tenancy::InvalidText::KeyText))?;
        if let Some(stored) = self.store.key_with_hash(presented.id).await? {
            self.seal_if_unsealed(&presented, &stored).await?;
            return Ok(false);
        }
        let key = ApiKey {
            id: presented.id,
            project,
            role,
            description: tenancy::key_description(description)?,
            created_at: self.clock.now(),
            last_used_at: None,
            revoked_at: None,
        };
        let secret = presented.stored_secret(&self.pepper)?;
        match self.store.create_key(&key, &secret).await {
            Ok(()) => Ok(true),
            // Another replica installed the same key between the read and the write.
            Err(_) if self.store.key_with_hash(presented.id).await?.is_some() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Seals the secret of an installed key stored without one (before a pepper was set),
    /// when the text is really that key's: its holder then signs EC2 requests with it.
    async fn seal_if_unsealed(
        &self,
        presented: &PresentedKey,
        stored: &StoredKey,
    ) -> Result<(), ProjectError> {
        if stored.sealed_secret.is_some() || !presented.matches(&self.pepper, &stored.secret_hash) {
            return Ok(());
        }
        if let Some(sealed) = presented.stored_secret(&self.pepper)?.sealed {
            self.store.seal_key(presented.id, &sealed).await?;
        }
        Ok(())
    }

    /// The project named `name`, created first if there is none (admin).
    pub async fn ensure_project(
        &self,
        caller: &Caller,
        name: &str,
    ) -> Result<Project, ProjectError> {
        caller.require(Role::Admin)?;
        if let Some(project) = self.store.project_named(name).await? {
            return Ok(project);
        }
        match self.create_project(caller, name).await {
            Err(ProjectError::NameTaken(_)) => self
                .store
                .project_named(name)
                .await?
                .ok_or_else(|| ProjectError::NameTaken(name.to_owned())),
            other => other,
        }
    }

    /// The keys of a project (admin).
    pub async fn keys(
        &self,
        caller: &Caller,
        project: ProjectId,
    ) -> Result<Vec<ApiKey>, ProjectError> {
        caller.require(Role::Admin)?;
        self.store
            .project(project)
            .await?
            .ok_or(ProjectError::ProjectNotFound(project))?;
        Ok(self.store.keys(project).await?)
    }

    /// Revokes a key (admin); revoking a revoked key changes nothing.
    pub async fn revoke_key(&self, caller: &Caller, id: KeyId) -> Result<ApiKey, ProjectError> {
        caller.require(Role::Admin)?;
        self.store
            .revoke_key(id, self.clock.now())
            .await?
            .ok_or(ProjectError::KeyNotFound(id))
    }
}

fn name_taken(error: ProjectStoreError) -> ProjectError {
    match error {
        ProjectStoreError::NameTaken(name) => ProjectError::NameTaken(name),
        ProjectStoreError::Store(e) => ProjectError::Store(e),
    }
}

/// Who a stored key is (the caller it acts as, and its project's rate limit), unless it
/// was revoked.
fn live(stored: StoredKey) -> Result<Authenticated, AuthError> {
    let StoredKey {
        key,
        project_rate_limit,
        ..
    } = stored;
    if key.revoked_at.is_some() {
        return Err(AuthError::Revoked);
    }
    Ok(Authenticated {
        caller: Caller {
            project: key.project,
            role: key.role,
            key: Some(key.id),
        },
        rate_limit_per_minute: project_rate_limit,
    })
}
