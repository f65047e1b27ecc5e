//! Uptime billing: runs, the usage ledger and its watermark.
//!
//! A run starts when a server reaches `running` after provisioning or a start, and ends when
//! it enters `stopping` or `terminating`; `rebooting` stays inside the run. Time inside a run
//! is billed to the whole second, and a run is billed for at least [`MINIMUM_RUN_SECONDS`].
//!
//! The ledger is append-only. Each record covers `[period_start, period_end)` up to the
//! server's watermark (`Server::billed_until`), and moves the watermark in the same change,
//! so no second is billed twice and none is lost.
//!
//! Accruals end on the clock's period boundaries ([`period_end`]): with the default hourly
//! period a running server writes one record per clock hour, the first and last of a run
//! covering its part of their hour, so records line up with hourly cost buckets and a day
//! costs 24 rows whatever the accrual timing.
//!
//! Rounding: a record's amount is the price of the server's cumulative billed seconds after
//! it minus the price before it, each rounded down to a micro-unit. So the records of a
//! server always add up to exactly `floor(total_seconds × hourly / 3600)`.

use chrono::{DateTime, TimeDelta, Utc};

use crate::ids::ServerId;
use crate::money::Money;
use crate::server::Server;

/// Every run is billed for at least this long, as EC2 bills Linux instances.
pub const MINIMUM_RUN_SECONDS: i64 = 60;

/// One line of the usage ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRecord {
    /// The server billed.
    pub server_id: ServerId,
    /// Start of the period covered.
    pub period_start: DateTime<Utc>,
    /// End of the period covered.
    pub period_end: DateTime<Utc>,
    /// Seconds billed; more than the period when a short run is topped up to the minimum.
    pub seconds: i64,
    /// The hourly price applied.
    pub hourly_price: Money,
    /// The amount charged.
    pub amount: Money,
}

/// A usage record as the ledger keeps it, with its position among its server's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// Orders a server's records oldest first; a page cursor names it.
    pub position: i64,
    /// The record.
    pub record: UsageRecord,
}

/// What a server has cost so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillingSummary {
    /// Seconds in the ledger.
    pub billed_seconds: i64,
    /// Amount in the ledger.
    pub billed_amount: Money,
    /// Seconds of the open run not yet in the ledger.
    pub unbilled_seconds: i64,
    /// Ledger plus the open run's unbilled seconds, priced the same way.
    pub total_seconds: i64,
    /// The cost of `total_seconds`.
    pub total_amount: Money,
}

/// The server's cost at `now`, counting the open run's seconds not yet accrued.
pub fn summary(server: &Server, now: DateTime<Utc>) -> BillingSummary {
    let unbilled_seconds = server
        .billed_until
        .map(|watermark| whole_seconds(watermark, now))
        .unwrap_or(0);
    let total_seconds = server.billed_seconds + unbilled_seconds;
    BillingSummary {
        billed_seconds: server.billed_seconds,
        billed_amount: server.billed_amount,
        unbilled_seconds,
        total_seconds,
        total_amount: Money::for_seconds(server.hourly_price, total_seconds),
    }
}

/// Bills the open run from its watermark up to `until`, whole seconds only.
///
/// Returns `None` when no run is open or not a whole second has passed. The server's
/// watermark and totals are moved to match the record.
pub fn accrue(server: &mut Server, until: DateTime<Utc>) -> Option<UsageRecord> {
    let watermark = server.billed_until?;
    let seconds = whole_seconds(watermark, until);
    if seconds == 0 {
        return None;
    }
    let period_end = watermark + TimeDelta::seconds(seconds);
    server.billed_until = Some(period_end);
    Some(charge(server, watermark, period_end, seconds))
}

/// Closes the open run at `at`: bills what is left, topped up to the run minimum.
///
/// Returns `None` when no run is open. Afterwards the server has no open run.
pub fn close_run(server: &mut Server, at: DateTime<Utc>) -> Option<UsageRecord> {
    let watermark = server.billed_until.take()?;
    let run_start = server.started_at.unwrap_or(watermark);
    let already_billed = whole_seconds(run_start, watermark);
    let remaining = whole_seconds(watermark, at);
    let seconds = remaining.max(MINIMUM_RUN_SECONDS - already_billed);
    let period_end = watermark + TimeDelta::seconds(remaining);
    Some(charge(server, watermark, period_end, seconds))
}

/// The end of the billing period `watermark` lies in: the next multiple of `period` since
/// the Unix epoch, in whole seconds, plus the watermark's sub-second part. A run starts at
/// any instant; keeping its fraction of a second makes every record whole seconds long, so
/// periods never lose or add a second, while their ends stay within a second of the clock's
/// boundaries (the hour, by default).
pub fn period_end(watermark: DateTime<Utc>, period: TimeDelta) -> DateTime<Utc> {
    let period = period.num_seconds().max(1);
    let into_period = watermark.timestamp().rem_euclid(period);
    watermark + TimeDelta::seconds(period - into_period)
}

/// The instant before which every watermark with a period ended by `now` lies: the last
/// period boundary at or before `now`, in whole seconds. A watermark just under it whose
/// sub-second part is not yet past may be not quite due; planning it changes nothing, and
/// [`period_end`] grows with the watermark, so the due ones come first in watermark order.
pub fn accruals_due_before(now: DateTime<Utc>, period: TimeDelta) -> DateTime<Utc> {
    let period = period.num_seconds().max(1);
    let into_period = now.timestamp().rem_euclid(period);
    let subsecond = TimeDelta::nanoseconds(i64::from(now.timestamp_subsec_nanos()));
    now - TimeDelta::seconds(into_period) - subsecond
}

/// Opens a run at `at`.
pub fn open_run(server: &mut Server, at: DateTime<Utc>) {
    server.started_at = Some(at);
    server.billed_until = Some(at);
}

fn charge(
    server: &mut Server,
    period_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
    seconds: i64,
) -> UsageRecord {
    let before = Money::for_seconds(server.hourly_price, server.billed_seconds);
    server.billed_seconds += seconds;
    let after = Money::for_seconds(server.hourly_price, server.billed_seconds);
    let amount = after - before;
    server.billed_amount = server.billed_amount + amount;
    UsageRecord {
        server_id: server.id,
        period_start,
        period_end,
        seconds,
        hourly_price: server.hourly_price,
        amount,
    }
}

fn whole_seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_seconds().max(0)
}
