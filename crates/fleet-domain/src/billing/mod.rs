//! Uptime billing: runs, the usage ledger and its watermark.
//!
//! A run starts when a server reaches `running` after provisioning or a start, and ends when
//! it enters `stopping` or `terminating`; `rebooting` stays inside the run. Time inside a run
//! is billed to the whole second at the server's hourly price; when the run ends, its
//! [`BillingPolicy`] rounds it up (a minimum, or its last started hour). A policy that bills
//! stopped servers accrues the time between runs too, at its stopped price. A monthly cap
//! limits what a server is charged per calendar month (UTC), which it keeps as
//! [`MonthToDate`]; no record spans two months.
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

mod policy;
#[cfg(test)]
mod policy_tests;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};

pub use policy::{
    BillingPolicy, DEFAULT_CAP_HOURS, MINIMUM_RUN_SECONDS, PolicyName, PolicySpec, RunCharge,
};

use crate::ids::ServerId;
use crate::money::Money;
use crate::server::Server;
use crate::state::ServerState;

const SECONDS_PER_HOUR: i64 = 3_600;

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
    /// Seconds in the ledger, running and (if the policy bills it) stopped.
    pub billed_seconds: i64,
    /// Amount in the ledger.
    pub billed_amount: Money,
    /// Seconds since the watermark not yet in the ledger.
    pub unbilled_seconds: i64,
    /// Ledger plus the unbilled seconds.
    pub total_seconds: i64,
    /// What the ledger would hold had it been accrued up to now: the unbilled seconds
    /// priced as an accrual prices them (no run minimum, which only a close bills).
    pub total_amount: Money,
}

/// The server's cost at `now`, counting the seconds since its watermark.
pub fn summary(server: &Server, now: DateTime<Utc>) -> BillingSummary {
    let unbilled_seconds = server
        .billed_until
        .map(|watermark| whole_seconds(watermark, now))
        .unwrap_or(0);
    let billed_seconds = server.billed_seconds + server.billed_stopped_seconds;
    let mut accrued = server.clone();
    accrue_through(&mut accrued, now, None);
    BillingSummary {
        billed_seconds,
        billed_amount: server.billed_amount,
        unbilled_seconds,
        total_seconds: billed_seconds + unbilled_seconds,
        total_amount: accrued.billed_amount,
    }
}

/// What a server accrues in a state under its policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accrual {
    /// A run: the full price, the policy's rounding at its close.
    Run,
    /// Not running but not gone: the policy's stopped price, to the second.
    Stopped,
}

impl Accrual {
    /// What `state` accrues under `policy`, if anything.
    pub fn of(state: ServerState, policy: &BillingPolicy) -> Option<Accrual> {
        match state {
            ServerState::Running | ServerState::Rebooting => Some(Accrual::Run),
            ServerState::Stopping | ServerState::Stopped | ServerState::Starting => {
                policy.stopped_percent.map(|_| Accrual::Stopped)
            }
            _ => None,
        }
    }
}

/// Where the piece of billing from `watermark` ends: at the end of its calendar month (UTC)
/// or, with `period`, of its period, whichever comes first.
pub fn piece_end(watermark: DateTime<Utc>, period: Option<TimeDelta>) -> DateTime<Utc> {
    let month = month_end(watermark);
    period.map_or(month, |period| month.min(period_end(watermark, period)))
}

/// What `server` costs per hour in its current state: its price while it runs, its
/// policy's stopped price while it is stopped (if the policy bills that), nothing otherwise.
pub fn hourly_rate(server: &Server) -> Money {
    match Accrual::of(server.state, &server.policy) {
        Some(Accrual::Run) => server.hourly_price,
        Some(Accrual::Stopped) => server
            .policy
            .stopped_price(server.hourly_price)
            .unwrap_or(Money::ZERO),
        None => Money::ZERO,
    }
}

/// Bills `server` from its watermark up to `until`, one record per piece ([`piece_end`]),
/// the last ending at `until`. What the server accrues is what its current state does.
pub fn accrue_through(
    server: &mut Server,
    until: DateTime<Utc>,
    period: Option<TimeDelta>,
) -> Vec<UsageRecord> {
    let mut records = Vec::new();
    while let Some(watermark) = server.billed_until {
        match accrue(server, piece_end(watermark, period).min(until)) {
            Some(record) => records.push(record),
            None => break,
        }
    }
    records
}

/// Bills the open accrual from its watermark up to `until`, whole seconds only.
///
/// Returns `None` when nothing is open or not a whole second has passed. The server's
/// watermark and totals are moved to match the record. The caller keeps `until` within
/// the watermark's calendar month (see [`accrue_through`]).
pub fn accrue(server: &mut Server, until: DateTime<Utc>) -> Option<UsageRecord> {
    let watermark = server.billed_until?;
    let accrual = Accrual::of(server.state, &server.policy)?;
    let seconds = whole_seconds(watermark, until);
    if seconds == 0 {
        return None;
    }
    let period_end = watermark + TimeDelta::seconds(seconds);
    server.billed_until = Some(period_end);
    Some(charge(
        server,
        accrual,
        watermark,
        period_end,
        seconds,
        Money::ZERO,
    ))
}

