//! The reference store's cost reads: the ledger walked and summed in memory.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use fleet_domain::UsageRecord;
use fleet_domain::costs::{Granularity, GroupKey, HourlyCost, rollups_answer};
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
        // Each record counted: its project, start, amount, seconds and group values, from
        // the rollups when they answer the read, else from the ledger.
        let counted: Vec<(ProjectId, DateTime<Utc>, Money, i64, Vec<Option<String>>)> =
            if rollups_answer(from, to, group_by) {
                state
                    .rollups
                    .iter()
                    .map(|r| {
                        let keys = group_by.iter().map(|k| r.value_of(k)).collect();
                        (r.project, r.start, r.amount, r.seconds, keys)
                    })
                    .collect()
            } else {
                state
                    .usage
                    .iter()
                    .filter_map(|entry| {
                        let record = &entry.record;
                        let server = state.servers.get(&record.server_id)?;
                        let keys = group_by.iter().map(|k| k.value_of(server)).collect();
                        Some((
                            server.project,
                            record.period_start,
                            record.amount,
                            record.seconds,
                            keys,
                        ))
                    })
                    .collect()
            };
        let mut sums = Sums::new();
        for (of, start, amount, seconds, keys) in counted {
            if start < from || start >= to || project.is_some_and(|p| p != of) {
                continue;
            }
            let sum = sums
                .entry((Granularity::Hour.start_of(start), keys))
                .or_insert((Money::ZERO, 0));
            sum.0 = sum.0 + amount;
            sum.1 += seconds;
        }
        Ok(hourly(sums))
    }

    async fn open_billing(
        &self,
        project: Option<ProjectId>,
        before: Option<DateTime<Utc>>,
    ) -> Result<Vec<Server>, StoreError> {
        let state = self.state()?;
        Ok(state
            .servers
            .values()
            .filter(|s| {
                s.billed_until
                    .is_some_and(|watermark| before.is_none_or(|before| watermark < before))
                    && project.is_none_or(|p| p == s.project)
            })
            .cloned()
            .collect())
    }
}

/// A usage record as the stores' rollups count it: by its server's project, region and
/// type, and its start.
pub struct Rolled {
    pub project: ProjectId,
    region: String,
    server_type: String,
    start: DateTime<Utc>,
    amount: Money,
    seconds: i64,
}

impl Rolled {
    pub fn of(server: &Server, record: &UsageRecord) -> Rolled {
        Rolled {
            project: server.project,
            region: server.region.clone(),
            server_type: server.server_type.clone(),
            start: record.period_start,
            amount: record.amount,
            seconds: record.seconds,
        }
    }

    /// Its value of `key`, one of those rollups answer.
    fn value_of(&self, key: &GroupKey) -> Option<String> {
        match key {
            GroupKey::Project => Some(self.project.to_string()),
            GroupKey::Region => Some(self.region.clone()),
            GroupKey::Type => Some(self.server_type.clone()),
            GroupKey::Server | GroupKey::Label(_) => None,
        }
    }
}

type Sums = BTreeMap<(DateTime<Utc>, Vec<Option<String>>), (Money, i64)>;

fn hourly(sums: Sums) -> Vec<HourlyCost> {
    sums.into_iter()
        .map(|((hour, keys), (amount, seconds))| HourlyCost {
            hour,
            keys,
            amount,
            seconds,
        })
        .collect()
}
