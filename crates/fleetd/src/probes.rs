//! `/readyz`: the store answers with a current schema, and the workers run.

use std::sync::Arc;

use fleet_domain::error::StoreError;
use fleet_domain::ports::Store;
use fleet_ops::{NotReady, Readiness};

use crate::workers::WorkerHealth;

/// The readiness check of fleetd.
pub struct Probe {
    /// The store to ping.
    pub store: Arc<dyn Store>,
    /// The workers' health.
    pub health: Arc<WorkerHealth>,
}

#[async_trait::async_trait]
impl Readiness for Probe {
    async fn check(&self) -> Result<(), NotReady> {
        self.store.ping().await.map_err(|e| store_not_ready(&e))?;
        if !self.health.is_running() {
            return Err(NotReady::WorkersStopped(
                "the lifecycle workers are not running".to_owned(),
            ));
        }
        match self.health.last_failure() {
            Some(failure) => Err(NotReady::WorkersFailing(format!(
                "the last worker pass failed: {failure}"
            ))),
            None => Ok(()),
        }
    }
}

/// Why a failed ping means the store cannot serve. The store port has one error for all
/// of them (`StoreError`), so this reads what the stores report: every schema refusal
/// speaks of migrations (Postgres: "… run the migrations", "… migrated by a newer fleet",
/// or the missing `__diesel_schema_migrations` table; SQLite: "migrations … are not
/// applied", "… migrations this fleet does not know … a newer fleet"), and a schema written
/// by a newer version says "newer"; nothing else they report speaks of migrations.
fn store_not_ready(error: &StoreError) -> NotReady {
    let detail = error.to_string();
    let lower = detail.to_lowercase();
    if !lower.contains("migrat") {
        NotReady::DatabaseUnreachable(detail)
    } else if lower.contains("newer") {
        NotReady::SchemaNewer(detail)
    } else {
        NotReady::MigrationsPending(detail)
    }
}

#[cfg(test)]
mod tests {
    use anyhow::anyhow;

    use super::*;

    #[test]
    fn a_failed_ping_is_told_apart_by_what_the_stores_report() {
        for (error, reason) in [
            (
                StoreError::Unavailable(anyhow!(
                    "the database schema is at 20260101000000, this fleet expects \
                     20260301000000: run the migrations"
                )),
                "migrations pending",
            ),
            (
                StoreError::Unavailable(anyhow!(
                    "reading the schema version: relation \"__diesel_schema_migrations\" \
                     does not exist"
                )),
                "migrations pending",
            ),
            (
                StoreError::Unknown(anyhow!(
                    "SQLite database fleet.db: the database schema is behind: migrations \
                     2026-03-01-000000_x are not applied"
                )),
                "migrations pending",
            ),
            (
                StoreError::Unavailable(anyhow!(
                    "the database schema is at 20270101000000, newer than the 20260301000000 \
                     this fleet knows: it was migrated by a newer fleet. Run that newer \
                     version against it"
                )),
                "database schema newer than this service",
            ),
            (
                StoreError::Unknown(anyhow!(
                    "SQLite database fleet.db: the database has migrations this fleet does not \
                     know (20270101000000); it was written by a newer fleet: upgrade fleet, or \
                     point it at another database"
                )),
                "database schema newer than this service",
            ),
            (
                StoreError::Unavailable(anyhow!(
                    "the database has no migrations applied, this fleet expects \
                     20260301000000: run the migrations"
                )),
                "migrations pending",
            ),
            (
                StoreError::Unavailable(anyhow!("reading the schema version: connection closed")),
                "database unreachable",
            ),
            (
                StoreError::Unavailable(anyhow!(
                    "error connecting to server at \"db\" (10.0.0.5), port 5432: Connection refused"
                )),
                "database unreachable",
            ),
            (
                StoreError::Unavailable(anyhow!("timed out waiting for a connection")),
                "database unreachable",
            ),
        ] {
            let not_ready = store_not_ready(&error);
            assert_eq!(not_ready.reason(), reason, "{error}");
            assert_eq!(not_ready.detail(), error.to_string());
        }
    }
}
