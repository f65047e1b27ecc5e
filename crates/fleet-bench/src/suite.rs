//! One fleet run: fleetd started on a store, driven through every phase at one concurrency,
//! with the HTTP limit of the same server and (on Postgres) the database limits measured
//! on the same database beside it, and a fleetd in keys mode beside it on the same store.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use fleet_domain::Catalog;
use uuid::Uuid;

use crate::baseline::{self, Act, DbWorker};
use crate::database;
use crate::fleetd::{self, Auth, Fleetd};
use crate::http::Conn;
use crate::keys_mode::{self, KeysMode};
use crate::load::{self, PhaseResult};
use crate::phases::{self, HttpWorker, LIST_FILTERS};
use crate::watch::{self, WatchRun, WatchSizes};
use crate::webhooks::{self, WebhookRun};

/// A phase compared with another (a database limit, or the same reads in open mode) runs in
/// this many rounds, alternating with the other's rounds, so a burst of other load on the
/// machine falls on both alike; the spread of the rounds' ratios is reported beside the
/// phase's.
pub const ROUNDS: u64 = 8;

/// The request numbers of `round` of `rounds`: its share of `0..total`, as the first number
/// and a count.
pub fn share(total: u64, round: u64, rounds: u64) -> (u64, u64) {
    let base = total * round / rounds;
    (base, total * (round + 1) / rounds - base)
}

/// The action phase's name: each server is stopped, then started once every stop has
/// completed.
const ACTION_PHASE: &str = "POST /servers/{id}/action (stop, then start)";
/// Its database limit's name.
const DIRECT_ACTION: &str = "direct action transaction";

/// Requests per phase.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Servers provisioned (by fleet, and again directly for the database limit).
    pub provision: u64,
    /// Reads by id (by fleet, and again directly).
    pub get: u64,
    /// List pages.
    pub list: u64,
    /// Servers stopped and then started again.
    pub actions: u64,
    /// Requests of the mixed workload.
    pub mixed: u64,
    /// Requests to the trivial route.
    pub healthz: u64,
    /// Servers the `member` key provisions in keys mode, for its reads.
    pub keyed_servers: u64,
    /// The watch phase's streams, waits and provisionings.
    pub watch: WatchSizes,
    /// The projects the watchers are dealt over in the watch phase's first spread (the
    /// second puts them all in one project).
    pub watch_projects: usize,
    /// The webhook phase's provisionings of each side (with 10 webhooks, and with none).
    pub webhook_provisions: u64,
}

/// Which database limit a fleet phase is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbLimit {
    /// The direct provisioning statement.
    Provision,
    /// The direct primary-key select.
    Get,
    /// The direct action transaction.
    Action,
}

/// A phase against fleetd, with the CPU time fleetd spent on it.
pub struct Measured {
    /// The load figures.
    pub result: PhaseResult,
    /// fleetd's CPU time (user + system) during the phase.
    pub fleetd_cpu: Option<Duration>,
    /// The database limit it is compared with, if any.
    pub db_limit: Option<DbLimit>,
    /// fleet's rate ÷ the other's, for each round of a phase compared with another.
    pub round_ratios: Vec<f64>,
}

impl Measured {
    /// Two parts of one phase, run one after the other, as one.
    pub fn then(self, next: Measured) -> Measured {
        Measured {
            result: PhaseResult::merge(&self.result.name.clone(), self.result, next.result),
            fleetd_cpu: self.fleetd_cpu.zip(next.fleetd_cpu).map(|(a, b)| a + b),
            db_limit: self.db_limit,
            round_ratios: [self.round_ratios, next.round_ratios].concat(),
        }
    }
}

