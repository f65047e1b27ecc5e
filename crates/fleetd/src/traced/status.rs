use std::sync::Arc;

use fleet_domain::ServerState;
use fleet_domain::error::StoreError;
use fleet_domain::ports::{CostRate, PoolUsage, StoreStatus};

use super::{DbSystem, traced};

/// [`StoreStatus`] with a span around every call.
pub struct TracedStoreStatus {
    inner: Arc<dyn StoreStatus>,
    system: DbSystem,
}

impl TracedStoreStatus {
    /// `inner`, its calls spanned as calls to `system`.
    pub fn new(inner: Arc<dyn StoreStatus>, system: DbSystem) -> Self {
        Self { inner, system }
    }
}

#[async_trait::async_trait]
impl StoreStatus for TracedStoreStatus {
    async fn ping(&self) -> Result<(), StoreError> {
        traced(self.system, "ping", self.inner.ping()).await
    }

    async fn pool_usage(&self) -> Result<Vec<PoolUsage>, StoreError> {
        traced(self.system, "pool_usage", self.inner.pool_usage()).await
    }

    async fn count_by_state(&self) -> Result<Vec<(ServerState, i64)>, StoreError> {
        traced(self.system, "count_by_state", self.inner.count_by_state()).await
    }

    async fn cost_rates(&self) -> Result<Vec<CostRate>, StoreError> {
        traced(self.system, "cost_rates", self.inner.cost_rates()).await
    }
}
