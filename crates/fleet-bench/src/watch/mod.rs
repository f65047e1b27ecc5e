//! The watch phase (issue 15): a thousand `GET /events/stream` subscribers and a thousand
//! `GET /servers/{id}/wait` waiters held open on one fleetd while provisioning runs at full
//! rate, against the same provisioning without them, in alternating rounds.
//!
//! fleetd runs in keys mode (on the run's store, after the run's own fleetd has stopped),
//! so the watchers can belong to several projects: each project gets a `member` key, the
//! subscribers and waiters are dealt over the projects in turn, and so are the provisionings,
//! so a subscriber receives its project's share of the events. With one project, every
//! subscriber receives every event.
//!
//! Each round with watchers provisions a server for every waiter first, and ends by moving
//! the virtual clock, which completes those provisionings and so answers every wait: a
//! client that closes its connection mid-wait does not end the wait on fleetd (actix-web
//! does not drop a handler still pending when its client goes, actix/actix-web#1313), so
//! closing the waiters would leave their waits running into the next rounds.
//!
//! A delivery is timed from the provisioning's answer (the 201 is sent after the commit, so
//! it stands for the commit instant, late by the answer's way back) to the arrival of the
//! bytes holding the event, and also from the request being sent (a bound on the other
//! side). Every round waits until each subscriber has received every event of its project
//! before closing, so the slowest deliveries count.

mod chunked;
mod ledger;
pub mod report;
mod side;
mod subscriber;
mod waiter;
mod watchers;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use fleet_domain::Catalog;
use hyper::header::{AUTHORIZATION, HeaderName, HeaderValue};
use hyper::{Method, StatusCode};
use tokio::sync::watch;
use uuid::Uuid;

use self::ledger::{Ledger, request_id};
pub use self::side::{Rounds, Side, Sides, Usage, sample_rss};
use self::subscriber::Deliveries;
use self::waiter::Waited;
use self::watchers::{ProjectKey, Watchers};
use crate::fleetd::{self, Fleetd};
use crate::http::{Conn, bearer};
use crate::keys_mode::member_key;
use crate::load::{self, PhaseResult};
use crate::phases::{self, placement};
use crate::suite::share;
use crate::usage;

/// Rounds of each side, alternating (the side that goes first alternates too).
pub const ROUNDS: u64 = 4;
/// How long the subscribers may take to receive every event after the provisioning ends.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(120);
/// How far the clock moves to complete every provisioning after a round (as the run does).
const ADVANCE_SECONDS: i64 = 10;
/// How long the waiters may take to be answered once the clock has moved.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(30);

/// The sizes of the phase.
#[derive(Debug, Clone, Copy)]
pub struct WatchSizes {
    /// Event streams open during each round with watchers.
    pub subscribers: usize,
    /// Waits open during each round with watchers.
    pub waiters: usize,
    /// Provisionings of each side (with and without watchers), over all rounds.
    pub provisions: u64,
}

/// What the waiters did over the rounds.
#[derive(Debug, Default)]
pub struct Waits {
    /// Waits that timed out after the longest wait and were asked again.
    pub renewed: u64,
    /// Waiters over all rounds.
    pub waiters: usize,
    /// Waiters answered 200 once the clock moved.
    pub released: usize,
    /// The longest a round's advance of the clock took.
    pub longest_advance: Duration,
    /// The longest from an advance starting to the last waiter of its round answered.
    pub last_released_after: Option<Duration>,
}

/// What the phase measured for one spread of watchers.
pub struct WatchRun {
    /// Projects the watchers and the provisionings are dealt over.
    pub projects: usize,
    /// Its sizes.
    pub sizes: WatchSizes,
    /// Provisioning without watchers and with them open, and the failures besides the
    /// provisioning's: streams and waits that failed, deliveries missing.
    pub sides: Sides,
    /// The events of the provisionings with watchers, as the subscribers received them.
    pub deliveries: Deliveries,
    /// How many deliveries there were to be (each event, once per subscriber of its project).
    pub expected: u64,
    /// The longest time from a round's last provisioning to its last delivery.
    pub longest_drain: Duration,
    /// The longest time opening a round's watchers took (until fleetd counted them all).
    pub longest_open: Duration,
    /// fleetd's peak resident set (`VmHWM`) over its life, in KiB.
    pub peak_rss_kib: u64,
    /// The largest resident set (`VmRSS`) sampled while watchers were open, in KiB.
    pub watched_rss_kib: u64,
    /// fleetd's `VmRSS` in the first round with watchers, just before they opened and once
    /// they all were, before any provisioning: what holding them costs, in KiB.
    pub opening_rss_kib: (u64, u64),
    /// The waiters.
    pub waits: Waits,
}

