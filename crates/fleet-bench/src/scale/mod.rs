//! Scale: many servers seeded into a fresh database, grown through a few sizes (100,000 then
//! 1,000,000 in a full run), with list latency at each size through a fleetd started for it
//! (the plain filters and label selectors with a state filter) and that fleetd's peak RSS;
//! at the last size a month's cost report, then one pass of each worker through the domain
//! `Engine` over a `PgStore`, with the statements each pass sent; and, when asked, servers
//! in an SQLite file and the same lists through a fleetd on it. Every store and fleetd uses
//! the scale catalog (see `catalog`), whose pools hold a million servers.

mod catalog;
mod costs;
mod seed;
mod seed_sqlite;
mod statements;

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::Utc;
use fleet_domain::LifecycleConfig;
use fleet_domain::error::StoreError;
use fleet_domain::service::{Engine, ManualClock};
use fleet_postgres::{PgPoolConfig, PgStore};

pub use costs::SeededUsage;
pub use statements::Statements;

use crate::fleetd::Fleetd;
use crate::load::{self, PhaseResult};
use crate::phases::{self, HttpWorker, LIST_FILTERS};

/// Servers claimed per batch: fleetd's default `batch_size`.
pub const BATCH_SIZE: u32 = 100;

/// The label-selector queries of each operator measured at scale, each with a state filter
/// and percent-encoded as a client sends it: equality, inequality, set (`in`, `notin`) and
/// existence (`k`, `!k`). Of the seeded labels (see `seed`), `env` splits the servers in
/// three, `tier` in four, `canary` is on one in ten.
pub const SELECTOR_FILTERS: &[&str] = &[
    "state=running&label_selector=env%3Dprod",
    "state=running&label_selector=env!%3Dprod",
    "state=running&label_selector=tier%20in%20(web%2Cdb)",
    "state=stopped&label_selector=tier%20notin%20(web%2Cdb)",
    "state=running&label_selector=canary",
    "state=running&label_selector=!canary",
];

/// Conjunctions of labels common alone (`team` splits the servers in ten, `zone` is on
/// every other one in three values) with a state filter: one matching one server in sixty,
/// and one matching none (`team-3` servers are odd, zones are on even ones), which no index
/// of one label can narrow.
pub const CONJUNCTION_FILTERS: &[&str] = &[
    "state=running&label_selector=team%3Dteam-0%2Czone%3Dc",
    "state=stopping&label_selector=team%3Dteam-3%2Czone%3Db",
];

/// Which kind of query a list measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    /// The list phases' filters.
    Plain,
    /// One label operator with a state filter.
    Selector,
    /// A conjunction of labels with a state filter.
    Conjunction,
}

impl QueryKind {
    /// What the target says the lists of this kind are.
    pub fn described(self) -> &'static str {
        match self {
            QueryKind::Plain => "with any filter",
            QueryKind::Selector => "by label selector (each operator) with a state filter",
            QueryKind::Conjunction => "by a conjunction of labels with a state filter",
        }
    }
}

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

/// List latency over the seeded servers on one store at one size.
pub struct StoreLists {
    /// Which store.
    pub store: &'static str,
    /// Servers it held.
    pub servers: u64,
    /// How long seeding took: the servers added since the previous size, then `ANALYZE` on
    /// Postgres.
    pub seeded_in: Duration,
    /// The peak RSS (`VmHWM`) of the fleetd that served the lists, in KiB.
    pub peak_rss_kib: u64,
    /// List latency per filter, one request at a time.
    pub lists: Vec<(QueryKind, PhaseResult)>,
    /// All filters at once over every connection.
    pub loaded: PhaseResult,
    /// A month's cost report by region and type over the seeded usage, one request at a
    /// time.
    pub costs: Option<(SeededUsage, PhaseResult)>,
}

/// What the scale test measured.
pub struct ScaleReport {
    /// Servers seeded in the end on Postgres, which the worker passes went over.
    pub servers: u64,
    /// The lists on Postgres at each size, smallest first, then on SQLite when asked.
    pub stores: Vec<StoreLists>,
    /// Connections of each store's loaded run.
    pub concurrency: usize,
    /// The passes, in the order they ran.
    pub passes: Vec<PassFigures>,
}

