//! The ledger phase (issue 23): the usage ledger at scale.
//!
//! A fresh fleetd in open mode on a fresh database (its own, so no server of another phase
//! runs and bills beside them) provisions `servers` servers over the run's connections, and
//! the virtual clock moves 10 s to complete them. Then the clock moves `days` days with them
//! all running in one call (the target's measure), and `days` more a day a call, as a
//! simulation that steps its clock does: `POST /admin/clock/advance` answers once every
//! accrual that fell due on the way is written, so the calls' wall time is what writing the
//! ledger took. Then a
//! sample of servers is read through `GET /servers/{id}/billing?limit=100`, one request at a
//! time: the first page, and the next one through the first's `next_cursor`. Last, with
//! fleetd stopped, the bench counts the rows of `usage_records` and measures what the ledger
//! takes on disk.
//!
//! Every page read is checked as a client would: no more records than asked, a cursor
//! whenever the server has more records than a page, and records that follow each other
//! (each period starting where the one before it ended, across the two pages too).

pub mod report;
mod storage;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};
use fleet_domain::Catalog;
use serde::Deserialize;
use uuid::Uuid;

pub use self::storage::Storage;
use crate::database;
use crate::fleetd::{self, Auth, Fleetd};
use crate::http::{Conn, encode_query_value};
use crate::load::{self, PhaseResult};
use crate::phases::{self, HttpWorker};

/// Records a billing page asks for: the most fleetd gives.
pub const PAGE: usize = 100;
/// How far the clock moves in one call.
const DAY_SECONDS: i64 = 86_400;
/// How far the clock moves to complete every provisioning (as the run does).
const COMPLETE_SECONDS: i64 = 10;
/// Whole clock hours in a day: a running server's records per day with hourly periods.
pub const HOURS_PER_DAY: u64 = 24;

/// How much of it to do.
#[derive(Debug, Clone, Copy)]
pub struct LedgerSize {
    /// Servers provisioned and left running.
    pub servers: u64,
    /// Days the clock moves with them running.
    pub days: u32,
    /// Servers whose billing is read (the first page and the next).
    pub reads: u64,
    /// Connections the provisioning uses.
    pub concurrency: usize,
}

/// Where the phase runs: a fresh Postgres database or a fresh SQLite file.
#[derive(Debug, Clone, Copy)]
pub enum LedgerStore<'a> {
    /// The URL of an empty Postgres database.
    Postgres(&'a str),
    /// An SQLite file that does not exist yet.
    Sqlite(&'a Path),
}

impl LedgerStore<'_> {
    /// The store's label.
    pub fn name(&self) -> &'static str {
        match self {
            LedgerStore::Postgres(_) => "Postgres",
            LedgerStore::Sqlite(_) => "SQLite",
        }
    }

    fn database_url(&self) -> String {
        match self {
            LedgerStore::Postgres(url) => (*url).to_owned(),
            LedgerStore::Sqlite(file) => format!("sqlite://{}", file.display()),
        }
    }
}

/// What the phase measured on one store.
pub struct LedgerRun {
    /// The store.
    pub store: &'static str,
    /// The sizes asked for.
    pub size: LedgerSize,
    /// The provisioning of the servers.
    pub provisioning: PhaseResult,
    /// Servers provisioned, which ran for the days measured.
    pub servers: u64,
    /// The move of the clock that completed the provisionings.
    pub completing: Duration,
    /// The first month: the clock moved by all its days in one call.
    pub month: Duration,
    /// fleetd's CPU time over the month's move.
    pub month_cpu: Option<Duration>,
    /// The second month: each day's move of the clock, in order.
    pub days: Vec<Duration>,
    /// fleetd's CPU time over the days' moves.
    pub advance_cpu: Option<Duration>,
    /// fleetd's peak resident set (`VmHWM`) over its life, in KiB.
    pub peak_rss_kib: u64,
    /// The ledger's rows and size, measured with fleetd stopped.
    pub storage: Storage,
    /// The first page of a server's billing.
    pub first_page: PhaseResult,
    /// The page after it, through the first's `next_cursor`.
    pub next_page: PhaseResult,
    /// Pages that came back wrong (besides requests that failed), and the like.
    pub failures: Vec<String>,
}

impl LedgerRun {
    /// The time the second month's moves of the clock, a day a call, took together.
    pub fn advanced(&self) -> Duration {
        self.days.iter().sum()
    }

    /// Days the servers ran, one each: the month moved at once and the month moved a day at
    /// a time.
    pub fn server_days(&self) -> u64 {
        self.servers * 2 * self.days.len() as u64
    }

    /// Usage rows per server and day.
    pub fn rows_per_server_day(&self) -> f64 {
        self.storage.rows as f64 / self.server_days().max(1) as f64
    }

