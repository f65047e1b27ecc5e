//! The ledger phase as Markdown: its section and its rows of the targets.

use std::fmt::Write;

use super::{HOURS_PER_DAY, LedgerRun, PAGE};
use crate::report::{self, TargetRow, latency_row, mib};

/// The size the advance targets of issue 23 are set for: servers, and days.
pub const TARGET_SIZE: (u64, u64) = (10_000, 30);
/// The longest moving the clock [`TARGET_SIZE`] may take on Postgres, in seconds.
pub const POSTGRES_ADVANCE_TARGET_S: f64 = 120.0;
/// The same on SQLite.
pub const SQLITE_ADVANCE_TARGET_S: f64 = 60.0;
/// The first billing page's latency target at the 99th percentile, in milliseconds.
pub const FIRST_PAGE_TARGET_MS: f64 = 10.0;

impl LedgerRun {
    /// The advance target of its store for [`TARGET_SIZE`], in seconds.
    fn advance_target_s(&self) -> f64 {
        if self.store == "SQLite" {
            SQLITE_ADVANCE_TARGET_S
        } else {
            POSTGRES_ADVANCE_TARGET_S
        }
    }

    /// Milliseconds of the month's move in one call per server-day.
    fn ms_per_server_day(&self) -> f64 {
        self.month.as_secs_f64() * 1e3 / (self.servers * self.days.len() as u64).max(1) as f64
    }

    /// "N servers × D days".
    fn scale(&self) -> String {
        format!("{} servers × {} days", self.servers, self.days.len())
    }
}

/// The targets of `run`. The advance target is set for 10,000 servers × 30 days; it is
/// checked per server-day, so a smaller run is held to the same rate.
pub fn targets(run: &LedgerRun) -> Vec<TargetRow> {
    let store = run.store;
    let (servers, days) = TARGET_SIZE;
    let target_s = run.advance_target_s();
    let target_ms = target_s * 1e3 / (servers * days) as f64;
    let first_p99 = run.first_page.ms_at(0.99);
    vec![
        TargetRow {
            target: format!(
                "advancing the clock {days} days with every server running ≤ {target_s:.0} s \
                 for {servers} servers ({target_ms:.2} ms per server-day) ({store})"
            ),
            measured: format!(
                "{:.1} s for {} ({:.2} ms per server-day)",
                run.month.as_secs_f64(),
                run.scale(),
                run.ms_per_server_day()
            ),
            met: !run.days.is_empty() && run.ms_per_server_day() <= target_ms,
        },
        TargetRow {
            target: format!(
                "usage rows ≤ {HOURS_PER_DAY} per server-day: one per clock hour (and one for \
                 the hour a run starts in) ({store})"
            ),
            measured: format!(
                "{:.2} ({} rows for {} servers × {} days)",
                run.rows_per_server_day(),
                run.storage.rows,
                run.servers,
                2 * run.days.len()
            ),
            met: u64::try_from(run.storage.rows).is_ok_and(|rows| rows <= run.rows_allowed()),
        },
        TargetRow {
            target: format!(
                "billing, first page of {PAGE} records: p99 < {FIRST_PAGE_TARGET_MS} ms ({store})"
            ),
            measured: format!(
                "{first_p99:.2} ms (p50 {:.2} ms)",
                run.first_page.ms_at(0.5)
            ),
            met: run.first_page.requests > 0 && first_p99 < FIRST_PAGE_TARGET_MS,
        },
        TargetRow {
            target: format!(
                "every billing page in order with a cursor to the next, no errors ({store})"
            ),
            measured: format!("{} errors", run.errors()),
            met: run.errors() == 0,
        },
    ]
}

