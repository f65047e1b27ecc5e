//! The results as Markdown: printed, and written into `docs/benchmarks.md` by the xtask.

use std::fmt::Write;
use std::time::Duration;

use crate::keys_mode;
use crate::ledger::LedgerRun;
use crate::load::PhaseResult;
use crate::scale::{QueryKind, ScaleReport, SeededUsage};
use crate::suite::{DbLimit, FleetRun};
use crate::{ledger, watch, webhooks};

/// Most statements a batch of a worker pass may send for the pass to count as growing with
/// the batches rather than the servers.
pub const MAX_STATEMENTS_PER_BATCH: f64 = 10.0;
/// The list latency target at scale, in milliseconds.
pub const LIST_P99_TARGET_MS: f64 = 20.0;
/// Issue 19: a month's cost report by region and type, p99 (set at 100,000 servers;
/// measured at the scale test's largest size).
pub const COST_REPORT_P99_TARGET_MS: f64 = 200.0;
/// fleetd's peak RSS target, in MiB.
pub const RSS_TARGET_MIB: f64 = 100.0;
/// The most fleetd's peak RSS over the lists at the largest size may be, as a multiple of
/// the same at the smallest: memory that does not grow with the servers stored.
pub const SCALE_RSS_GROWTH: f64 = 1.1;
/// The least GET-by-id rate with a `member` key in keys mode, as a share of the same reads in
/// open mode (issue 13).
pub const KEYED_GET_TARGET: f64 = 0.9;

const HEADER: &str = "| phase | requests | req/s | p50 ms | p99 ms | max ms | errors | \
    fleetd CPU µs/req | ÷ DB limit | ÷ HTTP limit |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n";

/// The section of one fleet run.
pub fn fleet_run(run: &FleetRun, concurrency: usize) -> String {
    let mut out = format!(
        "### fleetd on {}, {concurrency} connections\n\n{HEADER}",
        run.store
    );
    let http = run.http_limit.result.rps();
    for phase in &run.phases {
        let db = match phase.db_limit {
            Some(DbLimit::Provision) => run.db_provision.as_ref(),
            Some(DbLimit::Get) => run.db_get.as_ref(),
            Some(DbLimit::Action) => run.db_action.as_ref(),
            None => None,
        };
        let db_ratio = db.map_or("—".to_owned(), |db| {
            format!(
                "{:.2} ({}; {})",
                phase.result.rps() / db.rps(),
                db.name,
                spread(&phase.round_ratios)
            )
        });
        let http_ratio = format!("{:.2}", phase.result.rps() / http);
        row(
            &mut out,
            &phase.result,
            phase.fleetd_cpu,
            [&db_ratio, &http_ratio],
        );
    }
    for phase in [&run.keys_mode.keyed, &run.keys_mode.open] {
        let http_ratio = format!("{:.2}", phase.result.rps() / http);
        row(
            &mut out,
            &phase.result,
            phase.fleetd_cpu,
            ["—", &http_ratio],
        );
    }
    row(
        &mut out,
        &run.http_limit.result,
        run.http_limit.fleetd_cpu,
        ["—", "1.00 (the HTTP limit)"],
    );
    for db in [&run.db_provision, &run.db_get, &run.db_action]
        .into_iter()
        .flatten()
    {
        row(&mut out, db, None, ["1.00 (a DB limit)", "—"]);
    }
    let _ = writeln!(
        out,
        "\nfleetd peak RSS (VmHWM) over the run: **{:.1} MiB**.",
        run.peak_rss_kib as f64 / 1024.0
    );
    for (what, took) in &run.clock_moves {
        let _ = writeln!(out, "- {what}: {:.2} s", took.as_secs_f64());
    }
    let keys = &run.keys_mode;
    let _ = writeln!(
        out,
        "- keys mode ÷ open mode, GET by id of the same {} servers: **{:.2}** ({}); the \
         keyed fleetd ran beside this one on the same store. Revocation delay (how long a \
         verified key is trusted without asking the store): {}.",
        keys.servers,
        keys.ratio(),
        spread(&keys.keyed.round_ratios),
        keys_mode::cache_ttl(),
    );
    for phase in run.measured() {
        if let Some(error) = &phase.result.first_error {
            let _ = writeln!(out, "- first error of {}: `{error}`", phase.result.name);
        }
    }
    out.push('\n');
    out.push_str(&watch::report::section(&run.watch, run.store, concurrency));
    out.push_str(&webhooks::report::section(
        &run.webhooks,
        run.store,
        concurrency,
    ));
    out
}