/// Runs the phase twice on `store` (its name, for the logs' names), each on a fleetd of its
/// own: with the watchers dealt over `projects` projects, then all in one project. fleetd's
/// logs go to `log_dir`.
pub async fn both_spreads(
    binary: &Path,
    (store, database_url): (&str, &str),
    sizes: WatchSizes,
    projects: usize,
    concurrency: usize,
    log_dir: &Path,
) -> Result<Vec<WatchRun>> {
    let mut runs = Vec::new();
    for projects in [projects, 1] {
        let log = log_dir.join(format!(
            "fleetd-{}-watch-{projects}.log",
            store.to_lowercase()
        ));
        runs.push(run(binary, database_url, sizes, projects, concurrency, log).await?);
    }
    Ok(runs)
}

/// Runs the phase with the watchers dealt over `projects` projects: a fresh fleetd at
/// `binary` in keys mode on `database_url`, writing to `log`.
pub async fn run(
    binary: &Path,
    database_url: &str,
    sizes: WatchSizes,
    projects: usize,
    concurrency: usize,
    log: PathBuf,
) -> Result<WatchRun> {
    eprintln!(
        "fleet-bench: watching: {} streams and {} waits over {projects} project(s)",
        sizes.subscribers, sizes.waiters
    );
    let (fleetd, admin_key) = Fleetd::start_keyed(binary, database_url, log).await?;
    let mut keys = Vec::with_capacity(projects);
    for project in 0..projects {
        let name = format!("watch-{projects}-{project}");
        let text = member_key(&fleetd, &admin_key, &name).await?;
        keys.push(ProjectKey {
            bearer: bearer(&text)?,
            text,
        });
    }
    let phase = Phase {
        fleetd: &fleetd,
        admin_key: &admin_key,
        keys: &keys,
        catalog: Catalog::default(),
        ledger: Arc::new(Ledger::new(sizes.provisions as usize)),
        concurrency,
        ticks: fleetd::clock_ticks_per_second(),
    };
    let mut rounds = Rounds::default();
    let mut watched = Watched::default();
    for round in 0..ROUNDS {
        let (base, count) = share(sizes.provisions, round, ROUNDS);
        let numbers = base..base + count;
        for watching in [round % 2 == 1, round % 2 == 0] {
            let side = if watching {
                phase
                    .with_watchers(numbers.clone(), sizes, &mut watched)
                    .await?
            } else {
                phase.without_watchers(numbers.clone()).await?
            };
            rounds.add(watching, side);
        }
    }
    let mut deliveries = watched.deliveries;
    deliveries.settle(&phase.ledger);
    drop(phase);
    let peak_rss_kib = fleetd.peak_rss_kib()?;
    fleetd.stop()?;
    Ok(WatchRun {
        projects,
        sizes,
        sides: rounds.finish(watched.failures)?,
        deliveries,
        expected: watched.expected,
        longest_drain: watched.longest_drain,
        longest_open: watched.longest_open,
        peak_rss_kib,
        watched_rss_kib: watched.rss_kib,
        opening_rss_kib: watched.opening_rss_kib.unwrap_or_default(),
        waits: watched.waits,
    })
}

/// What the rounds with watchers gathered.
#[derive(Default)]
struct Watched {
    deliveries: Deliveries,
    expected: u64,
    longest_drain: Duration,
    longest_open: Duration,
    rss_kib: u64,
    opening_rss_kib: Option<(u64, u64)>,
    waits: Waits,
    failures: Vec<String>,
}

/// The phase's fleetd and what its rounds share.
struct Phase<'a> {
    fleetd: &'a Fleetd,
    admin_key: &'a str,
    keys: &'a [ProjectKey],
    catalog: Catalog,
    ledger: Arc<Ledger>,
    concurrency: usize,
    ticks: Option<u64>,
}

