//! Summing hourly costs into a report's buckets and groups.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::query::{CostQuery, Granularity};
use crate::billing;
use crate::money::Money;
use crate::server::Server;

/// What the ledger (or an open accrual) charged in one clock hour to one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourlyCost {
    /// The hour the records start in.
    pub hour: DateTime<Utc>,
    /// The group's value of each of the query's keys, in their order.
    pub keys: Vec<Option<String>>,
    /// The amount charged.
    pub amount: Money,
    /// The seconds billed.
    pub seconds: i64,
}

/// One group of a bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostGroup {
    /// Its value of each of the query's keys, in their order.
    pub keys: Vec<Option<String>>,
    /// The amount charged.
    pub amount: Money,
    /// The seconds billed.
    pub seconds: i64,
}

/// One bucket of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostBucket {
    /// Its start (a boundary of the granularity, or the range's start).
    pub start: DateTime<Utc>,
    /// Its end (the next boundary, or the range's end).
    pub end: DateTime<Utc>,
    /// The amount charged in it.
    pub amount: Money,
    /// The seconds billed in it.
    pub seconds: i64,
    /// Its groups with a cost, by their keys' values.
    pub groups: Vec<CostGroup>,
}

/// A cost report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostReport {
    /// The query answered.
    pub query: CostQuery,
    /// Every bucket of the range, oldest first, empty ones included.
    pub buckets: Vec<CostBucket>,
    /// The amount over the range.
    pub total: Money,
    /// The seconds over the range.
    pub total_seconds: i64,
}

/// The hours `server`'s open billing has accrued since its watermark up to `until`, cut as
/// an accrual cuts them, keyed by the query's group keys; only hours in the query's range.
pub fn open_costs(server: &Server, until: DateTime<Utc>, query: &CostQuery) -> Vec<HourlyCost> {
    let mut accrued = server.clone();
    let keys: Vec<Option<String>> = query.group_by.iter().map(|k| k.value_of(server)).collect();
    billing::accrue_through(&mut accrued, until.min(query.to), Some(TimeDelta::hours(1)))
        .into_iter()
        .filter(|record| record.period_start >= query.from)
        .map(|record| HourlyCost {
            hour: Granularity::Hour.start_of(record.period_start),
            keys: keys.clone(),
            amount: record.amount,
            seconds: record.seconds,
        })
        .collect()
}

/// A bucket's amount and seconds by group values.
type GroupSums = BTreeMap<Vec<Option<String>>, (Money, i64)>;

/// The report of `query` from hourly costs (the ledger's and the open accruals').
pub fn build_report(query: CostQuery, hourly: Vec<HourlyCost>) -> CostReport {
    let starts = query.bucket_starts();
    let mut sums: BTreeMap<DateTime<Utc>, GroupSums> = starts
        .iter()
        .map(|start| (*start, BTreeMap::new()))
        .collect();
    for cost in hourly {
        let bucket = query.granularity.start_of(cost.hour);
        if let Some(groups) = sums.get_mut(&bucket) {
            let sum = groups.entry(cost.keys).or_insert((Money::ZERO, 0));
            sum.0 = sum.0 + cost.amount;
            sum.1 += cost.seconds;
        }
    }
    let mut total = Money::ZERO;
    let mut total_seconds = 0;
    let buckets = sums
        .into_iter()
        .map(|(start, groups)| {
            let groups: Vec<CostGroup> = groups
                .into_iter()
                .map(|(keys, (amount, seconds))| CostGroup {
                    keys,
                    amount,
                    seconds,
                })
                .collect();
            let amount = groups.iter().fold(Money::ZERO, |sum, g| sum + g.amount);
            let seconds = groups.iter().map(|g| g.seconds).sum();
            total = total + amount;
            total_seconds += seconds;
            CostBucket {
                start: start.max(query.from),
                end: query.granularity.next(start).min(query.to),
                amount,
                seconds,
                groups,
            }
        })
        .collect();
    CostReport {
        query,
        buckets,
        total,
        total_seconds,
    }
}
