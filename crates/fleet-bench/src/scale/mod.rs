//! Scale: many servers seeded into a fresh database, list latency at that size through
//! fleetd, then one pass of each worker through the domain `Engine` over a `PgStore`, with
//! the statements each pass sent.

mod seed;
mod statements;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::Utc;
use fleet_domain::error::StoreError;
use fleet_domain::service::{Engine, ManualClock};
use fleet_domain::{Catalog, LifecycleConfig};
use fleet_postgres::{PgPoolConfig, PgStore};

pub use statements::Statements;

use crate::fleetd::{Auth, Fleetd};
use crate::load::{self, PhaseResult};
use crate::phases::{self, HttpWorker, LIST_FILTERS};

/// Servers claimed per batch: fleetd's default `batch_size`.
pub const BATCH_SIZE: u32 = 100;

/// One worker pass over the seeded servers.
pub struct PassFigures {
    /// Which pass.
    pub name: &'static str,
    /// Servers it changed.
    pub changed: u32,
    /// How long it took.
    pub elapsed: Duration,
    /// What it sent to the database.
    pub statements: Statements,
}

/// What the scale test measured.
pub struct ScaleReport {
    /// Servers seeded.
    pub servers: u64,
    /// How long seeding took.
    pub seeded_in: Duration,
    /// List latency per filter, one request at a time.
    pub lists: Vec<PhaseResult>,
    /// All filters at once over every connection.
    pub lists_loaded: PhaseResult,
    /// Connections of `lists_loaded`.
    pub concurrency: usize,
    /// The passes, in the order they ran.
    pub passes: Vec<PassFigures>,
}

/// How much of it to do.
pub struct ScaleSize {
    /// Servers to seed.
    pub servers: u64,
    /// List requests per filter.
    pub list_requests: u64,
    /// Connections for the loaded list run.
    pub concurrency: usize,
}

/// Runs the scale test in the empty database at `url`, with `fleetd` serving the lists.
pub async fn run(fleetd: &Path, url: &str, size: &ScaleSize, log: PathBuf) -> Result<ScaleReport> {
    statements::install()?;
    let catalog = Catalog::default();
    let store = PgStore::connect(url, PgPoolConfig::default())
        .await
        .context("opening the scale database")?;
    store.migrate().await?;
    fleet_domain::ports::Store::sync_pools(&store, catalog.regions()).await?;
    let now = Utc::now();
    eprintln!("fleet-bench: seeding {} servers", size.servers);
    let seeded_in = seed::seed(url, &catalog, size.servers, now).await?;

    eprintln!("fleet-bench: list latency over {} servers", size.servers);
    let (lists, lists_loaded) = list_latency(fleetd, url, size, log).await?;

    let clock = Arc::new(ManualClock::new(now));
    let engine = Engine::new(
        Arc::new(store),
        clock,
        LifecycleConfig::default(),
        BATCH_SIZE,
    );
    eprintln!("fleet-bench: worker passes");
    let passes = vec![
        pass("billing accrual", engine.accrue_billing()).await?,
        pass("idle reaper", engine.reap_idle()).await?,
        pass("transitions", engine.complete_transitions()).await?,
    ];
    Ok(ScaleReport {
        servers: size.servers,
        seeded_in,
        lists,
        lists_loaded,
        concurrency: size.concurrency,
        passes,
    })
}

async fn pass(
    name: &'static str,
    work: impl Future<Output = Result<u32, StoreError>>,
) -> Result<PassFigures> {
    let before = Statements::now();
    let started = Instant::now();
    let changed = work.await.with_context(|| format!("the {name} pass"))?;
    Ok(PassFigures {
        name,
        changed,
        elapsed: started.elapsed(),
        statements: Statements::since(before),
    })
}

async fn list_latency(
    binary: &Path,
    url: &str,
    size: &ScaleSize,
    log: PathBuf,
) -> Result<(Vec<PhaseResult>, PhaseResult)> {
    let fleetd = Fleetd::start(binary, url, Auth::Open, log).await?;
    let mut workers = HttpWorker::open(fleetd.addr(), size.concurrency.max(1), None).await?;
    let mut lists = Vec::with_capacity(LIST_FILTERS.len());
    for filter in LIST_FILTERS {
        let name = if filter.is_empty() {
            "GET /servers".to_owned()
        } else {
            format!("GET /servers?{filter}")
        };
        let filters = [*filter];
        let single = &mut workers[..1];
        single[0].reset_listing();
        lists.push(
            load::run(&name, single, size.list_requests, async |w, _| {
                phases::list(w, &filters).await
            })
            .await,
        );
    }
    let loaded = load::run(
        "all filters",
        &mut workers,
        size.list_requests * LIST_FILTERS.len() as u64,
        async |w, _| phases::list(w, LIST_FILTERS).await,
    )
    .await;
    drop(workers);
    fleetd.stop()?;
    Ok((lists, loaded))
}
