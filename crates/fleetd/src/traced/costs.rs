use std::sync::Arc;

use chrono::{DateTime, Utc};
use fleet_domain::budgets::{Budget, Crossed};
use fleet_domain::costs::{GroupKey, HourlyCost};
use fleet_domain::error::StoreError;
use fleet_domain::ports::{BudgetStore, CostStore};
use fleet_domain::{BudgetId, NewEvent, ProjectId, Server};

use super::{DbSystem, traced};

/// [`CostStore`] with a span around every call.
pub struct TracedCostStore {
    inner: Arc<dyn CostStore>,
    system: DbSystem,
}

impl TracedCostStore {
    /// `inner`, its calls spanned as calls to `system`.
    pub fn new(inner: Arc<dyn CostStore>, system: DbSystem) -> Self {
        Self { inner, system }
    }
}

#[async_trait::async_trait]
impl CostStore for TracedCostStore {
    async fn hourly_costs(
        &self,
        project: Option<ProjectId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        group_by: &[GroupKey],
    ) -> Result<Vec<HourlyCost>, StoreError> {
        traced(
            self.system,
            "hourly_costs",
            self.inner.hourly_costs(project, from, to, group_by),
        )
        .await
    }

    async fn open_billing(
        &self,
        project: Option<ProjectId>,
        before: Option<DateTime<Utc>>,
    ) -> Result<Vec<Server>, StoreError> {
        traced(
            self.system,
            "open_billing",
            self.inner.open_billing(project, before),
        )
        .await
    }
}

/// [`BudgetStore`] with a span around every call.
pub struct TracedBudgetStore {
    inner: Arc<dyn BudgetStore>,
    system: DbSystem,
}

impl TracedBudgetStore {
    /// `inner`, its calls spanned as calls to `system`.
    pub fn new(inner: Arc<dyn BudgetStore>, system: DbSystem) -> Self {
        Self { inner, system }
    }
}

#[async_trait::async_trait]
impl BudgetStore for TracedBudgetStore {
    async fn create_budget(&self, budget: &Budget, at_most: usize) -> Result<bool, StoreError> {
        traced(
            self.system,
            "create_budget",
            self.inner.create_budget(budget, at_most),
        )
        .await
    }

    async fn budget(&self, id: BudgetId) -> Result<Option<Budget>, StoreError> {
        traced(self.system, "budget", self.inner.budget(id)).await
    }

    async fn budgets(&self, project: Option<ProjectId>) -> Result<Vec<Budget>, StoreError> {
        traced(self.system, "budgets", self.inner.budgets(project)).await
    }

    async fn delete_budget(&self, id: BudgetId) -> Result<bool, StoreError> {
        traced(self.system, "delete_budget", self.inner.delete_budget(id)).await
    }

    async fn record_crossing(
        &self,
        id: BudgetId,
        from: Crossed,
        to: Crossed,
        events: &[NewEvent],
    ) -> Result<bool, StoreError> {
        traced(
            self.system,
            "record_crossing",
            self.inner.record_crossing(id, from, to, events),
        )
        .await
    }
}
