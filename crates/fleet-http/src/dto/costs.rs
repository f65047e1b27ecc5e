//! Cost reports and forecasts.

use chrono::{DateTime, Utc};
use fleet_domain::costs;
use paperclip::actix::Apiv2Schema;
use serde::{Deserialize, Serialize};

use super::Money;

/// How long a report's buckets are; each starts on its boundary (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Apiv2Schema)]
#[serde(rename_all = "snake_case")]
pub enum CostGranularity {
    /// Clock hours.
    Hour,
    /// Days.
    Day,
    /// Calendar months.
    Month,
}

impl From<CostGranularity> for costs::Granularity {
    fn from(granularity: CostGranularity) -> Self {
        match granularity {
            CostGranularity::Hour => Self::Hour,
            CostGranularity::Day => Self::Day,
            CostGranularity::Month => Self::Month,
        }
    }
}

impl From<costs::Granularity> for CostGranularity {
    fn from(granularity: costs::Granularity) -> Self {
        match granularity {
            costs::Granularity::Hour => Self::Hour,
            costs::Granularity::Day => Self::Day,
            costs::Granularity::Month => Self::Month,
        }
    }
}

/// The range and shape of `GET /costs`.
#[derive(Debug, Clone, Deserialize, Apiv2Schema)]
pub struct CostQuery {
    /// Start of the range (RFC 3339): usage whose period starts at or after it counts.
    pub from: DateTime<Utc>,
    /// End of the range (RFC 3339), after `from`: usage whose period starts before it
    /// counts. Buckets are at most 10,000: a longer range is a 400 naming the limit.
    pub to: DateTime<Utc>,
    /// How long the buckets are; `day` when left out.
    pub granularity: Option<CostGranularity>,
    /// What to group by, comma-separated, at most three of `project`, `region`, `type`,
    /// `server` and `label:KEY` (the server's label value as it is now); one group per
    /// bucket when left out.
    pub group_by: Option<String>,
}

/// The end of `GET /costs/forecast`.
#[derive(Debug, Clone, Deserialize, Apiv2Schema)]
pub struct ForecastQuery {
    /// Where the forecast ends (RFC 3339), after now and at most 366 days ahead; the end of
    /// the current calendar month (UTC) when left out.
    pub until: Option<DateTime<Utc>>,
}

/// One key of a group and the group's value of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct CostGroupKey {
    /// The key, as `group_by` names it: `region`, `label:team`.
    pub key: String,
    /// The group's value; absent for servers without the label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// What one group cost in one bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct CostGroup {
    /// Its value of each `group_by` key, in their order; empty without `group_by`.
    pub keys: Vec<CostGroupKey>,
    /// The amount charged.
    pub amount: Money,
    /// The seconds billed.
    pub seconds: i64,
}

/// One bucket of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct CostBucket {
    /// Its start: a boundary of the granularity, or `from`.
    pub start: DateTime<Utc>,
    /// Its end: the next boundary, or `to`.
    pub end: DateTime<Utc>,
    /// The amount charged in it.
    pub amount: Money,
    /// The seconds billed in it.
    pub seconds: i64,
    /// The groups with usage in it, ordered by their values.
    pub groups: Vec<CostGroup>,
}

/// What the caller's servers (every project's, for an admin) cost over a range: the usage
/// ledger plus what open billing has accrued up to now, each record in the bucket its
/// period starts in (records are clock hours by default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct CostReport {
    /// Start of the range.
    pub from: DateTime<Utc>,
    /// End of the range.
    pub to: DateTime<Utc>,
    /// The buckets' length.
    pub granularity: CostGranularity,
    /// The group keys, in the order each group lists its values.
    pub group_by: Vec<String>,
    /// The amount over the range: the sum of the buckets.
    pub total: Money,
    /// The seconds over the range.
    pub total_seconds: i64,
    /// Every bucket of the range, oldest first, empty ones included.
    pub buckets: Vec<CostBucket>,
}

impl From<costs::CostReport> for CostReport {
    fn from(report: costs::CostReport) -> Self {
        let names: Vec<String> = report.query.group_by.iter().map(|k| k.name()).collect();
        let buckets = report
            .buckets
            .into_iter()
            .map(|bucket| CostBucket {
                start: bucket.start,
                end: bucket.end,
                amount: bucket.amount.into(),
                seconds: bucket.seconds,
                groups: bucket
                    .groups
                    .into_iter()
                    .map(|group| CostGroup {
                        keys: names
                            .iter()
                            .zip(group.keys)
                            .map(|(key, value)| CostGroupKey {
                                key: key.clone(),
                                value,
                            })
                            .collect(),
                        amount: group.amount.into(),
                        seconds: group.seconds,
                    })
                    .collect(),
            })
            .collect();
        Self {
            from: report.query.from,
            to: report.query.to,
            granularity: report.query.granularity.into(),
            group_by: names,
            total: report.total.into(),
            total_seconds: report.total_seconds,
            buckets,
        }
    }
}

/// The cost of the current calendar month so far, and where it is heading: every server
/// billing now (running, or stopped under a policy that bills it) held in its state until
/// `until`, under its price, policy and monthly cap. Runs ended in the meantime and their
/// rounding are not foreseen, so no confidence band is given: the projection is exact for
/// a fleet that does not change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct CostForecast {
    /// The start of the current calendar month (UTC).
    pub from: DateTime<Utc>,
    /// The clock's now.
    pub now: DateTime<Utc>,
    /// Where the forecast ends.
    pub until: DateTime<Utc>,
    /// Charged from `from` to now, open billing included.
    pub actual: Money,
    /// What the servers billing now add from now to `until`.
    pub projected: Money,
    /// `actual` plus `projected`.
    pub total: Money,
    /// What the servers billing now cost per hour.
    pub hourly_rate: Money,
    /// How many servers are billing now.
    pub billing_servers: u64,
}

impl From<costs::Forecast> for CostForecast {
    fn from(forecast: costs::Forecast) -> Self {
        Self {
            from: forecast.from,
            now: forecast.now,
            until: forecast.until,
            actual: forecast.actual.into(),
            projected: forecast.projected.into(),
            total: forecast.total.into(),
            hourly_rate: forecast.hourly_rate.into(),
            billing_servers: forecast.billing_servers,
        }
    }
}
