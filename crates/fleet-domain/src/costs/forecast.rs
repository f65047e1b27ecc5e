//! The month's forecast: what has been charged so far plus what the servers billing now
//! would add, each held in its current state, up to a given instant.

use chrono::{DateTime, TimeDelta, Utc};

use crate::billing;
use crate::money::Money;
use crate::server::Server;

/// How far ahead a forecast may look.
pub const MAX_FORECAST_DAYS: i64 = 366;

/// A forecast of costs up to `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forecast {
    /// Where the actual part starts: the start of the current calendar month (UTC).
    pub from: DateTime<Utc>,
    /// When it was made.
    pub now: DateTime<Utc>,
    /// Where it ends.
    pub until: DateTime<Utc>,
    /// Charged from `from` to `now`, open accruals included.
    pub actual: Money,
    /// What the servers billing at `now` add from `now` to `until`.
    pub projected: Money,
    /// `actual + projected`.
    pub total: Money,
    /// What those servers cost per hour at `now` (their hourly or stopped price).
    pub hourly_rate: Money,
    /// How many servers were billing at `now`.
    pub billing_servers: u64,
}

/// Why a forecast was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForecastError {
    /// `until` not after now, or too far ahead.
    #[error(
        "`until` ({until}) must be after now ({now}) and at most {MAX_FORECAST_DAYS} days ahead"
    )]
    OutOfRange {
        /// The instant asked for.
        until: DateTime<Utc>,
        /// The clock's now.
        now: DateTime<Utc>,
    },
}

/// Checks `until` against `now`.
pub fn check_until(now: DateTime<Utc>, until: DateTime<Utc>) -> Result<(), ForecastError> {
    if until <= now || until - now > TimeDelta::days(MAX_FORECAST_DAYS) {
        return Err(ForecastError::OutOfRange { until, now });
    }
    Ok(())
}

/// What `servers` (each with open billing) add from `now` to `until`, each accrued in its
/// current state as the ledger would (its price or stopped price, its monthly cap), with no
/// run closed: a run's closing rounding is not forecast.
pub fn projection(servers: &[Server], now: DateTime<Utc>, until: DateTime<Utc>) -> (Money, Money) {
    let mut projected = Money::ZERO;
    let mut rate = Money::ZERO;
    for server in servers {
        let mut accrued = server.clone();
        billing::accrue_through(&mut accrued, now, None);
        let before = accrued.billed_amount;
        billing::accrue_through(&mut accrued, until, None);
        projected = projected + (accrued.billed_amount - before);
        rate = rate + billing::hourly_rate(server);
    }
    (projected, rate)
}