    /// The most rows the servers may have written: one per clock hour each ran in (a day's
    /// 24, and the hour the run started in).
    pub fn rows_allowed(&self) -> u64 {
        self.servers * (HOURS_PER_DAY * 2 * self.days.len() as u64 + 1)
    }

    /// Bytes the ledger takes per server and month of 30 days.
    pub fn bytes_per_server_month(&self) -> f64 {
        self.storage.ledger_bytes as f64 * 30.0 / self.server_days().max(1) as f64
    }

    /// Every failure: provisionings, billing reads, and pages that came back wrong.
    pub fn errors(&self) -> u64 {
        self.provisioning.errors
            + self.first_page.errors
            + self.next_page.errors
            + self.failures.len() as u64
    }
}

/// Runs the phase on `store` with fleetd at `binary`, writing its log to `log`.
pub async fn run(
    binary: &Path,
    store: LedgerStore<'_>,
    size: LedgerSize,
    log: PathBuf,
) -> Result<LedgerRun> {
    let name = store.name();
    let say = |what: &str| eprintln!("fleet-bench: [ledger {name}] {what}");
    say(&format!(
        "{} servers running for {} days",
        size.servers, size.days
    ));
    let fleetd = Fleetd::start(binary, &store.database_url(), Auth::Open, log).await?;
    let (provisioning, ids) = provision(&fleetd, size).await?;
    let completing = advance(&fleetd, COMPLETE_SECONDS).await?;

    let ticks = fleetd::clock_ticks_per_second();
    let cpu = || ticks.and_then(|t| fleetd.cpu_time(t));
    let before = cpu();
    let month = advance(&fleetd, DAY_SECONDS * i64::from(size.days)).await?;
    let month_cpu = cpu().zip(before).map(|(a, b)| a.saturating_sub(b));
    say(&format!(
        "{} days in one call: {:.2} s",
        size.days,
        month.as_secs_f64()
    ));
    let before = cpu();
    let mut days = Vec::with_capacity(size.days as usize);
    for day in 1..=size.days {
        let took = advance(&fleetd, DAY_SECONDS).await?;
        say(&format!(
            "day {day} of {}: {:.2} s",
            size.days,
            took.as_secs_f64()
        ));
        days.push(took);
    }
    let advance_cpu = cpu().zip(before).map(|(a, b)| a.saturating_sub(b));

    if let LedgerStore::Postgres(url) = store {
        // What autovacuum does within a minute of a bulk change, done now so the reads do
        // not measure plans made without statistics (which is luck of timing).
        database::connect(url)
            .await?
            .batch_execute("ANALYZE usage_records")
            .await?;
    }
    say(&format!(
        "GET /servers/{{id}}/billing of {} servers, one at a time",
        size.reads
    ));
    let mut conn = Conn::connect(fleetd.addr()).await?;
    let least = HOURS_PER_DAY * 2 * u64::from(size.days);
    let pages = read_billing(&mut conn, &ids, size.reads, least).await;
    drop(conn);

    let peak_rss_kib = fleetd.peak_rss_kib()?;
    fleetd.stop()?;
    say("counting and measuring the ledger");
    let storage = storage::measure(store).await?;
    Ok(LedgerRun {
        store: name,
        size,
        provisioning,
        servers: ids.len() as u64,
        completing,
        month,
        month_cpu,
        days,
        advance_cpu,
        peak_rss_kib,
        storage,
        first_page: pages.first,
        next_page: pages.next,
        failures: pages.failures,
    })
}

/// `size.servers` provisionings over `size.concurrency` connections; the servers made.
async fn provision(fleetd: &Fleetd, size: LedgerSize) -> Result<(PhaseResult, Vec<Uuid>)> {
    let catalog = Catalog::default();
    let made = RefCell::new(Vec::new());
    let mut workers = HttpWorker::open(fleetd.addr(), size.concurrency, None).await?;
    let result = load::run("POST /servers", &mut workers, size.servers, async |w, n| {
        phases::provision(w, &catalog, &made, n).await
    })
    .await;
    let ids = made.into_inner();
    if ids.is_empty() {
        bail!(
            "no server was provisioned: {}",
            result.first_error.unwrap_or_default()
        );
    }
    Ok((result, ids))
}

/// Moves fleetd's clock by `seconds` on a fresh connection; how long that took.
async fn advance(fleetd: &Fleetd, seconds: i64) -> Result<Duration> {
    let mut conn = Conn::connect(fleetd.addr()).await?;
    let started = Instant::now();
    phases::advance_clock(&mut conn, seconds).await?;
    Ok(started.elapsed())
}

