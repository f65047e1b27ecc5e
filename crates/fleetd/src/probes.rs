//! `/readyz`: the store answers with a current schema, and the workers run.

use std::sync::Arc;

use fleet_domain::ports::Store;
use fleet_http::Readiness;

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
    async fn check(&self) -> Result<(), String> {
        self.store
            .ping()
            .await
            .map_err(|e| format!("the store is not ready: {e}"))?;
        if !self.health.is_running() {
            return Err("the lifecycle workers are not running".to_owned());
        }
        match self.health.last_failure() {
            Some(failure) => Err(format!("the last worker pass failed: {failure}")),
            None => Ok(()),
        }
    }
}
