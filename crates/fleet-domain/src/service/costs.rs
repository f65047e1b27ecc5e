//! Cost reports and forecasts, scoped to what the caller sees.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::budgets::selector_keys;
use crate::costs::{
    self, CostQuery, CostReport, Forecast, ForecastError, Granularity, GroupKey, HourlyCost,
    check_until, open_costs, projection, rollups_answer,
};
use crate::error::StoreError;
use crate::ids::ProjectId;
use crate::labels::Labels;
use crate::money::Money;
use crate::ports::{Clock, CostStore};
use crate::selector::Selector;
use crate::server::Server;
use crate::tenancy::Caller;

/// Why a forecast was not made.
#[derive(Debug, thiserror::Error)]
pub enum ForecastFailure {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `until` is out of range.
    #[error(transparent)]
    Refused(#[from] ForecastError),
}

/// What the caller's servers cost, by time and group, and what they are heading for.
pub struct CostService {
    store: Arc<dyn CostStore>,
    clock: Arc<dyn Clock>,
}

impl CostService {
    /// The service over a store, on a clock.
    pub fn new(store: Arc<dyn CostStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// The report of `query` over the caller's project (every project for an admin): the
    /// ledger's records plus what open billing has accrued up to now. Only the servers
    /// whose watermark is before the range's end have any in the range (none for a range
    /// wholly after now), so only they are read: a report of a past month reads none.
    pub async fn report(
        &self,
        caller: &Caller,
        query: CostQuery,
    ) -> Result<CostReport, StoreError> {
        let now = self.clock.now();
        let scope = caller.scope();
        let open = match query.from < now {
            true => self.store.open_billing(scope, Some(query.to)).await?,
            false => Vec::new(),
        };
        self.summed(scope, query, &open, now).await
    }

    /// The forecast up to `until` (the end of the current month when `None`): the month so
    /// far plus what the servers billing now add, each held in its current state.
    pub async fn forecast(
        &self,
        caller: &Caller,
        until: Option<DateTime<Utc>>,
    ) -> Result<Forecast, ForecastFailure> {
        let now = self.clock.now();
        let month_start = Granularity::Month.start_of(now);
        let until = until.unwrap_or_else(|| Granularity::Month.next(month_start));
        check_until(now, until)?;
        let scope = caller.scope();
        let open = self.store.open_billing(scope, None).await?;
        let so_far = CostQuery {
            from: month_start,
            to: now,
            granularity: Granularity::Month,
            group_by: Vec::new(),
        };
        let actual = self.summed(scope, so_far, &open, now).await?.total;
        let (projected, hourly_rate) = projection(&open, now, until);
        Ok(Forecast {
            from: month_start,
            now,
            until,
            actual,
            projected,
            total: actual + projected,
            hourly_rate,
            billing_servers: open.len() as u64,
        })
    }

    /// What `project`'s servers (those `selector` matches as they are labelled now, whole
    /// month) have cost in the month of `now` up to it, and what they will have cost by its
    /// end at the rate of those billing now: a budget's two measures. The month is read as
    /// a report grouped by the selector's keys, whose groups are matched against it. `now`
    /// is the caller's reading of the clock, so the month it names is the month measured.
    pub async fn month_so_far(
        &self,
        project: ProjectId,
        selector: Option<&Selector>,
        now: DateTime<Utc>,
    ) -> Result<(Money, Money), StoreError> {
        let month_start = Granularity::Month.start_of(now);
        let keys = selector.map(selector_keys).unwrap_or_default();
        let open: Vec<Server> = self
            .store
            .open_billing(Some(project), None)
            .await?
            .into_iter()
            .filter(|server| selector.is_none_or(|s| s.matches(&server.labels)))
            .collect();
        let query = CostQuery {
            from: month_start,
            to: now,
            granularity: Granularity::Month,
            group_by: keys.iter().cloned().map(GroupKey::Label).collect(),
        };
        let report = self.summed(Some(project), query, &open, now).await?;
        let actual = report
            .buckets
            .iter()
            .flat_map(|bucket| &bucket.groups)
            .filter(|group| selector.is_none_or(|s| s.matches(&group_labels(&keys, &group.keys))))
            .fold(Money::ZERO, |sum, group| sum + group.amount);
        let (projected, _) = projection(&open, now, Granularity::Month.next(month_start));
        Ok((actual, actual + projected))
    }

    /// The report of `query` over `scope`: the ledger's hours plus those `open` (the servers
    /// billing now) have accrued up to `now`.
    async fn summed(
        &self,
        scope: Option<ProjectId>,
        query: CostQuery,
        open: &[Server],
        now: DateTime<Utc>,
    ) -> Result<CostReport, StoreError> {
        let mut hourly = self
            .ledger_hours(scope, query.from, query.to, &query.group_by)
            .await?;
        for server in open {
            hourly.extend(open_costs(server, now, &query));
        }
        Ok(costs::build_report(query, hourly))
    }

    /// The ledger's hours of `[from, to)`. A range from a whole hour to the middle of one
    /// (the month so far, up to now) is read in two parts: its whole hours, which the
    /// store's rollups may answer, and the part of its last hour, from the records.
    async fn ledger_hours(
        &self,
        scope: Option<ProjectId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        group_by: &[GroupKey],
    ) -> Result<Vec<HourlyCost>, StoreError> {
        let last_hour = Granularity::Hour.start_of(to);
        if from < last_hour && last_hour < to && rollups_answer(from, last_hour, group_by) {
            let mut hours = self
                .store
                .hourly_costs(scope, from, last_hour, group_by)
                .await?;
            hours.extend(
                self.store
                    .hourly_costs(scope, last_hour, to, group_by)
                    .await?,
            );
            return Ok(hours);
        }
        self.store.hourly_costs(scope, from, to, group_by).await
    }
}

/// The labels a group of a report by `keys` stands for: each key with its value, the unset
/// ones left out (a value the store holds is one a client set, so it is kept as stored).
fn group_labels(keys: &[String], values: &[Option<String>]) -> Labels {
    let map = keys
        .iter()
        .zip(values)
        .filter_map(|(key, value)| Some((key.clone(), value.clone()?)))
        .collect();
    Labels::from_stored(map).unwrap_or_default()
}

#[cfg(test)]
#[path = "costs_tests.rs"]
mod tests;