/// What one fleet run measured.
pub struct FleetRun {
    /// The store fleetd ran on.
    pub store: &'static str,
    /// `GET /healthz`: the HTTP limit.
    pub http_limit: Measured,
    /// The fleet phases, in order.
    pub phases: Vec<Measured>,
    /// GET by id with a `member` key in keys mode, and the same reads in open mode.
    pub keys_mode: KeysMode,
    /// The direct provisioning statement (Postgres only).
    pub db_provision: Option<PhaseResult>,
    /// The direct select by id (Postgres only).
    pub db_get: Option<PhaseResult>,
    /// The direct action transactions, stops then starts (Postgres only).
    pub db_action: Option<PhaseResult>,
    /// Each move of the virtual clock between phases: what it completed and how long it took.
    pub clock_moves: Vec<(String, Duration)>,
    /// fleetd's peak resident set size over the whole run, in KiB.
    pub peak_rss_kib: u64,
    /// The watch phase, for each spread of the watchers over projects.
    pub watch: Vec<WatchRun>,
    /// The webhook phase.
    pub webhooks: WebhookRun,
}

impl FleetRun {
    /// Every phase run against a fleetd: the HTTP limit, the phases and the keys-mode pair.
    pub fn measured(&self) -> impl Iterator<Item = &Measured> {
        self.phases.iter().chain([
            &self.keys_mode.keyed,
            &self.keys_mode.open,
            &self.http_limit,
        ])
    }
}

/// Where a run goes.
pub struct Target<'a> {
    /// The label of the store.
    pub store: &'static str,
    /// fleetd's `--database-url`.
    pub database_url: &'a str,
    /// The same Postgres database, for the direct baselines; `None` on SQLite.
    pub direct_url: Option<&'a str>,
}

/// fleetd under load, with the direct connections beside it.
pub struct Bench {
    fleetd: Fleetd,
    concurrency: usize,
    ticks: Option<u64>,
    direct: Option<Vec<DbWorker>>,
    store: &'static str,
}

impl Bench {
    /// Runs `total` requests of `op` on fresh connections to the run's fleetd (it closes
    /// keep-alive connections left idle while the bench did other work), with its CPU time.
    pub async fn phase(
        &self,
        name: &str,
        total: u64,
        db_limit: Option<DbLimit>,
        op: impl AsyncFn(&mut HttpWorker, u64) -> Result<(), String>,
    ) -> Result<Measured> {
        self.phase_on(&self.fleetd, None, name, total, db_limit, op)
            .await
    }

    /// [`Bench::phase`] on `fleetd`, every request sending `key` if there is one.
    pub async fn phase_on(
        &self,
        fleetd: &Fleetd,
        key: Option<&str>,
        name: &str,
        total: u64,
        db_limit: Option<DbLimit>,
        op: impl AsyncFn(&mut HttpWorker, u64) -> Result<(), String>,
    ) -> Result<Measured> {
        eprintln!("fleet-bench: [{}] {name}", self.store);
        let mut workers = HttpWorker::open(fleetd.addr(), self.concurrency, key).await?;
        let cpu = || self.ticks.and_then(|t| fleetd.cpu_time(t));
        let before = cpu();
        let result = load::run(name, &mut workers, total, op).await;
        Ok(Measured {
            fleetd_cpu: cpu().zip(before).map(|(a, b)| a.saturating_sub(b)),
            result,
            db_limit,
            round_ratios: Vec::new(),
        })
    }

    /// A fleet phase and its database limit, alternating in rounds; request numbers run
    /// `0..total` over the rounds of each.
    async fn paired(
        &mut self,
        (name, db_limit, total): (&str, DbLimit, u64),
        fleet: impl AsyncFn(&mut HttpWorker, u64) -> Result<(), String>,
        direct_name: &str,
        direct: impl AsyncFn(&mut DbWorker, u64) -> Result<(), String>,
    ) -> Result<(Measured, Option<PhaseResult>)> {
        let mut fleet_done: Option<Measured> = None;
        let mut direct_done: Option<PhaseResult> = None;
        for round in 0..ROUNDS {
            let (base, count) = share(total, round, ROUNDS);
            let mut measured = self
                .phase(name, count, Some(db_limit), async |w, n| {
                    fleet(w, base + n).await
                })
                .await?;
            if let Some(db) = self.direct.as_mut() {
                eprintln!("fleet-bench: [{}] {direct_name}", self.store);
                let result = load::run(direct_name, db, count, async |w, n| {
                    direct(w, base + n).await
                })
                .await;
                measured
                    .round_ratios
                    .push(measured.result.rps() / result.rps());
                direct_done = Some(match direct_done {
                    Some(done) => PhaseResult::merge(direct_name, done, result),
                    None => result,
                });
            }
            fleet_done = Some(match fleet_done {
                Some(done) => done.then(measured),
                None => measured,
            });
        }
        let fleet_done = fleet_done.ok_or_else(|| anyhow::anyhow!("no rounds ran"))?;
        Ok((fleet_done, direct_done))
    }

