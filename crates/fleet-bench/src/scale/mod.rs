//! Scale: many servers seeded into a fresh database, list latency at that size through
//! fleetd (the plain filters and label selectors with a state filter), then one pass of each
//! worker through the domain `Engine` over a `PgStore`, with the statements each pass sent;
//! and, when asked, the same servers in an SQLite file and the same lists through a fleetd
//! on it.

mod costs;
mod seed;
mod seed_sqlite;
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

pub use costs::SeededUsage;
pub use statements::Statements;

use crate::fleetd::{Auth, Fleetd};
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

/// List latency over the seeded servers on one store.
pub struct StoreLists {
    /// Which store.
    pub store: &'static str,
    /// How long seeding took.
    pub seeded_in: Duration,
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
    /// Servers seeded.
    pub servers: u64,
    /// The lists on Postgres, then on SQLite when asked.
    pub stores: Vec<StoreLists>,
    /// Connections of each store's loaded run.
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

/// Where the SQLite part of the scale test runs.
pub struct SqliteScale {
    /// The database file to create.
    pub file: PathBuf,
    /// fleetd's log.
    pub log: PathBuf,
}

/// Runs the scale test in the empty database at `url`, with `fleetd` serving the lists,
/// then, given `sqlite`, the lists on SQLite.
pub async fn run(
    fleetd: &Path,
    url: &str,
    size: &ScaleSize,
    log: PathBuf,
    sqlite: Option<SqliteScale>,
) -> Result<ScaleReport> {
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
    eprintln!("fleet-bench: seeding 30 days of their usage");
    let usage = costs::seed(url, now).await?;

    eprintln!("fleet-bench: list latency over {} servers", size.servers);
    let (lists, loaded, costs) = list_latency(fleetd, url, size, log, Some(usage)).await?;
    let mut stores = vec![StoreLists {
        store: "Postgres",
        seeded_in,
        lists,
        loaded,
        costs,
    }];

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
    if let Some(sqlite) = sqlite {
        eprintln!("fleet-bench: seeding {} servers into SQLite", size.servers);
        let seeded_in = seed_sqlite::seed(&sqlite.file, &catalog, size.servers, now).await?;
        eprintln!(
            "fleet-bench: list latency over {} servers on SQLite",
            size.servers
        );
        let database_url = format!("sqlite://{}", sqlite.file.display());
        let usage = costs::seed_sqlite(&sqlite.file, now).await?;
        let (lists, loaded, costs) =
            list_latency(fleetd, &database_url, size, sqlite.log, Some(usage)).await?;
        stores.push(StoreLists {
            store: "SQLite",
            seeded_in,
            lists,
            loaded,
            costs,
        });
    }
    Ok(ScaleReport {
        servers: size.servers,
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

/// What `list_latency` measured: each query alone, all at once, and the cost report.
type Latencies = (
    Vec<(QueryKind, PhaseResult)>,
    PhaseResult,
    Option<(SeededUsage, PhaseResult)>,
);

/// The lists' latency through a fleetd over `url`, then, given the usage seeded, the cost
/// report's.
async fn list_latency(
    binary: &Path,
    url: &str,
    size: &ScaleSize,
    log: PathBuf,
    usage: Option<SeededUsage>,
) -> Result<Latencies> {
    let fleetd = Fleetd::start(binary, url, Auth::Open, log).await?;
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
    fleetd.stop()?;
    Ok((lists, loaded, costs))
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
