//! Cost reports: the usage ledger summed into time buckets and groups, in the shape of AWS
//! Cost Explorer (a total, then per bucket the amount and seconds of each group).
//!
//! A usage record belongs to the hour its period starts in: with the default hourly billing
//! period, records are clock hours (see [`crate::billing`]), so hourly buckets are exact; a
//! longer period puts a record in the bucket it starts in. The open part of a server's
//! billing (since its watermark) is cut into hours as an accrual would cut it and counted
//! too, so a report up to now agrees with the servers' billing totals to the micro-unit.

mod forecast;
mod query;
mod report;
mod rollups;

pub use forecast::{Forecast, ForecastError, MAX_FORECAST_DAYS, check_until, projection};
pub use query::{CostQuery, CostQueryError, Granularity, GroupKey, MAX_BUCKETS, MAX_GROUP_KEYS};
pub use report::{CostBucket, CostGroup, CostReport, HourlyCost, build_report, open_costs};
pub use rollups::rollups_answer;

#[cfg(test)]
mod tests;