/// A page of `GET /servers/{id}/billing`, as far as the bench reads it.
#[derive(Deserialize)]
struct BillingPage {
    records: Vec<Record>,
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct Record {
    period_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
}

/// The billing reads' latencies and what came back wrong.
struct Pages {
    first: PhaseResult,
    next: PhaseResult,
    failures: Vec<String>,
}

/// Reads the first billing page of `reads` servers picked over `ids`, and the next page of
/// each through its cursor, one request at a time. Every server has at least `least`
/// records, so a first page must have a cursor if that is more than a page.
async fn read_billing(conn: &mut Conn, ids: &[Uuid], reads: u64, least: u64) -> Pages {
    let mut pages = Pages {
        first: PhaseResult::empty("first page"),
        next: PhaseResult::empty("next page"),
        failures: Vec::new(),
    };
    for n in 0..reads {
        let id = match phases::pick(ids, n) {
            Ok(id) => id,
            Err(e) => {
                pages.failures.push(e);
                return pages;
            }
        };
        let path = format!("/servers/{id}/billing?limit={PAGE}");
        let Some(first) = timed(conn, &path, &mut pages.first).await else {
            continue;
        };
        let more = least > PAGE as u64;
        if let Err(e) = check_page(&first, None, more) {
            pages.failures.push(format!("{path}: {e}"));
        }
        let Some(cursor) = &first.next_cursor else {
            continue;
        };
        let path = format!("{path}&cursor={}", encode_query_value(cursor));
        let Some(next) = timed(conn, &path, &mut pages.next).await else {
            continue;
        };
        let after = first.records.last().map(|r| r.period_end);
        if let Err(e) = check_page(&next, after, false) {
            pages.failures.push(format!("{path}: {e}"));
        }
    }
    pages
}

/// `GET path` as a billing page, timed into `into`; the page, if it came.
async fn timed(conn: &mut Conn, path: &str, into: &mut PhaseResult) -> Option<BillingPage> {
    let sent = Instant::now();
    let page = conn.get_json::<BillingPage>(path).await;
    let took = sent.elapsed();
    match page {
        Ok(page) => {
            into.record(took, Ok(()));
            Some(page)
        }
        Err(e) => {
            into.record(took, Err(format!("{e:#}")));
            None
        }
    }
}

/// Whether `page` is what a client may rely on: at most [`PAGE`] records, each starting where
/// the one before it ended (the first where `after` ended, if given); a cursor if `more` are
/// known to follow; none on a short page.
fn check_page(page: &BillingPage, after: Option<DateTime<Utc>>, more: bool) -> Result<(), String> {
    let count = page.records.len();
    if count > PAGE {
        return Err(format!("{count} records where {PAGE} were asked for"));
    }
    if count < PAGE && page.next_cursor.is_some() {
        return Err(format!(
            "a next_cursor after a short page of {count} records"
        ));
    }
    if more && page.next_cursor.is_none() {
        return Err(format!(
            "no next_cursor after {count} records of a server with more"
        ));
    }
    let mut end = after;
    for (i, record) in page.records.iter().enumerate() {
        if let Some(end) = end
            && record.period_start != end
        {
            return Err(format!(
                "record {i} starts at {} where the one before ended at {end}",
                record.period_start
            ));
        }
        end = Some(record.period_end);
    }
    if after.is_some() && count == 0 {
        return Err("an empty page behind a cursor".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn page(hours: &[i64], cursor: bool) -> BillingPage {
        let base = DateTime::from_timestamp(1_800_000_000, 0).expect("a valid instant");
        BillingPage {
            records: hours
                .iter()
                .map(|h| Record {
                    period_start: base + TimeDelta::hours(*h),
                    period_end: base + TimeDelta::hours(h + 1),
                })
                .collect(),
            next_cursor: cursor.then(|| "c".to_owned()),
        }
    }

    #[test]
    fn pages_are_checked_as_a_client_would() {
        let full: Vec<i64> = (0..PAGE as i64).collect();
        assert_eq!(check_page(&page(&full, true), None, true), Ok(()));
        assert!(check_page(&page(&full, false), None, true).is_err());
        assert_eq!(check_page(&page(&full, false), None, false), Ok(()));
        assert!(check_page(&page(&[0, 1], true), None, false).is_err());
        assert!(check_page(&page(&[0, 2], false), None, false).is_err());
        let base = DateTime::from_timestamp(1_800_000_000, 0).expect("a valid instant");
        let after = Some(base + TimeDelta::hours(3));
        assert_eq!(check_page(&page(&[3, 4], false), after, false), Ok(()));
        assert!(check_page(&page(&[4, 5], false), after, false).is_err());
        assert!(check_page(&page(&[], false), after, false).is_err());
        let too_many: Vec<i64> = (0..=PAGE as i64).collect();
        assert!(check_page(&page(&too_many, true), None, true).is_err());
    }
}