impl Phase<'_> {
    /// Provisions a server for each waiter, dealt over the projects; (project, server).
    async fn waiter_targets(&self, waiters: usize) -> Result<Vec<(usize, Uuid)>> {
        let made = RefCell::new(Vec::new());
        let mut conns = self.connections().await?;
        let result = load::run(
            "waiters' servers",
            &mut conns,
            waiters as u64,
            async |c, n| {
                let project = n as usize % self.keys.len();
                let id = self.provision(c, n, project, false).await?;
                made.borrow_mut().push((project, id));
                Ok(())
            },
        )
        .await;
        if let Some(error) = result.first_error {
            anyhow::bail!("provisioning the waiters' servers: {error}");
        }
        Ok(made.into_inner())
    }

    /// Provisionings `numbers` with nobody watching.
    async fn without_watchers(&self, numbers: std::ops::Range<u64>) -> Result<Side> {
        eprintln!("fleet-bench: [watch] POST /servers without watchers");
        let usage = Usage::now(self.fleetd, self.ticks);
        let name = "POST /servers without watchers";
        let result = self.provision_all(name, numbers, false).await?;
        Ok(usage.side(self.fleetd, self.ticks, result))
    }

    /// Provisionings `numbers` with the watchers open, until every event has reached every
    /// subscriber of its project; the clock then moves, which must answer every wait.
    /// answer every waiter.
    async fn with_watchers(
        &self,
        numbers: std::ops::Range<u64>,
        sizes: WatchSizes,
        watched: &mut Watched,
    ) -> Result<Side> {
        eprintln!("fleet-bench: [watch] POST /servers with watchers");
        let addr = self.fleetd.addr();
        let (stop_sampling, sampling) = watch::channel(false);
        let sampler = tokio::spawn(sample_rss(self.fleetd.pid(), sampling));
        let targets = self.waiter_targets(sizes.waiters).await?;
        let rss = || usage::status_kib(self.fleetd.pid(), "VmRSS");
        let before = rss()?;
        let (mut watchers, opened_in) =
            Watchers::open(addr, self.keys, sizes.subscribers, &targets, &self.ledger).await?;
        watched.longest_open = watched.longest_open.max(opened_in);
        watched.opening_rss_kib.get_or_insert((before, rss()?));
        let already = self.ledger.delivered();
        let usage = Usage::now(self.fleetd, self.ticks);
        let first = numbers.start;
        let name = "POST /servers with watchers";
        let result = self.provision_all(name, numbers, true).await?;
        let ended = Instant::now();
        let expected = self.expected(first, &result, sizes.subscribers);
        watched.expected += expected;
        let drained = self.drain(already + expected).await;
        let side = usage.side(self.fleetd, self.ticks, result);
        match drained {
            Ok(()) => watched.longest_drain = watched.longest_drain.max(ended.elapsed()),
            Err(missing) => watched.failures.push(missing),
        }
        let (deliveries, failed) = watchers.close_streams().await?;
        watched.deliveries.merge(deliveries);
        watched.failures.extend(failed);
        let started = Instant::now();
        let mut admin = Conn::connect(addr).await?.with_key(self.admin_key)?;
        phases::advance_clock(&mut admin, ADVANCE_SECONDS).await?;
        let advance = started.elapsed();
        let waited = watchers.close_waits(RELEASE_TIMEOUT).await?;
        release(&waited, started, advance, &mut watched.waits);
        for outcome in waited {
            watched.waits.renewed += outcome.renewed;
            if let Some(error) = outcome.error {
                watched.failures.push(error);
            }
        }
        watchers::await_closed(addr).await?;
        stop_sampling.send_replace(true);
        watched.rss_kib = watched
            .rss_kib
            .max(sampler.await.context("the RSS sampler")?);
        Ok(side)
    }

    /// Deliveries the provisionings from number `first` (answered `result`) are to make:
    /// each event once to every subscriber of its project.
    fn expected(&self, first: u64, result: &PhaseResult, subscribers: usize) -> u64 {
        let projects = self.keys.len();
        (first..first + result.requests)
            .filter(|n| matches!(self.ledger.instants(*n as usize), Some((_, Some(_)))))
            .map(|n| subscribers_of(n as usize % projects, projects, subscribers))
            .sum()
    }

    /// Waits until `total` deliveries have been counted; the shortfall if they never are.
    async fn drain(&self, total: u64) -> Result<(), String> {
        let deadline = Instant::now() + DRAIN_TIMEOUT;
        while self.ledger.delivered() < total {
            if Instant::now() > deadline {
                return Err(format!(
                    "{} deliveries missing {DRAIN_TIMEOUT:?} after the provisioning ended",
                    total - self.ledger.delivered()
                ));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(())
    }

    /// Provisionings `numbers` over the run's concurrency, project `n % projects` each,
    /// `tracked` in the ledger or not.
    async fn provision_all(
        &self,
        name: &str,
        numbers: std::ops::Range<u64>,
        tracked: bool,
    ) -> Result<PhaseResult> {
        let mut conns = self.connections().await?;
        let first = numbers.start;
        let total = numbers.end - numbers.start;
        Ok(load::run(name, &mut conns, total, async |c, n| {
            let n = first + n;
            let project = n as usize % self.keys.len();
            self.provision(c, n, project, tracked).await.map(drop)
        })
        .await)
    }

    /// `POST /servers` number `n` in `project`, timed in the ledger if `tracked`; the new
    /// server's id. Every provisioning sends a request id, so both sides do the same work.
    async fn provision(
        &self,
        conn: &mut Conn,
        n: u64,
        project: usize,
        tracked: bool,
    ) -> Result<Uuid, String> {
        let (region, server_type) = placement(&self.catalog, n);
        let body = serde_json::json!({ "region": region.name, "type": server_type.name });
        let n = n as usize;
        let id = if tracked {
            request_id(n)
        } else {
            format!("untracked-{n}")
        };
        let headers = [
            (AUTHORIZATION, self.keys[project].bearer.clone()),
            (
                HeaderName::from_static("x-request-id"),
                HeaderValue::try_from(id).map_err(|e| e.to_string())?,
            ),
        ];
        if tracked {
            self.ledger.sent(n);
        }
        let response = conn
            .send(Method::POST, "/servers", Some(body.to_string()), &headers)
            .await?;
        if tracked && response.status == StatusCode::CREATED {
            self.ledger.answered(n);
        }
        let response = response.expect(StatusCode::CREATED, "POST /servers")?;
        let created: Created = serde_json::from_slice(&response.body)
            .map_err(|e| format!("POST /servers answered a body without an id: {e}"))?;
        Ok(created.id)
    }

    async fn connections(&self) -> Result<Vec<Conn>> {
        let mut conns = Vec::with_capacity(self.concurrency);
        for _ in 0..self.concurrency {
            conns.push(Conn::connect(self.fleetd.addr()).await?);
        }
        Ok(conns)
    }
}

#[derive(serde::Deserialize)]
struct Created {
    id: Uuid,
}

/// How many of `subscribers`, dealt over `projects` in turn, belong to `project`.
fn subscribers_of(project: usize, projects: usize, subscribers: usize) -> u64 {
    (subscribers / projects + usize::from(project < subscribers % projects)) as u64
}

/// `advance`.
fn release(waited: &[Waited], started: Instant, advance: Duration, waits: &mut Waits) {
    waits.waiters += waited.len();
    waits.released += waited.iter().filter(|w| w.reached.is_some()).count();
    waits.longest_advance = waits.longest_advance.max(advance);
    let last = waited
        .iter()
        .filter_map(|w| w.reached)
        .max()
        .map(|last| last.saturating_duration_since(started));
    waits.last_released_after = waits.last_released_after.max(last);
}

#[cfg(test)]
mod tests {
    use super::subscribers_of;

    #[test]
    fn subscribers_dealt_in_turn_are_counted_per_project() {
        assert_eq!(subscribers_of(0, 100, 1_000), 10);
        assert_eq!(subscribers_of(0, 1, 1_000), 1_000);
        let dealt: Vec<u64> = (0..3).map(|p| subscribers_of(p, 3, 10)).collect();
        assert_eq!(dealt, [4, 3, 3]);
    }
}