    /// The connections each phase holds.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// Moves fleetd's virtual clock, timing the work it does on the way.
    async fn advance(&self, seconds: i64, what: &str) -> Result<(String, Duration)> {
        let mut conn = Conn::connect(self.addr()).await?;
        let started = Instant::now();
        phases::advance_clock(&mut conn, seconds).await?;
        Ok((format!("advance {seconds} s ({what})"), started.elapsed()))
    }

    fn addr(&self) -> SocketAddr {
        self.fleetd.addr()
    }
}

/// The action phase: `count` of fleet's servers (of `ids`) stopped, then started once the
/// clock has completed the stops, each half paired with the direct transaction on as many
/// of the direct servers (of `direct_ids`), which the first move of the clock left running.
/// Both sides date their changes by fleetd's clock, so its moves (added to `clock_moves`)
/// complete both. The phase, and the direct side's results.
async fn actions(
    bench: &mut Bench,
    (ids, direct_ids): (&[Uuid], &[Uuid]),
    count: usize,
    clock_moves: &mut Vec<(String, Duration)>,
) -> Result<(Measured, Option<PhaseResult>)> {
    let count = match bench.direct {
        Some(_) => count.min(direct_ids.len()),
        None => count,
    };
    let (mut fleet, mut direct) = (None::<Measured>, None::<PhaseResult>);
    for (act, verb, completes) in [
        (Act::Stop, "stop", "completes every stop"),
        (Act::Start, "start", "completes every start"),
    ] {
        let now = phases::clock_now(&mut Conn::connect(bench.addr()).await?).await?;
        let (measured, db) = bench
            .paired(
                (ACTION_PHASE, DbLimit::Action, count as u64),
                async |w, n| phases::act(w, ids[n as usize], verb).await,
                DIRECT_ACTION,
                async |w, n| baseline::act_op(w, direct_ids, n, act, now).await,
            )
            .await?;
        fleet = Some(match fleet {
            Some(done) => done.then(measured),
            None => measured,
        });
        direct = match (direct, db) {
            (Some(done), Some(next)) => Some(PhaseResult::merge(DIRECT_ACTION, done, next)),
            (done, next) => done.or(next),
        };
        clock_moves.push(bench.advance(5, completes).await?);
    }
    let fleet = fleet.ok_or_else(|| anyhow::anyhow!("no actions ran"))?;
    Ok((fleet, direct))
}

