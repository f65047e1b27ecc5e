//! The reference store's fault rules: a list in creation order, fired under the state lock.

use chrono::{DateTime, Utc};
use fleet_domain::error::StoreError;
use fleet_domain::event::NewEvent;
use fleet_domain::faults::{ChaosState, FaultRule, PendingFault};
use fleet_domain::ids::{FaultRuleId, ProjectId};
use fleet_domain::ports::{FaultListing, FaultStore};

use super::MemoryStore;

#[async_trait::async_trait]
impl FaultStore for MemoryStore {
    async fn create_fault(&self, rule: &FaultRule) -> Result<(), StoreError> {
        self.writable()?;
        self.state()?.faults.push(rule.clone());
        Ok(())
    }

    async fn fault(&self, id: FaultRuleId) -> Result<Option<FaultRule>, StoreError> {
        Ok(self.state()?.faults.iter().find(|r| r.id == id).cloned())
    }

    async fn faults(&self, listing: &FaultListing) -> Result<Vec<FaultRule>, StoreError> {
        let mut rules: Vec<FaultRule> = self
            .state()?
            .faults
            .iter()
            .filter(|r| {
                listing
                    .visible_to
                    .is_none_or(|own| r.project.is_none_or(|p| p == own))
            })
            .filter(|r| {
                listing
                    .after
                    .is_none_or(|after| (r.created_at, r.id) > after)
            })
            .cloned()
            .collect();
        rules.sort_by_key(|r| (r.created_at, r.id));
        rules.truncate(listing.limit as usize);
        Ok(rules)
    }

    async fn delete_fault(&self, id: FaultRuleId) -> Result<bool, StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        let before = state.faults.len();
        state.faults.retain(|r| r.id != id);
        Ok(state.faults.len() < before)
    }

    async fn fire_fault(
        &self,
        id: FaultRuleId,
        record: Option<NewEvent>,
    ) -> Result<bool, StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        let Some(rule) = state.faults.iter_mut().find(|r| r.id == id) else {
            return Ok(false);
        };
        if rule.max_count.is_some_and(|max| rule.fired >= max) {
            return Ok(false);
        }
        rule.fired += 1;
        let server = record
            .as_ref()
            .and_then(|event| state.servers.get(&event.server_id()?).cloned());
        if let (Some(event), Some(server)) = (record, server) {
            state.append(event, &server);
            self.publish(&state);
        }
        Ok(true)
    }

    async fn count_holding(
        &self,
        project: Option<ProjectId>,
        regions: &[String],
        server_types: &[String],
    ) -> Result<u64, StoreError> {
        let state = self.state()?;
        let holding = state.servers.values().filter(|s| {
            s.state.holds_vcpus()
                && project.is_none_or(|p| p == s.project)
                && (regions.is_empty() || regions.contains(&s.region))
                && (server_types.is_empty() || server_types.contains(&s.server_type))
        });
        Ok(holding.count() as u64)
    }

    async fn release_stuck(&self, id: FaultRuleId, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        let mut released = 0;
        for server in state.servers.values_mut() {
            if server.chaos.pending == Some(PendingFault::Stuck(id)) {
                server.transition_due_at = Some(now);
                server.chaos = ChaosState {
                    pending: None,
                    due_at: None,
                    epoch: server.chaos.epoch,
                };
                server.generation += 1;
                released += 1;
            }
        }
        self.publish(&state);
        Ok(released)
    }
}
