//! `/readyz`: the store answers with a current schema, and the workers run.

use std::sync::Arc;

use fleet_domain::error::StoreError;
use fleet_domain::ports::StoreStatus;
use fleet_ops::{NotReady, Readiness};

use crate::workers::WorkerHealth;

/// The readiness check of fleetd.
pub struct Probe {
    /// The store to ping.
    pub store: Arc<dyn StoreStatus>,
    /// The workers' health.
    pub health: Arc<WorkerHealth>,
}

#[async_trait::async_trait]
impl Readiness for Probe {
    async fn check(&self) -> Result<(), NotReady> {
        self.store.ping().await.map_err(store_not_ready)?;
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

/// Why a failed ping means the store cannot serve: each schema condition has a variant of
/// its own; any other failure to answer is an unreachable database.
fn store_not_ready(error: StoreError) -> NotReady {
    let detail = error.to_string();
    match error {
        StoreError::SchemaBehind { .. } => NotReady::MigrationsPending(detail),
        StoreError::SchemaAhead { .. } => NotReady::SchemaNewer(detail),
        _ => NotReady::DatabaseUnreachable(detail),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use anyhow::anyhow;

    use super::*;

    #[test]
    fn a_failed_ping_is_told_apart_by_its_variant() {
        for (error, reason) in [
            (
                StoreError::SchemaBehind {
                    applied: Some("20260101000000".to_owned()),
                    expected: "20260301000000".to_owned(),
                },
                "migrations pending",
            ),
            (
                StoreError::SchemaBehind {
                    applied: None,
                    expected: "20260301000000".to_owned(),
                },
                "migrations pending",
            ),
            (
                StoreError::SchemaAhead {
                    applied: "20270101000000".to_owned(),
                    known: "20260301000000".to_owned(),
                },
                "database schema newer than this service",
            ),
            (
                // Whatever its text says, only the variant decides.
                StoreError::Unavailable(anyhow!("run the migrations of a newer fleet")),
                "database unreachable",
            ),
            (
                StoreError::Saturated {
                    waited: Duration::from_secs(5),
                },
                "database unreachable",
            ),
        ] {
            let detail = error.to_string();
            let not_ready = store_not_ready(error);
            assert_eq!(not_ready.reason(), reason, "{detail}");
            assert_eq!(not_ready.detail(), detail);
        }
    }
}
