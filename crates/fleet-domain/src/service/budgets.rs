//! Budgets (`/budgets`) and the check that announces their crossings.
//!
//! A budget belongs to the caller's project; members make and delete them, viewers read
//! them, an admin reads every project's. One of another project is "not found".

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::billing;
use crate::budgets::{
    Budget, BudgetBasis, BudgetCrossing, Crossed, MAX_BUDGETS_PER_PROJECT, NewBudget, crossings,
};
use crate::entropy::Entropy;
use crate::error::{BudgetError, StoreError};
use crate::event::{Actor, EventKind, EventSubject, NewEvent};
use crate::ids::BudgetId;
use crate::money::Money;
use crate::ports::{BudgetStore, Clock};
use crate::service::CostService;
use crate::tenancy::{Caller, Role};

/// A budget with what its month has cost so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetStatus {
    /// The budget.
    pub budget: Budget,
    /// The month it is compared with: months since 1970-01 ([`billing::month_index`]).
    pub month: i32,
    /// What its servers have cost in the month so far.
    pub actual: Money,
    /// What they will have cost by the month's end at the rate of those billing now.
    pub forecast: Money,
    /// The highest threshold announced this month, in percent; 0 for none.
    pub announced: u8,
}

/// The budgets' use cases.
pub struct BudgetService {
    store: Arc<dyn BudgetStore>,
    costs: Arc<CostService>,
    clock: Arc<dyn Clock>,
    ids: Arc<Entropy>,
}

impl BudgetService {
    /// The service over its store, reading spending through `costs`.
    pub fn new(
        store: Arc<dyn BudgetStore>,
        costs: Arc<CostService>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            costs,
            clock,
            ids: Arc::new(Entropy::os()),
        }
    }

    /// The service drawing budget ids from `ids` (the operating system by default).
    pub fn with_entropy(mut self, ids: Arc<Entropy>) -> Self {
        self.ids = ids;
        self
    }

    /// Makes a budget of the caller's project (member or admin).
    pub async fn create(
        &self,
        caller: &Caller,
        request: NewBudget,
    ) -> Result<BudgetStatus, BudgetError> {
        caller.require(Role::Member)?;
        let checked = request.check()?;
        let budget = Budget {
            id: BudgetId::from(self.ids.uuid("budget-id", "")),
            project: caller.project,
            name: checked.name,
            amount: checked.amount,
            selector_text: checked.selector_text,
            selector: checked.selector,
            basis: checked.basis,
            crossed: Crossed::default(),
            created_at: self.clock.now(),
        };
        if !self
            .store
            .create_budget(&budget, MAX_BUDGETS_PER_PROJECT)
            .await?
        {
            return Err(BudgetError::TooMany {
                max: MAX_BUDGETS_PER_PROJECT,
            });
        }
        Ok(self.status(budget).await?)
    }

    /// The budget and its month so far, if the caller sees it.
    pub async fn get(&self, caller: &Caller, id: BudgetId) -> Result<BudgetStatus, BudgetError> {
        let budget = self.seen(caller, id).await?;
        Ok(self.status(budget).await?)
    }

    /// The budgets the caller sees, oldest first, each with its month so far.
    pub async fn list(&self, caller: &Caller) -> Result<Vec<BudgetStatus>, BudgetError> {
        let mut statuses = Vec::new();
        for budget in self.store.budgets(caller.scope()).await? {
            statuses.push(self.status(budget).await?);
        }
        Ok(statuses)
    }

    /// Deletes a budget (member or admin); the events it caused stay.
    pub async fn delete(&self, caller: &Caller, id: BudgetId) -> Result<(), BudgetError> {
        caller.require(Role::Member)?;
        self.seen(caller, id).await?;
        if !self.store.delete_budget(id).await? {
            return Err(BudgetError::NotFound(id));
        }
        Ok(())
    }

    /// Compares every budget of every project with its thresholds and announces each new
    /// crossing; how many crossings were announced. Run by a worker on the system clock
    /// and after every move of the virtual clock.
    ///
    /// A budget that cannot be checked (the store failed reading its month) does not hold
    /// up the others: the first failure is returned after every budget was tried.
    pub async fn check(&self) -> Result<u32, StoreError> {
        let mut announced = 0;
        let mut failed = None;
        for budget in self.store.budgets(None).await? {
            match self.check_one(budget).await {
                Ok(count) => announced += count,
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
        }
        failed.map_or(Ok(announced), Err)
    }

    /// Announces what `budget` newly crossed; how many crossings.
    async fn check_one(&self, budget: Budget) -> Result<u32, StoreError> {
        let now = self.clock.now();
        let status = self.measured(budget, now).await?;
        let spent = match status.budget.basis {
            BudgetBasis::Actual => status.actual,
            BudgetBasis::Forecast => status.forecast,
        };
        let Some((mark, thresholds)) = crossings(&status.budget, status.month, spent) else {
            return Ok(0);
        };
        let events: Vec<NewEvent> = thresholds
            .iter()
            .map(|&threshold| crossing_event(&status.budget, threshold, spent, now))
            .collect();
        let budget = &status.budget;
        let moved = self
            .store
            .record_crossing(budget.id, budget.crossed, mark, &events)
            .await?;
        Ok(if moved { events.len() as u32 } else { 0 })
    }

    async fn seen(&self, caller: &Caller, id: BudgetId) -> Result<Budget, BudgetError> {
        self.store
            .budget(id)
            .await?
            .filter(|budget| caller.sees(budget.project))
            .ok_or(BudgetError::NotFound(id))
    }

    /// `budget` measured in the month of now.
    async fn status(&self, budget: Budget) -> Result<BudgetStatus, StoreError> {
        self.measured(budget, self.clock.now()).await
    }

    /// `budget` measured in the month of `now`, up to it: one reading of the clock names
    /// both the month and the spending compared, so a check across midnight on the 1st
    /// never holds one month's spending to the next month's mark.
    async fn measured(
        &self,
        budget: Budget,
        now: DateTime<Utc>,
    ) -> Result<BudgetStatus, StoreError> {
        let (actual, forecast) = self
            .costs
            .month_so_far(budget.project, budget.selector.as_ref(), now)
            .await?;
        let month = billing::month_index(now);
        Ok(BudgetStatus {
            announced: budget.crossed.percent_in(month),
            budget,
            month,
            actual,
            forecast,
        })
    }
}

fn crossing_event(budget: &Budget, threshold: u8, spent: Money, at: DateTime<Utc>) -> NewEvent {
    let measure = match budget.basis {
        BudgetBasis::Actual => "spent this month",
        BudgetBasis::Forecast => "forecast for this month",
    };
    NewEvent {
        subject: EventSubject::Budget(BudgetCrossing {
            budget: budget.id,
            threshold,
            amount: budget.amount,
            spent,
            basis: budget.basis,
        }),
        at,
        kind: EventKind::BudgetThresholdCrossed,
        from_state: None,
        to_state: None,
        actor: Actor::System,
        request_id: None,
        trace: None,
        key: None,
        message: format!(
            "budget '{}' crossed {threshold} % of {}: {spent} {measure}",
            budget.name, budget.amount
        ),
        reason: None,
    }
}

#[cfg(test)]
#[path = "budgets_tests.rs"]
mod tests;