fn row(out: &mut String, r: &PhaseResult, cpu: Option<Duration>, ratios: [&str; 2]) {
    let cpu = cpu.map_or("—".to_owned(), |cpu| {
        format!("{:.0}", cpu.as_secs_f64() * 1e6 / r.requests.max(1) as f64)
    });
    let [db_ratio, http_ratio] = ratios;
    let _ = writeln!(
        out,
        "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {cpu} | {db_ratio} | {http_ratio} |",
        r.name,
        r.requests,
        r.rps(),
        r.ms_at(0.5),
        r.ms_at(0.99),
        r.max_ms(),
        r.errors,
    );
}

/// The scale section.
pub fn scale(report: &ScaleReport) -> String {
    let mut out = format!(
        "### {} servers\n\nSeeded through SQL (half running, a quarter stopped past the idle \
         timeout, the rest in transitional states due now; each with three to five labels \
         and its `created` event; the built-in regions with a /12 pool each): ",
        report.servers
    );
    let mut before = 0;
    let seeded: Vec<String> = report
        .stores
        .iter()
        .map(|s| {
            let took = s.seeded_in.as_secs_f64();
            match s.store {
                "Postgres" => {
                    let from = std::mem::replace(&mut before, s.servers);
                    format!(
                        "Postgres from {from} to {} servers in {took:.1} s, then `ANALYZE` \
                         (as autovacuum would)",
                        s.servers
                    )
                }
                other => format!(
                    "{other} {} servers in {took:.1} s, not analyzed (fleetd never analyzes \
                     its file)",
                    s.servers
                ),
            }
        })
        .collect();
    out.push_str(&seeded.join("; "));
    out.push_str(".\n\n");
    out.push_str(
        "Worker passes through the domain `Engine` over a `PgStore` (batch size 100, a \
         `ManualClock` set so the work is due); statements counted by diesel's \
         instrumentation, every statement sent including `BEGIN`/`COMMIT` and the pool's \
         connection check:\n\n\
         | pass | servers changed | seconds | servers/s | statements | batches (transactions) \
         | statements per batch | statements per server | by kind |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|---|\n",
    );
    for pass in &report.passes {
        let statements = pass.statements.total();
        let batches = pass.statements.transactions();
        let _ = writeln!(
            out,
            "| {} | {} | {:.2} | {:.0} | {statements} | {batches} | {:.1} | {:.3} | {} |",
            pass.name,
            pass.changed,
            pass.elapsed.as_secs_f64(),
            f64::from(pass.changed) / pass.elapsed.as_secs_f64().max(f64::EPSILON),
            statements as f64 / batches.max(1) as f64,
            statements as f64 / f64::from(pass.changed.max(1)),
            pass.statements,
        );
    }
    for store in &report.stores {
        let _ = write!(
            out,
            "\nList latency at {} servers through fleetd's API on {}, one request at a time \
             (each query follows its cursor 5 pages deep, then starts again; selectors are \
             sent percent-encoded), on a fleetd started for them whose peak RSS (`VmHWM`) \
             was {:.1} MiB:\n\n\
             | query (`limit=20`) | requests | p50 ms | p99 ms | max ms | errors |\n\
             |---|--:|--:|--:|--:|--:|\n",
            store.servers,
            store.store,
            mib(store.peak_rss_kib)
        );
        for (_, list) in &store.lists {
            latency_row(&mut out, list, &format!("`{}`", list.name));
        }
        latency_row(
            &mut out,
            &store.loaded,
            &format!(
                "all of them, {} connections ({:.0} req/s)",
                report.concurrency,
                store.loaded.rps()
            ),
        );
        if let Some((usage, costs)) = &store.costs {
            cost_report(&mut out, store.servers, usage, costs);
        }
    }
    out.push('\n');
    out
}

