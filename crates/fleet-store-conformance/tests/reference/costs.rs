//! The reference store's cost reads: the ledger walked and summed in memory.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use fleet_domain::costs::{Granularity, GroupKey, HourlyCost};
use fleet_domain::error::StoreError;
use fleet_domain::ports::CostStore;
use fleet_domain::{Money, ProjectId, Server};

use super::MemoryStore;

#[async_trait::async_trait]
impl CostStore for MemoryStore {
    async fn hourly_costs(
        &self,
        project: Option<ProjectId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        group_by: &[GroupKey],
    ) -> Result<Vec<HourlyCost>, StoreError> {
        let state = self.state()?;
        let mut sums: BTreeMap<(DateTime<Utc>, Vec<Option<String>>), (Money, i64)> =
            BTreeMap::new();
        for entry in &state.usage {
            let record = &entry.record;
            let Some(server) = state.servers.get(&record.server_id) else {
                continue;
            };
            let in_range = record.period_start >= from && record.period_start < to;
            if !in_range || project.is_some_and(|p| p != server.project) {
                continue;
            }
            let keys = group_by.iter().map(|k| k.value_of(server)).collect();
            let sum = sums
                .entry((Granularity::Hour.start_of(record.period_start), keys))
                .or_insert((Money::ZERO, 0));
            sum.0 = sum.0 + record.amount;
            sum.1 += record.seconds;
        }
        Ok(sums
            .into_iter()
            .map(|((hour, keys), (amount, seconds))| HourlyCost {
                hour,
                keys,
                amount,
                seconds,
            })
            .collect())
    }

    async fn open_billing(&self, project: Option<ProjectId>) -> Result<Vec<Server>, StoreError> {
        let state = self.state()?;
        Ok(state
            .servers
            .values()
            .filter(|s| s.billed_until.is_some() && project.is_none_or(|p| p == s.project))
            .cloned()
            .collect())
    }
}
