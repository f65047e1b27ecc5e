//! One fleet run: fleetd started on a store, driven through every phase at one concurrency,
//! with the HTTP limit of the same server and (on Postgres) the database limits measured
//! on the same database beside it.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use fleet_domain::Catalog;
use uuid::Uuid;

use crate::baseline::{self, DbWorker};
use crate::fleetd::{self, Fleetd};
use crate::load::{self, PhaseResult};
use crate::phases::{self, HttpWorker, LIST_FILTERS};

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
}

/// Which database limit a fleet phase is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbLimit {
    /// The direct provisioning transaction.
    Provision,
    /// The direct primary-key select.
    Get,
}

/// A phase against fleetd, with the CPU time fleetd spent on it.
pub struct Measured {
    /// The load figures.
    pub result: PhaseResult,
    /// fleetd's CPU time (user + system) during the phase.
    pub fleetd_cpu: Option<Duration>,
    /// The database limit it is compared with, if any.
    pub db_limit: Option<DbLimit>,
}

/// What one fleet run measured.
pub struct FleetRun {
    /// The store fleetd ran on.
    pub store: &'static str,
    /// `GET /healthz`: the HTTP limit.
    pub http_limit: Measured,
    /// The fleet phases, in order.
    pub phases: Vec<Measured>,
    /// The direct provisioning transaction (Postgres only).
    pub db_provision: Option<PhaseResult>,
    /// The direct select by id (Postgres only).
    pub db_get: Option<PhaseResult>,
    /// Each move of the virtual clock between phases: what it completed and how long it took.
    pub clock_moves: Vec<(String, Duration)>,
    /// fleetd's peak resident set size over the whole run, in KiB.
    pub peak_rss_kib: u64,
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

/// Runs fleetd at `binary` on `target` through every phase with `concurrency` connections.
pub async fn run(
    binary: &Path,
    target: &Target<'_>,
    sizes: Sizes,
    concurrency: usize,
    log: PathBuf,
) -> Result<FleetRun> {
    let catalog = Catalog::default();
    let fleetd = Fleetd::start(binary, target.database_url, log).await?;
    let ticks = fleetd::clock_ticks_per_second();
    let cpu = || ticks.and_then(|t| fleetd.cpu_time(t));
    let measure = |db_limit, phase: PhaseResult, before: Option<Duration>| Measured {
        fleetd_cpu: cpu()
            .zip(before)
            .map(|(after, before)| after.saturating_sub(before)),
        result: phase,
        db_limit,
    };
    let mut workers = HttpWorker::open(fleetd.addr(), concurrency).await?;
    let mut phases_done = Vec::new();
    let mut clock_moves = Vec::new();
    say(target.store, "GET /healthz");
    let before = cpu();
    let healthz = load::run("GET /healthz", &mut workers, sizes.healthz, async |w, _| {
        phases::healthz(w).await
    })
    .await;
    let http_limit = measure(None, healthz, before);

    say(target.store, "POST /servers");
    let made = RefCell::new(Vec::new());
    let before = cpu();
    let provisioned = load::run(
        "POST /servers",
        &mut workers,
        sizes.provision,
        async |w, n| phases::provision(w, &catalog, &made, n).await,
    )
    .await;
    phases_done.push(measure(Some(DbLimit::Provision), provisioned, before));
    let ids = made.into_inner();
    if ids.is_empty() {
        bail!("no server was provisioned: {}", first_error(&phases_done));
    }

    let mut direct = match target.direct_url {
        Some(url) => Some(DbWorker::open(url, concurrency).await?),
        None => None,
    };
    let mut db_provision = None;
    if let Some(db) = direct.as_mut() {
        say(target.store, "direct provisioning transaction");
        let made = RefCell::new(Vec::new());
        db_provision = Some(
            load::run(
                "direct provisioning transaction",
                db,
                sizes.provision,
                async |w, n| baseline::provision_op(w, &catalog, &made, n).await,
            )
            .await,
        );
    }
    clock_moves.push(advance(&mut workers, 10, "completes every provisioning").await?);

    say(target.store, "GET /servers/{id}");
    let before = cpu();
    let got = load::run(
        "GET /servers/{id}",
        &mut workers,
        sizes.get,
        async |w, n| phases::get(w, &ids, n).await,
    )
    .await;
    phases_done.push(measure(Some(DbLimit::Get), got, before));
    let mut db_get = None;
    if let Some(db) = direct.as_mut() {
        say(target.store, "direct select by id");
        db_get = Some(
            load::run("direct select by id", db, sizes.get, async |w, n| {
                let id = phases::pick(&ids, n)?;
                w.select(id).await.map_err(|e| format!("{e:#}"))
            })
            .await,
        );
    }
    drop(direct);

    say(target.store, "GET /servers (filtered, paginated)");
    let before = cpu();
    let listed = load::run(
        "GET /servers (filtered, paginated)",
        &mut workers,
        sizes.list,
        async |w, _| phases::list(w, LIST_FILTERS).await,
    )
    .await;
    phases_done.push(measure(None, listed, before));

    say(target.store, "POST /servers/{id}/action");
    let targets: Vec<Uuid> = ids.iter().take(sizes.actions as usize).copied().collect();
    let count = targets.len() as u64;
    let before = cpu();
    let stopped = load::run("stop", &mut workers, count, async |w, n| {
        phases::act(w, targets[n as usize], "stop").await
    })
    .await;
    let cpu_stop = cpu().zip(before).map(|(a, b)| a.saturating_sub(b));
    clock_moves.push(advance(&mut workers, 5, "completes every stop").await?);
    let before = cpu();
    let started = load::run("start", &mut workers, count, async |w, n| {
        phases::act(w, targets[n as usize], "start").await
    })
    .await;
    let mut actions = measure(None, started, before);
    actions.result = PhaseResult::merge(
        "POST /servers/{id}/action (stop, then start)",
        stopped,
        actions.result,
    );
    actions.fleetd_cpu = actions.fleetd_cpu.zip(cpu_stop).map(|(a, b)| a + b);
    phases_done.push(actions);
    clock_moves.push(advance(&mut workers, 5, "completes every start").await?);

    say(target.store, "mixed");
    let made = RefCell::new(Vec::new());
    let before = cpu();
    let mixed = load::run(
        "mixed: 80% get, 15% list, 5% provision",
        &mut workers,
        sizes.mixed,
        async |w, n| phases::mixed(w, &catalog, &ids, &made, n).await,
    )
    .await;
    phases_done.push(measure(None, mixed, before));

    let peak_rss_kib = fleetd.peak_rss_kib()?;
    drop(workers);
    fleetd.stop()?;
    Ok(FleetRun {
        store: target.store,
        http_limit,
        phases: phases_done,
        db_provision,
        db_get,
        clock_moves,
        peak_rss_kib,
    })
}

/// Moves fleetd's virtual clock, timing the work it does on the way.
async fn advance(
    workers: &mut [HttpWorker],
    seconds: i64,
    what: &str,
) -> Result<(String, Duration)> {
    let conn = workers
        .first_mut()
        .map(HttpWorker::conn)
        .ok_or_else(|| anyhow::anyhow!("no connection to fleetd"))?;
    let started = Instant::now();
    phases::advance_clock(conn, seconds).await?;
    Ok((format!("advance {seconds} s ({what})"), started.elapsed()))
}

fn first_error(done: &[Measured]) -> String {
    done.iter()
        .find_map(|m| m.result.first_error.clone())
        .unwrap_or_default()
}

fn say(store: &str, phase: &str) {
    eprintln!("fleet-bench: [{store}] {phase}");
}
