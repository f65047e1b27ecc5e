//! API keys outside the API: `fleetd keys create` (a key written straight to the configured
//! database, for the first admin), `fleetd keys generate` (a key text for
//! `FLEET_BOOTSTRAP_ADMIN_KEY`), and installing that bootstrap key at start-up.

use std::sync::Arc;

use anyhow::Context;
use fleet_domain::keys::{self, KeyText, Pepper, PresentedKey};
use fleet_domain::service::{CreatedKey, ProjectService};
use fleet_domain::{Caller, ProjectId, Role};
use slog::Logger;

use crate::clock::SystemClock;
use crate::config::Config;
use crate::secret::Secret;
use crate::store;

/// The role of a key made on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyRole {
    /// Everything, in every project, and managing projects and keys.
    Admin,
    /// Reads and changes its project's servers.
    Member,
    /// Reads its project's servers.
    Viewer,
}

impl From<KeyRole> for Role {
    fn from(role: KeyRole) -> Self {
        match role {
            KeyRole::Admin => Role::Admin,
            KeyRole::Member => Role::Member,
            KeyRole::Viewer => Role::Viewer,
        }
    }
}

/// Whoever runs fleetd on the server: it can read the database, so it acts as an admin,
/// as a keyless request in open mode does.
fn operator() -> Caller {
    Caller::open()
}

/// Creates a key of the project named `project` (created first if there is none) in the
/// database of `config`, migrating it first as `serve` would.
pub async fn create(
    config: &Config,
    project: &str,
    role: KeyRole,
    description: &str,
) -> anyhow::Result<(String, CreatedKey)> {
    let opened = store::open(config).await?;
    let projects = ProjectService::new(
        opened.tenancy,
        Arc::new(SystemClock),
        config.auth.pepper.clone(),
    );
    let found = projects
        .ensure_project(&operator(), project)
        .await
        .with_context(|| format!("finding or creating the project '{project}'"))?;
    let created = projects
        .create_key(&operator(), found.id, role.into(), description)
        .await
        .context("creating the key")?;
    Ok((found.name, created))
}

/// A fresh key text, stored nowhere: give it to `FLEET_BOOTSTRAP_ADMIN_KEY`.
pub fn generate() -> anyhow::Result<KeyText> {
    Ok(keys::mint(&Pepper::default())?.text)
}

/// Installs the bootstrap key as an admin key of `default` unless a key with its id
/// exists (a revoked one stays revoked), and logs which happened, with the key's id only.
pub async fn install_bootstrap(
    projects: &ProjectService,
    key: &Secret,
    logger: &Logger,
) -> anyhow::Result<()> {
    let installed = projects
        .install_key(
            &operator(),
            key.expose(),
            ProjectId::DEFAULT,
            Role::Admin,
            "bootstrap admin key (FLEET_BOOTSTRAP_ADMIN_KEY)",
        )
        .await
        .context("installing the bootstrap admin key")?;
    let id = PresentedKey::parse(key.expose())
        .map(|presented| presented.id.to_string())
        .unwrap_or_default();
    let message = if installed {
        "bootstrap admin key installed"
    } else {
        "bootstrap admin key already present"
    };
    slog::info!(logger, "{}", message; "key" => id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_is_a_fleet_key_and_never_the_same() {
        let (a, b) = (generate().expect("random"), generate().expect("random"));
        assert!(PresentedKey::parse(a.expose()).is_ok(), "{}", a.expose());
        assert_ne!(a, b);
    }
}
