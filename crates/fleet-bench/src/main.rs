//! fleet-bench: the load generator behind `cargo xtask bench`.
//!
//! It creates its own databases on the Postgres server it is given, starts the fleetd binary
//! it is given on them, drives it through the phases over `--concurrency` connections,
//! measures the database and HTTP limits beside it, runs the scale test, prints the results
//! as Markdown, and drops the databases. It exits non-zero if any request failed.

mod baseline;
mod database;
mod fleetd;
mod http;
mod keys_mode;
mod ledger;
mod load;
mod phases;
mod report;
mod scale;
mod suite;
mod usage;
mod watch;
mod webhooks;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;

use crate::database::Database;
use crate::ledger::{LedgerRun, LedgerSize, LedgerStore};
use crate::scale::ScaleSize;
use crate::suite::{FleetRun, Sizes, Target};
use crate::watch::WatchSizes;

/// Benchmarks fleetd against the limits of its database and of its HTTP server.
#[derive(Debug, Parser)]
#[command(name = "fleet-bench")]
struct Args {
    /// The fleetd binary to start.
    #[arg(long, value_name = "PATH")]
    fleetd: PathBuf,
    /// A Postgres server where the bench may create databases (its own database name is
    /// replaced).
    #[arg(long, value_name = "URL")]
    postgres: String,
    /// A smoke run of a few seconds: small phases and 5,000 servers at scale.
    #[arg(long)]
    quick: bool,
    /// Also run fleetd on the embedded SQLite store (the phases, and the lists at scale).
    #[arg(long)]
    sqlite: bool,
    /// Only the scale test: seeding, list latency (label selectors included) and the worker
    /// passes, without the phases that take most of a full run.
    #[arg(long)]
    scale_only: bool,
    /// Only the watch phase (event streams and waits while provisioning), on its own
    /// fleetd for each spread: for working on what it measures. Not written to
    /// docs/benchmarks.md by `cargo xtask bench`.
    #[arg(long, conflicts_with = "scale_only")]
    watch_only: bool,
    /// Only the webhook phase (provisioning with 10 webhooks to a receiver in the bench and
    /// with none, and the deliveries' rate), on its own fleetd for each store: for working
    /// on what it measures. Not written to docs/benchmarks.md by `cargo xtask bench`.
    #[arg(long, conflicts_with_all = ["scale_only", "watch_only"])]
    webhooks_only: bool,
    /// Only the ledger phase (servers running for days of the virtual clock: the time it
    /// takes, the usage rows and their size, billing pages' latency), on both stores
    /// whether or not `--sqlite` is given: for working on what it measures. Not written to
    /// docs/benchmarks.md by `cargo xtask bench`.
    #[arg(long, conflicts_with_all = ["scale_only", "watch_only", "webhooks_only"])]
    ledger_only: bool,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=512))]
    concurrency: u16,
    /// Also write the Markdown results to this file.
    #[arg(long, value_name = "PATH")]
    markdown: Option<PathBuf>,
}

impl Args {
    fn sizes(&self) -> Sizes {
        if self.quick {
            Sizes {
                provision: 300,
                get: 1_000,
                list: 300,
                actions: 100,
                mixed: 500,
                healthz: 1_000,
                keyed_servers: 100,
                watch: WatchSizes {
                    subscribers: 20,
                    waiters: 20,
                    provisions: 200,
                },
                watch_projects: 4,
                // Each makes 10 deliveries, which a debug fleetd sends at about 250 a
                // second on this machine: a few seconds in all.
                webhook_provisions: 80,
            }
        } else {
            Sizes {
                provision: 10_000,
                get: 80_000,
                list: 10_000,
                actions: 5_000,
                mixed: 20_000,
                healthz: 40_000,
                keyed_servers: 1_000,
                watch: WatchSizes {
                    subscribers: 1_000,
                    waiters: 1_000,
                    provisions: 8_000,
                },
                watch_projects: 100,
                webhook_provisions: 10_000,
            }
        }
    }

    fn ledger_size(&self) -> LedgerSize {
        LedgerSize {
            // Five days write more than a page of records per server, so the quick run
            // follows a cursor too.
            servers: if self.quick { 200 } else { 10_000 },
            days: if self.quick { 5 } else { 30 },
            reads: if self.quick { 100 } else { 200 },
            concurrency: usize::from(self.concurrency),
        }
    }