/// The cost report at scale: what was seeded, what it takes on disk, and its latency.
fn cost_report(out: &mut String, servers: u64, usage: &SeededUsage, costs: &PhaseResult) {
    let per_server_month = usage.bytes as f64 / servers.max(1) as f64;
    let _ = write!(
        out,
        "\nA month's cost report over the same servers: 30 days of hourly usage of every \
         one ({} server-hours) seeded into the usage rollups as accruals would add it \
         ({} rollup rows in {:.1} s; {:.1} MiB with indexes, {per_server_month:.0} bytes \
         per server-month, beside the ledger's own records), then \
         `GET {}` (31 daily buckets, 28 groups, no open billing in the range) one request \
         at a time:\n\n\
         | query | requests | p50 ms | p99 ms | max ms | errors |\n\
         |---|--:|--:|--:|--:|--:|\n",
        servers * 720,
        usage.rows,
        usage.seeded_in.as_secs_f64(),
        usage.bytes as f64 / (1024.0 * 1024.0),
        usage.path()
    );
    latency_row(out, costs, "month report by region and type");
}

/// A row of `r`'s latencies: `name`, requests, p50, p99 and max in ms, errors.
pub fn latency_row(out: &mut String, r: &PhaseResult, name: &str) {
    let _ = writeln!(
        out,
        "| {name} | {} | {:.2} | {:.2} | {:.2} | {} |",
        r.requests,
        r.ms_at(0.5),
        r.ms_at(0.99),
        r.max_ms(),
        r.errors
    );
}

/// A target: what it is, what was measured, whether it was met.
pub struct TargetRow {
    /// The target.
    pub target: String,
    /// The figure measured.
    pub measured: String,
    /// Whether it was met.
    pub met: bool,
}

/// The targets section of `rows` alone (a run of one phase).
pub fn targets_table(rows: impl IntoIterator<Item = TargetRow>) -> String {
    let mut out = String::from(TARGETS_HEADER);
    for row in rows {
        target_line(&mut out, &row.target, &row.measured, row.met);
    }
    out.push('\n');
    out
}

const TARGETS_HEADER: &str = "### Targets\n\n| target | measured | met |\n|---|---|---|\n";

fn target_line(out: &mut String, target: &str, measured: &str, met: bool) {
    let met = if met { "yes" } else { "**no**" };
    let _ = writeln!(out, "| {target} | {measured} | {met} |");
}

