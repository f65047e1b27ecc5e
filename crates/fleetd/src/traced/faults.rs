use std::sync::Arc;

use chrono::{DateTime, Utc};
use fleet_domain::error::StoreError;
use fleet_domain::faults::FaultRule;
use fleet_domain::ports::{FaultListing, FaultStore};
use fleet_domain::{FaultRuleId, NewEvent, ProjectId};

use super::{DbSystem, traced};

/// [`FaultStore`] with a span around every call.
pub struct TracedFaultStore {
    inner: Arc<dyn FaultStore>,
    system: DbSystem,
}

impl TracedFaultStore {
    /// `inner`, its calls spanned as calls to `system`.
    pub fn new(inner: Arc<dyn FaultStore>, system: DbSystem) -> Self {
        Self { inner, system }
    }
}

#[async_trait::async_trait]
impl FaultStore for TracedFaultStore {
    async fn create_fault(&self, rule: &FaultRule) -> Result<(), StoreError> {
        traced(self.system, "create_fault", self.inner.create_fault(rule)).await
    }

    async fn fault(&self, id: FaultRuleId) -> Result<Option<FaultRule>, StoreError> {
        traced(self.system, "fault", self.inner.fault(id)).await
    }

    async fn faults(&self, listing: &FaultListing) -> Result<Vec<FaultRule>, StoreError> {
        traced(self.system, "faults", self.inner.faults(listing)).await
    }

    async fn delete_fault(&self, id: FaultRuleId) -> Result<bool, StoreError> {
        traced(self.system, "delete_fault", self.inner.delete_fault(id)).await
    }

    async fn fire_fault(
        &self,
        id: FaultRuleId,
        record: Option<NewEvent>,
    ) -> Result<bool, StoreError> {
        traced(self.system, "fire_fault", self.inner.fire_fault(id, record)).await
    }

    async fn count_holding(
        &self,
        project: Option<ProjectId>,
        regions: &[String],
        server_types: &[String],
    ) -> Result<u64, StoreError> {
        traced(
            self.system,
            "count_holding",
            self.inner.count_holding(project, regions, server_types),
        )
        .await
    }

    async fn release_stuck(&self, id: FaultRuleId, now: DateTime<Utc>) -> Result<u64, StoreError> {
        traced(
            self.system,
            "release_stuck",
            self.inner.release_stuck(id, now),
        )
        .await
    }
}
