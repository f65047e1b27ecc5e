use std::ops::RangeInclusive;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use fleet_domain::error::StoreError;
use fleet_domain::page::LedgerCursor;
use fleet_domain::ports::{Applied, DueWork, EarliestDue, Planner, ProvisionStoreError, Store};
use fleet_domain::{
    Event, LedgerEntry, NewServer, PageRequest, RegionSpec, Server, ServerFilter, ServerId,
    ServerTally, StateChange,
};

use super::{DbSystem, traced};

/// [`Store`] with a span around every call.
pub struct TracedStore {
    inner: Arc<dyn Store>,
    system: DbSystem,
}

impl TracedStore {
    /// `inner`, its calls spanned as calls to `system`.
    pub fn new(inner: Arc<dyn Store>, system: DbSystem) -> Self {
        Self { inner, system }
    }
}

#[async_trait::async_trait]
impl Store for TracedStore {
    async fn sync_pools(&self, regions: &[RegionSpec]) -> Result<(), StoreError> {
        traced(self.system, "sync_pools", self.inner.sync_pools(regions)).await
    }

    async fn provision(&self, new: NewServer) -> Result<Server, ProvisionStoreError> {
        traced(self.system, "provision", self.inner.provision(new)).await
    }

    async fn get(&self, id: ServerId) -> Result<Option<Server>, StoreError> {
        traced(self.system, "get", self.inner.get(id)).await
    }

    async fn first_in_id_range(
        &self,
        ids: RangeInclusive<ServerId>,
    ) -> Result<Option<Server>, StoreError> {
        traced(
            self.system,
            "first_in_id_range",
            self.inner.first_in_id_range(ids),
        )
        .await
    }

    async fn list(
        &self,
        filter: &ServerFilter,
        page: &PageRequest,
    ) -> Result<Vec<Server>, StoreError> {
        traced(self.system, "list", self.inner.list(filter, page)).await
    }

    async fn count(&self, filter: &ServerFilter) -> Result<u64, StoreError> {
        traced(self.system, "count", self.inner.count(filter)).await
    }

    async fn tally(&self, filter: &ServerFilter) -> Result<Vec<ServerTally>, StoreError> {
        traced(self.system, "tally", self.inner.tally(filter)).await
    }

    async fn apply(&self, change: &StateChange) -> Result<Applied, StoreError> {
        traced(self.system, "apply", self.inner.apply(change)).await
    }

    async fn events(&self, id: ServerId, limit: u32) -> Result<Vec<Event>, StoreError> {
        traced(self.system, "events", self.inner.events(id, limit)).await
    }

    async fn usage(
        &self,
        id: ServerId,
        after: Option<LedgerCursor>,
        limit: u32,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        traced(self.system, "usage", self.inner.usage(id, after, limit)).await
    }

    async fn prune_usage(
        &self,
        ended_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u32, StoreError> {
        traced(
            self.system,
            "prune_usage",
            self.inner.prune_usage(ended_before, limit),
        )
        .await
    }

    async fn process_due(
        &self,
        work: DueWork,
        limit: u32,
        plan: &Planner,
    ) -> Result<u32, StoreError> {
        traced(
            self.system,
            "process_due",
            self.inner.process_due(work, limit, plan),
        )
        .await
    }

    async fn earliest_due(&self) -> Result<EarliestDue, StoreError> {
        traced(self.system, "earliest_due", self.inner.earliest_due()).await
    }
}