/// How much of it to do.
pub struct ScaleSize {
    /// The sizes the Postgres database grows through, smallest first: the lists are measured
    /// at each, the cost report and the worker passes at the last.
    pub servers: Vec<u64>,
    /// Servers to seed into SQLite, with `--sqlite`.
    pub sqlite_servers: u64,
    /// List requests per filter.
    pub list_requests: u64,
    /// Connections for the loaded list run.
    pub concurrency: usize,
}

/// Runs the scale test in the empty database at `url`, with `fleetd` serving the lists and
/// its logs and the scale catalog in `scratch`; then, given `sqlite`, the lists on an SQLite
/// file there.
pub async fn run(
    fleetd: &Path,
    url: &str,
    size: &ScaleSize,
    scratch: &Path,
    sqlite: bool,
) -> Result<ScaleReport> {
    statements::install()?;
    let catalog = catalog::catalog()?;
    let catalog_file = scratch.join("scale-catalog.toml");
    catalog::write(&catalog, &catalog_file)?;
    let store = PgStore::connect(url, PgPoolConfig::default())
        .await
        .context("opening the scale database")?;
    store.migrate().await?;
    fleet_domain::ports::Store::sync_pools(&store, catalog.regions()).await?;
    let now = Utc::now();
    let mut stores = Vec::new();
    let mut seeded = 0;
    for (step, &servers) in size.servers.iter().enumerate() {
        eprintln!("fleet-bench: seeding servers {seeded}..{servers}");
        let seeded_in = seed::seed(url, &catalog, seeded..servers, now).await?;
        seeded = servers;
        let usage = if step + 1 == size.servers.len() {
            eprintln!("fleet-bench: seeding 30 days of their usage");
            Some(costs::seed(url, now).await?)
        } else {
            None
        };
        eprintln!("fleet-bench: list latency over {servers} servers");
        let serving = Fleetd::start_with_catalog(
            fleetd,
            url,
            scratch.join(format!("fleetd-scale-{servers}.log")),
            &catalog_file,
        )
        .await?;
        let at = (seeded_in, usage);
        stores.push(list_latency(serving, ("Postgres", servers), size, at).await?);
    }

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
    if sqlite {
        let servers = size.sqlite_servers;
        let file = scratch.join("scale.db");
        eprintln!("fleet-bench: seeding {servers} servers into SQLite");
        let seeded_in = seed_sqlite::seed(&file, &catalog, servers, now).await?;
        eprintln!("fleet-bench: list latency over {servers} servers on SQLite");
        let usage = costs::seed_sqlite(&file, now).await?;
        let serving = Fleetd::start_with_catalog(
            fleetd,
            &format!("sqlite://{}", file.display()),
            scratch.join("fleetd-scale-sqlite.log"),
            &catalog_file,
        )
        .await?;
        let at = (seeded_in, Some(usage));
        stores.push(list_latency(serving, ("SQLite", servers), size, at).await?);
    }
    Ok(ScaleReport {
        servers: seeded,
        stores,
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

/// Every query measured at scale: the list phases' filters, then the selectors.
fn scale_filters() -> Vec<(QueryKind, &'static str)> {
    let of = |kind: QueryKind, filters: &'static [&'static str]| {
        filters.iter().map(move |filter| (kind, *filter))
    };
    of(QueryKind::Plain, LIST_FILTERS)
        .chain(of(QueryKind::Selector, SELECTOR_FILTERS))
        .chain(of(QueryKind::Conjunction, CONJUNCTION_FILTERS))
        .collect()
}

/// A query as the report shows it: percent-encoded bytes decoded.
fn shown(filter: &str) -> String {
    let bytes = filter.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        let hex = bytes
            .get(at + 1..at + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (byte, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                at += 3;
            }
            _ => {
                out.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The lists' latency through `fleetd`, on `store` holding `servers` seeded in `seeded_in`,
/// then, given the usage seeded, the cost report's; and the peak RSS of that fleetd, which
/// is stopped.
async fn list_latency(
    fleetd: Fleetd,
    (store, servers): (&'static str, u64),
    size: &ScaleSize,
    (seeded_in, usage): (Duration, Option<SeededUsage>),
) -> Result<StoreLists> {
    let mut single = HttpWorker::open(fleetd.addr(), 1, None).await?;
    let queries = scale_filters();
    let mut lists = Vec::with_capacity(queries.len());
    for (kind, filter) in &queries {
        let name = if filter.is_empty() {
            "GET /servers".to_owned()
        } else {
            format!("GET /servers?{}", shown(filter))
        };
        let filters = [*filter];
        single[0].reset_listing();
        let measured = load::run(&name, &mut single, size.list_requests, async |w, _| {
            phases::list(w, &filters).await
        })
        .await;
        lists.push((*kind, measured));
    }
    let mut costs = None;
    if let Some(usage) = usage {
        let path = usage.path();
        let measured = load::run(
            "GET /costs, 30 days by day, region and type",
            &mut single,
            size.list_requests,
            async |w, _| phases::read(w, &path).await,
        )
        .await;
        costs = Some((usage, measured));
    }
    let filters: Vec<&str> = queries.iter().map(|(_, filter)| *filter).collect();
    // Opened now: connections left idle through the lists above would have outlived
    // fleetd's keep-alive.
    let mut workers = HttpWorker::open(fleetd.addr(), size.concurrency.max(1), None).await?;
    let loaded = load::run(
        "all filters",
        &mut workers,
        size.list_requests * filters.len() as u64,
        async |w, _| phases::list(w, &filters).await,
    )
    .await;
    drop((single, workers));
    let peak_rss_kib = fleetd.peak_rss_kib()?;
    fleetd.stop()?;
    Ok(StoreLists {
        store,
        servers,
        seeded_in,
        peak_rss_kib,
        lists,
        loaded,
        costs,
    })
}

#[cfg(test)]
mod tests {
    use fleet_domain::selector::Selector;
    use fleet_domain::{Labels, ServerState};

    use super::*;

    /// The labels of the `i`th seeded server, as both seeds write them (three to five): `env`,
    /// `tier` and `team` on every one, `zone` on the even ones, `canary` (empty) on one in ten.
    fn labels(i: u64) -> Vec<(&'static str, String)> {
        let mut labels = vec![
            (
                "env",
                ["prod", "staging", "dev"][(i % 3) as usize].to_owned(),
            ),
            (
                "tier",
                ["web", "db", "cache", "batch"][(i % 4) as usize].to_owned(),
            ),
            ("team", format!("team-{}", i % 10)),
        ];
        if i.is_multiple_of(2) {
            labels.push(("zone", ["a", "b", "c"][(i / 2 % 3) as usize].to_owned()));
        }
        if i.is_multiple_of(10) {
            labels.push(("canary", String::new()));
        }
        labels
    }

    /// The state the seeds give the `i`th server.
    fn state(i: u64) -> ServerState {
        match i % 20 {
            0..10 => ServerState::Running,
            10..15 => ServerState::Stopped,
            15 => ServerState::Provisioning,
            16 => ServerState::Starting,
            17 => ServerState::Stopping,
            18 => ServerState::Rebooting,
            _ => ServerState::Terminating,
        }
    }

    #[test]
    fn every_selector_parses_and_matches_what_its_doc_says() {
        let servers: Vec<(ServerState, Labels)> = (0..6_000)
            .map(|i| {
                let map = labels(i)
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect();
                (state(i), Labels::from_client(map).expect("valid labels"))
            })
            .collect();
        assert!(servers.iter().all(|(_, l)| (3..=5).contains(&l.len())));
        let matched: Vec<usize> = SELECTOR_FILTERS
            .iter()
            .chain(CONJUNCTION_FILTERS)
            .map(|filter| {
                let (state_part, selector) = shown(filter)
                    .split_once("&label_selector=")
                    .map(|(s, l)| (s.to_owned(), l.to_owned()))
                    .expect("a state and a selector");
                let wanted: ServerState = state_part
                    .trim_start_matches("state=")
                    .parse()
                    .expect("a state");
                let selector = Selector::parse(&selector).expect("a selector");
                servers
                    .iter()
                    .filter(|(s, l)| *s == wanted && selector.matches(l))
                    .count()
            })
            .collect();
        assert_eq!(matched, [1_000, 2_000, 1_800, 900, 300, 2_700, 100, 0]);
    }

    #[test]
    fn queries_are_shown_decoded() {
        assert_eq!(
            shown("state=running&label_selector=tier%20in%20(web%2Cdb)"),
            "state=running&label_selector=tier in (web,db)"
        );
        assert_eq!(shown("a=%zz%2"), "a=%zz%2");
    }
}