/// The targets of issue 7 and of the phases since, each with the figure measured and
/// whether it is met.
pub fn targets(
    runs: &[FleetRun],
    concurrency: usize,
    scale: Option<&ScaleReport>,
    ledgers: &[LedgerRun],
) -> String {
    let mut out = String::from(TARGETS_HEADER);
    let mut check =
        |target: &str, measured: String, met: bool| target_line(&mut out, target, &measured, met);
    for run in runs {
        for phase in &run.phases {
            let (db, goal) = match phase.db_limit {
                Some(DbLimit::Provision) => (run.db_provision.as_ref(), 0.6),
                Some(DbLimit::Get) => (run.db_get.as_ref(), 0.5),
                Some(DbLimit::Action) => (run.db_action.as_ref(), 0.6),
                None => (None, 0.0),
            };
            if let Some(db) = db {
                let ratio = phase.result.rps() / db.rps();
                check(
                    &format!("{} ≥ {goal} × {}", phase.result.name, db.name),
                    format!("{ratio:.2} ({})", spread(&phase.round_ratios)),
                    ratio >= goal,
                );
            }
        }
        let keys = &run.keys_mode;
        check(
            &format!(
                "GET by id with a member key (keys mode) ≥ {KEYED_GET_TARGET} × without a key \
                 (open mode) ({})",
                run.store
            ),
            format!("{:.2} ({})", keys.ratio(), spread(&keys.keyed.round_ratios)),
            keys.ratio() >= KEYED_GET_TARGET,
        );
        let errors: u64 = run.measured().map(|p| p.result.errors).sum();
        check(
            &format!("no errors at {concurrency} connections ({})", run.store),
            format!("{errors} errors"),
            errors == 0,
        );
        let rss = run.peak_rss_kib as f64 / 1024.0;
        check(
            &format!("fleetd peak RSS ≤ {RSS_TARGET_MIB} MiB ({})", run.store),
            format!("{rss:.1} MiB"),
            rss <= RSS_TARGET_MIB,
        );
        let watched = run
            .watch
            .iter()
            .flat_map(|w| watch::report::targets(w, run.store));
        for row in watched.chain(webhooks::report::targets(&run.webhooks, run.store)) {
            check(&row.target, row.measured, row.met);
        }
    }
    if let Some(scale) = scale {
        for store in &scale.stores {
            for kind in [
                QueryKind::Plain,
                QueryKind::Selector,
                QueryKind::Conjunction,
            ] {
                let what = kind.described();
                let worst = store
                    .lists
                    .iter()
                    .filter(|(of, _)| *of == kind)
                    .map(|(_, list)| list)
                    .max_by(|a, b| a.ms_at(0.99).total_cmp(&b.ms_at(0.99)));
                if let Some(worst) = worst {
                    let p99 = worst.ms_at(0.99);
                    check(
                        &format!(
                            "{} servers: list p99 ≤ {LIST_P99_TARGET_MS} ms {what} ({})",
                            store.servers, store.store
                        ),
                        format!("worst {p99:.2} ms (`{}`)", worst.name),
                        p99 <= LIST_P99_TARGET_MS,
                    );
                }
            }
        }
        if let Some(row) = scale_rss(scale) {
            check(&row.target, row.measured, row.met);
        }
        for store in &scale.stores {
            if let Some((_, costs)) = &store.costs {
                let p99 = costs.ms_at(0.99);
                check(
                    &format!(
                        "{} servers × 30 days: month cost report by region and type p99 ≤ \
                         {COST_REPORT_P99_TARGET_MS} ms ({})",
                        store.servers, store.store
                    ),
                    format!("{p99:.2} ms"),
                    p99 <= COST_REPORT_P99_TARGET_MS,
                );
            }
        }
        for pass in &scale.passes {
            let per_batch =
                pass.statements.total() as f64 / pass.statements.transactions().max(1) as f64;
            check(
                &format!(
                    "{} pass: O(servers / batch) statements (≤ {MAX_STATEMENTS_PER_BATCH} per batch)",
                    pass.name
                ),
                format!(
                    "{} statements for {} servers in {} batches",
                    pass.statements.total(),
                    pass.changed,
                    pass.statements.transactions()
                ),
                per_batch <= MAX_STATEMENTS_PER_BATCH,
            );
        }
    }
    for row in ledgers.iter().flat_map(ledger::report::targets) {
        check(&row.target, row.measured, row.met);
    }
    out.push('\n');
    out
}

/// fleetd's peak RSS over the lists on Postgres at the largest size against the smallest,
/// if more than one was measured.
fn scale_rss(scale: &ScaleReport) -> Option<TargetRow> {
    let mut postgres = scale.stores.iter().filter(|s| s.store == "Postgres");
    let smallest = postgres.next()?;
    let largest = postgres.next_back()?;
    let ratio = largest.peak_rss_kib as f64 / smallest.peak_rss_kib.max(1) as f64;
    Some(TargetRow {
        target: format!(
            "fleetd peak RSS over the lists at {} servers ≤ {SCALE_RSS_GROWTH} × at {} \
             (Postgres)",
            largest.servers, smallest.servers
        ),
        measured: format!(
            "{ratio:.2} ({:.1} MiB at {}, {:.1} MiB at {})",
            mib(largest.peak_rss_kib),
            largest.servers,
            mib(smallest.peak_rss_kib),
            smallest.servers
        ),
        met: ratio <= SCALE_RSS_GROWTH,
    })
}

/// A note line for the first error of each of `results` and for the first three of
/// `failures`.
pub fn failure_notes(out: &mut String, results: &[&PhaseResult], failures: &[String]) {
    let errors = results.iter().filter_map(|r| r.first_error.clone());
    for failure in errors.chain(failures.iter().take(3).cloned()) {
        let _ = writeln!(out, "  - failure: `{failure}`");
    }
}

/// KiB as MiB.
pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// "N rounds: min–max" of the rounds' ratios.
pub fn spread(ratios: &[f64]) -> String {
    let min = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let max = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if ratios.is_empty() {
        return "no rounds".to_owned();
    }
    format!("{} rounds: {min:.2}–{max:.2}", ratios.len())
}

#[cfg(test)]
mod tests {
    use super::spread;

    #[test]
    fn the_spread_names_the_rounds_and_their_extremes() {
        assert_eq!(spread(&[0.52, 0.61, 0.48]), "3 rounds: 0.48–0.61");
        assert_eq!(spread(&[]), "no rounds");
    }
}