/// Moves `server`'s billing from state `from` to `to` at `at`, before the server takes
/// `to`: what `from` accrued is billed up to `at` (in pieces, as [`accrue_through`]); a run
/// that ends is rounded up by its policy (its minimum, or its last started hour) in its last
/// record; what `to` accrues opens at `at`. A reboot changes nothing.
pub fn on_transition(
    server: &mut Server,
    to: ServerState,
    at: DateTime<Utc>,
    period: TimeDelta,
) -> Vec<UsageRecord> {
    let before = Accrual::of(server.state, &server.policy);
    let after = Accrual::of(to, &server.policy);
    if before == after {
        return Vec::new();
    }
    let mut records = match server.billed_until {
        Some(_) => accrue_through(server, at, Some(period)),
        None => Vec::new(),
    };
    if let (Some(Accrual::Run), Some(watermark)) = (before, server.billed_until) {
        match (records.last_mut(), close_run(server, at)) {
            (Some(last), Some(rounding)) if last.period_end == watermark => last.absorb(rounding),
            (_, Some(rounding)) => records.push(rounding),
            _ => {}
        }
    }
    server.billed_until = None;
    if let Some(accrual) = after {
        server.billed_until = Some(at);
        if accrual == Accrual::Run {
            server.started_at = Some(at);
        }
    }
    records
}

/// The rounding of a run ending at `at`, whose whole seconds are billed: the seconds and
/// amount its policy adds, as a record of no length at the watermark.
fn close_run(server: &mut Server, at: DateTime<Utc>) -> Option<UsageRecord> {
    let run_start = server.started_at.unwrap_or(at);
    let run_seconds = whole_seconds(run_start, at);
    let (extra_seconds, minimum_amount) = match server.policy.run {
        RunCharge::PerSecond {
            minimum_seconds,
            minimum_amount,
        } => ((minimum_seconds - run_seconds).max(0), minimum_amount),
        RunCharge::PerHour | RunCharge::HourlyCappedMonthly { .. } => {
            let hours = ((run_seconds + SECONDS_PER_HOUR - 1) / SECONDS_PER_HOUR).max(1);
            (hours * SECONDS_PER_HOUR - run_seconds, Money::ZERO)
        }
    };
    // What the whole run costs with its extra seconds, priced as `charge` prices it.
    let after = Money::for_seconds(server.hourly_price, server.billed_seconds + extra_seconds);
    let before_run = Money::for_seconds(server.hourly_price, server.billed_seconds - run_seconds);
    let shortfall = (minimum_amount - (after - before_run)).max(Money::ZERO);
    if extra_seconds == 0 && shortfall == Money::ZERO {
        return None;
    }
    let watermark = server.billed_until.unwrap_or(at);
    Some(charge(
        server,
        Accrual::Run,
        watermark,
        watermark,
        extra_seconds,
        shortfall,
    ))
}

/// The start of the calendar month (UTC) after the one `watermark` lies in, plus the
/// watermark's sub-second part, so pieces stay whole seconds long.
pub fn month_end(watermark: DateTime<Utc>) -> DateTime<Utc> {
    let (year, month) = match watermark.month() {
        12 => (watermark.year() + 1, 1),
        month => (watermark.year(), month + 1),
    };
    let start = NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|start| start.and_utc())
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    start + TimeDelta::nanoseconds(i64::from(watermark.timestamp_subsec_nanos()))
}

/// Months since January 1970, the index a server's month-to-date total is kept under.
pub fn month_index(at: DateTime<Utc>) -> i32 {
    (at.year() - 1970) * 12 + at.month0() as i32
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
    accrual: Accrual,
    period_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
    seconds: i64,
    extra: Money,
) -> UsageRecord {
    let (hourly_price, billed) = match accrual {
        Accrual::Run => (server.hourly_price, &mut server.billed_seconds),
        Accrual::Stopped => (
            server
                .policy
                .stopped_price(server.hourly_price)
                .unwrap_or(Money::ZERO),
            &mut server.billed_stopped_seconds,
        ),
    };
    let before = Money::for_seconds(hourly_price, *billed);
    *billed += seconds;
    let after = Money::for_seconds(hourly_price, *billed);
    let month = month_index(period_start);
    if server.month_to_date.month != month {
        server.month_to_date = MonthToDate {
            month,
            amount: Money::ZERO,
        };
    }
    let mut amount = after - before + extra;
    if let Some(cap) = server.policy.monthly_cap() {
        amount = amount.min((cap - server.month_to_date.amount).max(Money::ZERO));
    }
    server.month_to_date.amount = server.month_to_date.amount + amount;
    server.billed_amount = server.billed_amount + amount;
    UsageRecord {
        server_id: server.id,
        period_start,
        period_end,
        seconds,
        hourly_price,
        amount,
    }
}

impl UsageRecord {
    /// Takes a run's rounding (a record of no length at this one's end) into this record.
    fn absorb(&mut self, rounding: UsageRecord) {
        self.seconds += rounding.seconds;
        self.amount = self.amount + rounding.amount;
    }
}

/// What a server has been charged in one calendar month (UTC), which a monthly cap limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MonthToDate {
    /// The month, as [`month_index`] counts.
    pub month: i32,
    /// The amount charged in it.
    pub amount: Money,
}

fn whole_seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_seconds().max(0)
}