/// The section of `run`.
pub fn section(run: &LedgerRun) -> String {
    let p = &run.provisioning;
    let slowest = run.days.iter().max().copied().unwrap_or_default();
    let first = run.days.first().copied().unwrap_or_default();
    let s = &run.storage;
    let cpu_of = |cpu: Option<std::time::Duration>| {
        cpu.map_or("—".to_owned(), |cpu| format!("{:.1}", cpu.as_secs_f64()))
    };
    let (month_cpu, cpu) = (cpu_of(run.month_cpu), cpu_of(run.advance_cpu));
    let mut out = format!(
        "### Usage ledger on {}: {} servers running for 2 × {} days\n\n\
         {} servers provisioned over {} connections ({:.0} req/s, {} errors), completed by \
         moving the clock {} s ({:.2} s); then the clock moved {} days in one call, and {} \
         more a day a call (`POST /admin/clock/advance` answers once every accrual due is \
         written). The ledger's size was read with fleetd stopped, after both; a \
         server-month is 30 days.\n\n\
         | days in one call s (fleetd CPU s) | days a day a call s | a day: first s | \
         slowest s | fleetd CPU s | usage rows | rows per server-day | ledger MiB (indexes) \
         | KiB per server-month | bytes per row | database MiB |\n\
         |--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n\
         | **{:.1}** ({month_cpu}) | {:.1} | {:.2} | {:.2} | {cpu} | {} | **{:.2}** | \
         {:.1} ({:.1}) | **{:.1}** | {:.0} | {:.1} |\n\n",
        run.store,
        run.servers,
        run.days.len(),
        run.servers,
        run.size.concurrency,
        p.rps(),
        p.errors,
        super::COMPLETE_SECONDS,
        run.completing.as_secs_f64(),
        run.days.len(),
        run.days.len(),
        run.month.as_secs_f64(),
        run.advanced().as_secs_f64(),
        first.as_secs_f64(),
        slowest.as_secs_f64(),
        s.rows,
        run.rows_per_server_day(),
        mib_of(s.ledger_bytes),
        mib_of(s.index_bytes),
        run.bytes_per_server_month() / 1024.0,
        s.ledger_bytes as f64 / s.rows.max(1) as f64,
        mib_of(s.database_bytes),
    );
    let analyzed = if run.store == "Postgres" {
        " (`ANALYZE usage_records` first, as autovacuum would after so many inserts)"
    } else {
        " (fleetd never analyzes its file)"
    };
    let _ = write!(
        out,
        "Billing reads of {} servers picked over all of them, one request at a time{analyzed}:\n\n\
         | `GET /servers/{{id}}/billing?limit={PAGE}` | requests | p50 ms | p99 ms | max ms | \
         errors |\n\
         |---|--:|--:|--:|--:|--:|\n",
        run.size.reads,
    );
    latency_row(&mut out, &run.first_page, "the first page");
    latency_row(
        &mut out,
        &run.next_page,
        "the next page (`cursor` = the first's `next_cursor`)",
    );
    let _ = writeln!(
        out,
        "\n- fleetd's peak RSS (VmHWM, over its whole life) **{:.1} MiB**. Ledger size: {}.",
        mib(run.peak_rss_kib),
        if run.store == "Postgres" {
            "`pg_total_relation_size('usage_records')` (heap, indexes, TOAST) and \
             `pg_indexes_size`; the database `pg_database_size`"
        } else {
            "the pages of `usage_records` and its indexes in `dbstat`; the database \
             `page_count × page_size`"
        },
    );
    let results = [&run.provisioning, &run.first_page, &run.next_page];
    report::failure_notes(&mut out, &results, &run.failures);
    out.push('\n');
    out
}

fn mib_of(bytes: i64) -> f64 {
    bytes as f64 / 1024.0 / 1024.0
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ledger::{LedgerSize, Storage};
    use crate::load::PhaseResult;

    /// 100 servers that ran 5 days in one move of the clock taking `month`, then 5 more a
    /// day at a time, with `rows` usage rows.
    fn run(store: &'static str, month: Duration, rows: i64) -> LedgerRun {
        let mut first_page = PhaseResult::empty("first page");
        first_page.record(Duration::from_millis(2), Ok(()));
        LedgerRun {
            store,
            size: LedgerSize {
                servers: 100,
                days: 5,
                reads: 1,
                concurrency: 1,
            },
            provisioning: PhaseResult::empty("POST /servers"),
            servers: 100,
            completing: Duration::ZERO,
            month,
            month_cpu: None,
            days: vec![month / 5; 5],
            advance_cpu: None,
            peak_rss_kib: 1_024,
            storage: Storage {
                rows,
                ledger_bytes: rows * 100,
                index_bytes: rows * 40,
                database_bytes: rows * 200,
            },
            first_page,
            next_page: PhaseResult::empty("next page"),
            failures: Vec::new(),
        }
    }

    fn met(rows: &[TargetRow]) -> Vec<bool> {
        rows.iter().map(|row| row.met).collect()
    }

    #[test]
    fn targets_hold_a_run_to_its_rate_per_server_day_and_a_row_per_clock_hour() {
        // 500 server-days in one move: Postgres may take 0.4 ms each, 200 ms in all.
        let hourly = 100 * (24 * 10 + 1);
        let fast = run("Postgres", Duration::from_millis(200), hourly);
        assert_eq!(met(&targets(&fast)), [true, true, true, true]);
        let sqlite = run("SQLite", Duration::from_millis(200), hourly + 1);
        assert_eq!(met(&targets(&sqlite)), [false, false, true, true]);
        assert!(
            (fast.bytes_per_server_month() - hourly as f64 * 100.0 * 30.0 / 1_000.0).abs() < 1e-6
        );
        let section = section(&fast);
        assert!(
            section.contains("100 servers running for 2 × 5 days"),
            "{section}"
        );
    }
}