/// Runs fleetd at `binary` on `target` through every phase with `concurrency` connections;
/// `logs` are where the open-mode fleetd and the keys-mode one write.
pub async fn run(
    binary: &Path,
    target: &Target<'_>,
    sizes: Sizes,
    concurrency: usize,
    (log, keyed_log): (PathBuf, PathBuf),
) -> Result<FleetRun> {
    let catalog = Catalog::default();
    let log_dir = log
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let fleetd = Fleetd::start(binary, target.database_url, Auth::Open, log).await?;
    let direct = match target.direct_url {
        Some(url) => Some(DbWorker::open(url, concurrency).await?),
        None => None,
    };
    let mut bench = Bench {
        fleetd,
        concurrency,
        ticks: fleetd::clock_ticks_per_second(),
        direct,
        store: target.store,
    };
    let http_limit = bench
        .phase("GET /healthz", sizes.healthz, None, async |w, _| {
            phases::healthz(w).await
        })
        .await?;

    // The direct servers are dated by fleetd's virtual clock like fleet's own, so they
    // complete together when the clock moves.
    let now = phases::clock_now(&mut Conn::connect(bench.addr()).await?).await?;
    let made = RefCell::new(Vec::new());
    let direct_made = RefCell::new(Vec::new());
    let (provisioned, db_provision) = bench
        .paired(
            ("POST /servers", DbLimit::Provision, sizes.provision),
            async |w, n| phases::provision(w, &catalog, &made, n).await,
            "direct provisioning statement",
            async |w, n| baseline::provision_op(w, &catalog, now, &direct_made, n).await,
        )
        .await?;
    let ids = made.into_inner();
    if ids.is_empty() {
        bail!(
            "no server was provisioned: {}",
            provisioned.result.first_error.unwrap_or_default()
        );
    }
    let mut clock_moves = vec![bench.advance(10, "completes every provisioning").await?];
    if let Some(url) = target.direct_url {
        // What autovacuum does within a minute of a bulk change, done now so the read
        // phases do not measure plans made without statistics (which is luck of timing).
        database::connect(url)
            .await?
            .batch_execute("ANALYZE servers; ANALYZE events")
            .await?;
    }

    let (got, db_get) = bench
        .paired(
            ("GET /servers/{id}", DbLimit::Get, sizes.get),
            async |w, n| phases::get(w, &ids, n).await,
            "direct select by id",
            async |w, n| {
                let id = phases::pick(&ids, n)?;
                w.select(id).await.map_err(|e| format!("{e:#}"))
            },
        )
        .await?;

    let instances = RefCell::new(Vec::new());
    let ran = bench
        .phase(
            "EC2 RunInstances (1 t2.micro)",
            sizes.actions,
            None,
            async |w, _| phases::run_instance(w, &instances).await,
        )
        .await?;
    let instances = instances.into_inner();
    let described = bench
        .phase(
            "EC2 DescribeInstances (by id)",
            sizes.get,
            None,
            async |w, n| phases::describe_instance(w, &instances, n).await,
        )
        .await?;

    let listed = bench
        .phase(
            "GET /servers (filtered, paginated)",
            sizes.list,
            None,
            async |w, _| phases::list(w, LIST_FILTERS).await,
        )
        .await?;

    let direct_ids = direct_made.into_inner();
    let count = (sizes.actions as usize).min(ids.len());
    let (acted, db_action) =
        actions(&mut bench, (&ids, &direct_ids), count, &mut clock_moves).await?;
    bench.direct = None;

    let mixed_made = RefCell::new(Vec::new());
    let mixed = bench
        .phase(
            "mixed: 80% get, 15% list, 5% provision",
            sizes.mixed,
            None,
            async |w, n| phases::mixed(w, &catalog, &ids, &mixed_made, n).await,
        )
        .await?;

    // Last, so the servers the member adds change no earlier phase.
    let keys_mode = keys_mode::run(&bench, binary, target.database_url, &sizes, keyed_log).await?;

    let peak_rss_kib = bench.fleetd.peak_rss_kib()?;
    bench.fleetd.stop()?;

    // Last, each on a fleetd of its own with nothing else running beside it, so its memory
    // and CPU are the watchers' (then the webhooks') and the provisioning's alone.
    let watched = watch::both_spreads(
        binary,
        (target.store, target.database_url),
        sizes.watch,
        sizes.watch_projects,
        concurrency,
        &log_dir,
    )
    .await?;
    let webhook_log = log_dir.join(format!(
        "fleetd-{}-webhooks.log",
        target.store.to_lowercase()
    ));
    let webhooks = webhooks::run(
        binary,
        target.database_url,
        sizes.webhook_provisions,
        concurrency,
        webhook_log,
    )
    .await?;
    Ok(FleetRun {
        store: target.store,
        http_limit,
        phases: vec![provisioned, got, ran, described, listed, acted, mixed],
        keys_mode,
        db_provision,
        db_get,
        db_action,
        clock_moves,
        peak_rss_kib,
        watch: watched,
        webhooks,
    })
}
