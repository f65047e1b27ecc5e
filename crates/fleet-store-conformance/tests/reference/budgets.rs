//! The reference store's budgets: a list, with the mark moved under the state's lock.

use fleet_domain::Labels;
use fleet_domain::budgets::{Budget, Crossed};
use fleet_domain::error::StoreError;
use fleet_domain::event::NewEvent;
use fleet_domain::ids::{BudgetId, ProjectId};
use fleet_domain::ports::BudgetStore;

use super::MemoryStore;

#[async_trait::async_trait]
impl BudgetStore for MemoryStore {
    async fn create_budget(&self, budget: &Budget, at_most: usize) -> Result<bool, StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        let count = state
            .budgets
            .iter()
            .filter(|b| b.project == budget.project)
            .count();
        if count >= at_most {
            return Ok(false);
        }
        state.budgets.push(budget.clone());
        Ok(true)
    }

    async fn budget(&self, id: BudgetId) -> Result<Option<Budget>, StoreError> {
        Ok(self.state()?.budgets.iter().find(|b| b.id == id).cloned())
    }

    async fn budgets(&self, project: Option<ProjectId>) -> Result<Vec<Budget>, StoreError> {
        let mut budgets: Vec<Budget> = self
            .state()?
            .budgets
            .iter()
            .filter(|b| project.is_none_or(|p| p == b.project))
            .cloned()
            .collect();
        budgets.sort_by_key(|b| (b.project, b.created_at, b.id));
        Ok(budgets)
    }

    async fn delete_budget(&self, id: BudgetId) -> Result<bool, StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        let before = state.budgets.len();
        state.budgets.retain(|b| b.id != id);
        Ok(state.budgets.len() < before)
    }

    async fn record_crossing(
        &self,
        id: BudgetId,
        from: Crossed,
        to: Crossed,
        events: &[NewEvent],
    ) -> Result<bool, StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        let Some(budget) = state
            .budgets
            .iter_mut()
            .find(|b| b.id == id && b.crossed == from)
        else {
            return Ok(false);
        };
        budget.crossed = to;
        let project = budget.project;
        for event in events {
            state.append_in(event.clone(), project, Labels::default());
        }
        self.publish(&state);
        Ok(true)
    }
}