    fn scale_size(&self) -> ScaleSize {
        ScaleSize {
            // Two sizes, a tenth and the whole, so fleetd's memory at the whole can be
            // compared with its memory at a tenth in the same run.
            servers: if self.quick {
                vec![500, 5_000]
            } else {
                vec![100_000, 1_000_000]
            },
            sqlite_servers: if self.quick { 5_000 } else { 100_000 },
            list_requests: if self.quick { 20 } else { 300 },
            concurrency: usize::from(self.concurrency),
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match bench(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fleet-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn bench(args: &Args) -> Result<()> {
    let pid = std::process::id();
    let scratch = std::env::temp_dir().join(format!("fleet-bench-{pid}"));
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let db = Database::create(&args.postgres, &format!("fleet_bench_{pid}")).await?;
    let scale_db = Database::create(&args.postgres, &format!("fleet_bench_{pid}_scale")).await?;
    let ledger_db = Database::create(&args.postgres, &format!("fleet_bench_{pid}_ledger")).await?;
    let dbs = Databases {
        run: &db,
        scale: &scale_db,
        ledger: &ledger_db,
    };
    let measured = measure(args, &dbs, &scratch).await;
    let dropped = db.drop_now().await;
    let scale_dropped = scale_db.drop_now().await;
    let ledger_dropped = ledger_db.drop_now().await;
    let (markdown, errors) = measured?;
    dropped?;
    scale_dropped?;
    ledger_dropped?;
    println!("{markdown}");
    if let Some(path) = &args.markdown {
        std::fs::write(path, &markdown).with_context(|| format!("writing {}", path.display()))?;
    }
    if errors > 0 {
        bail!(
            "{errors} requests failed; fleetd's logs are in {}",
            scratch.display()
        );
    }
    // Only a clean run leaves nothing behind; a failed one keeps fleetd's logs.
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// The bench's fresh databases, each dropped at the end.
struct Databases<'a> {
    /// The fleet runs'.
    run: &'a Database,
    /// The scale test's.
    scale: &'a Database,
    /// The ledger phase's.
    ledger: &'a Database,
}

/// Every measurement; the Markdown and the number of failed requests.
async fn measure(args: &Args, dbs: &Databases<'_>, scratch: &Path) -> Result<(String, u64)> {
    let concurrency = usize::from(args.concurrency);
    let url = dbs.run.url()?;
    let mut runs: Vec<FleetRun> = Vec::new();
    let postgres = Target {
        store: "Postgres",
        database_url: &url,
        direct_url: Some(&url),
    };
    let logs = (
        scratch.join("fleetd-postgres.log"),
        scratch.join("fleetd-postgres-keys.log"),
    );
    if args.watch_only {
        return watch_only(args, &postgres, scratch).await;
    }
    if args.webhooks_only {
        return webhooks_only(args, &postgres, scratch).await;
    }
    if args.ledger_only {
        let ledgers = ledger_runs(args, dbs.ledger, scratch, true).await?;
        let rows = ledgers.iter().flat_map(ledger::report::targets);
        let mut markdown = report::targets_table(rows);
        markdown.extend(ledgers.iter().map(ledger::report::section));
        let errors = ledgers.iter().map(LedgerRun::errors).sum();
        return Ok((markdown, errors));
    }
    if !args.scale_only {
        runs.push(suite::run(&args.fleetd, &postgres, args.sizes(), concurrency, logs).await?);
    }
    if args.sqlite && !args.scale_only {
        let file = scratch.join("bench.db");
        let sqlite_url = format!("sqlite://{}", file.display());
        let sqlite = Target {
            store: "SQLite",
            database_url: &sqlite_url,
            direct_url: None,
        };
        let logs = (
            scratch.join("fleetd-sqlite.log"),
            scratch.join("fleetd-sqlite-keys.log"),
        );
        runs.push(suite::run(&args.fleetd, &sqlite, args.sizes(), concurrency, logs).await?);
    }
    let scale = scale::run(
        &args.fleetd,
        &dbs.scale.url()?,
        &args.scale_size(),
        scratch,
        args.sqlite,
    )
    .await?;
    let ledgers = if args.scale_only {
        Vec::new()
    } else {
        ledger_runs(args, dbs.ledger, scratch, args.sqlite).await?
    };

    let mut markdown = format!(
        "Postgres: {}.\n\n",
        database::describe(&args.postgres).await?
    );
    markdown.push_str(&report::targets(&runs, concurrency, Some(&scale), &ledgers));
    for run in &runs {
        markdown.push_str(&report::fleet_run(run, concurrency));
    }
    markdown.push_str(&report::scale(&scale));
    markdown.extend(ledgers.iter().map(ledger::report::section));
    let errors = runs
        .iter()
        .flat_map(FleetRun::measured)
        .map(|m| m.result.errors)
        .chain(runs.iter().flat_map(|run| {
            [&run.db_provision, &run.db_get, &run.db_action]
                .into_iter()
                .flatten()
                .map(|p| p.errors)
        }))
        .chain(
            runs.iter()
                .flat_map(|run| run.watch.iter().map(|w| w.sides.errors())),
        )
        .chain(runs.iter().map(|run| run.webhooks.sides.errors()))
        .chain(ledgers.iter().map(LedgerRun::errors))
        .chain(
            scale
                .stores
                .iter()
                .flat_map(|s| s.lists.iter().map(|(_, l)| l).chain([&s.loaded]))
                .map(|l| l.errors),
        )
        .sum();
    Ok((markdown, errors))
}

/// The watch phase alone, on Postgres (and SQLite with `--sqlite`): its sections and the
/// number of failures.
async fn watch_only(args: &Args, postgres: &Target<'_>, scratch: &Path) -> Result<(String, u64)> {
    let sqlite_url = format!("sqlite://{}", scratch.join("watch.db").display());
    let mut targets = vec![(postgres.store, postgres.database_url.to_owned())];
    if args.sqlite {
        targets.push(("SQLite", sqlite_url));
    }
    let sizes = args.sizes();
    let concurrency = usize::from(args.concurrency);
    let (mut markdown, mut errors) = (String::new(), 0);
    for (store, url) in targets {
        let runs = watch::both_spreads(
            &args.fleetd,
            (store, &url),
            sizes.watch,
            sizes.watch_projects,
            concurrency,
            scratch,
        )
        .await?;
        errors += runs.iter().map(|run| run.sides.errors()).sum::<u64>();
        markdown.push_str(&watch::report::section(&runs, store, concurrency));
    }
    Ok((markdown, errors))
}

/// The webhook phase alone, on Postgres (and SQLite with `--sqlite`): its sections, its
/// targets and the number of failures.
async fn webhooks_only(
    args: &Args,
    postgres: &Target<'_>,
    scratch: &Path,
) -> Result<(String, u64)> {
    let sqlite_url = format!("sqlite://{}", scratch.join("webhooks.db").display());
    let mut targets = vec![(postgres.store, postgres.database_url.to_owned())];
    if args.sqlite {
        targets.push(("SQLite", sqlite_url));
    }
    let concurrency = usize::from(args.concurrency);
    let (mut rows, mut sections, mut errors) = (Vec::new(), String::new(), 0);
    for (store, url) in targets {
        let log = scratch.join(format!("fleetd-{}-webhooks.log", store.to_lowercase()));
        let run = webhooks::run(
            &args.fleetd,
            &url,
            args.sizes().webhook_provisions,
            concurrency,
            log,
        )
        .await?;
        errors += run.sides.errors();
        rows.extend(webhooks::report::targets(&run, store));
        sections.push_str(&webhooks::report::section(&run, store, concurrency));
    }
    let mut markdown = report::targets_table(rows);
    markdown.push_str(&sections);
    Ok((markdown, errors))
}

/// The ledger phase on Postgres, in the fresh database `db`, and on a fresh SQLite file if
/// `sqlite`.
async fn ledger_runs(
    args: &Args,
    db: &Database,
    scratch: &Path,
    sqlite: bool,
) -> Result<Vec<LedgerRun>> {
    let url = db.url()?;
    let file = scratch.join("ledger.db");
    let mut stores = vec![LedgerStore::Postgres(&url)];
    if sqlite {
        stores.push(LedgerStore::Sqlite(&file));
    }
    let mut runs = Vec::new();
    for store in stores {
        let log = scratch.join(format!("fleetd-{}-ledger.log", store.name().to_lowercase()));
        runs.push(ledger::run(&args.fleetd, store, args.ledger_size(), log).await?);
    }
    Ok(runs)
}
