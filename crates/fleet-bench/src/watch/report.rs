//! The watch phase as Markdown: its section of a fleet run and its rows of the targets.

use std::fmt::Write;

use super::WatchRun;
use super::subscriber::Deliveries;
use crate::report::{TargetRow, mib, spread};

/// The delivery delay target at the 99th percentile, in milliseconds (issue 15).
pub const DELAY_P99_TARGET_MS: f64 = 100.0;
/// fleetd's resident set target with the watchers open, in MiB (issue 15).
pub const WATCHED_RSS_TARGET_MIB: f64 = 64.0;
/// The least provisioning rate with the watchers open, as a share of the rate without.
pub const WATCHED_PROVISIONING_TARGET: f64 = 0.9;

impl WatchRun {
    /// How the watchers are spread, for a table.
    pub fn label(&self) -> String {
        if self.projects == 1 {
            "1 project (every stream gets every event)".to_owned()
        } else {
            format!(
                "{} projects ({} streams and {} waits each)",
                self.projects,
                self.sizes.subscribers / self.projects,
                self.sizes.waiters / self.projects
            )
        }
    }
}

/// The targets of `run` on `store`.
pub fn targets(run: &WatchRun, store: &str) -> Vec<TargetRow> {
    let what = format!("{store}, {}", run.label());
    let delay = ms(run.deliveries.from_answer.value_at_quantile(0.99));
    let rss = mib(run.peak_rss_kib);
    vec![
        TargetRow {
            target: format!("delivery delay p99 ≤ {DELAY_P99_TARGET_MS} ms ({what})"),
            measured: format!(
                "{delay:.1} ms from the answer ({:.1} ms from the request)",
                ms(run.deliveries.from_request.value_at_quantile(0.99))
            ),
            met: run.deliveries.count() > 0 && delay <= DELAY_P99_TARGET_MS,
        },
        TargetRow {
            target: format!("fleetd RSS ≤ {WATCHED_RSS_TARGET_MIB} MiB ({what})"),
            measured: format!("{rss:.1} MiB (VmHWM)"),
            met: rss <= WATCHED_RSS_TARGET_MIB,
        },
        run.sides.ratio_target(
            format!(
                "provisioning with the watchers ≥ {WATCHED_PROVISIONING_TARGET} × without ({what})"
            ),
            WATCHED_PROVISIONING_TARGET,
        ),
        TargetRow {
            target: format!("every event delivered, every wait answered, no errors ({what})"),
            measured: format!("{} errors", run.sides.errors()),
            met: run.sides.errors() == 0,
        },
    ]
}

/// The section of the watch runs of one store.
pub fn section(runs: &[WatchRun], store: &str, concurrency: usize) -> String {
    let Some(first) = runs.first() else {
        return String::new();
    };
    let mut out = format!(
        "### Watching on {store}: {} event streams and {} waits while provisioning, \
         {concurrency} connections\n\n\
         | watchers | provisioning | requests | req/s | p50 ms | p99 ms | errors | fleetd CPU \
         µs/provision | bench CPU µs/provision | machine busy |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n",
        first.sizes.subscribers, first.sizes.waiters
    );
    for run in runs {
        let with = format!(
            "with them: **{:.2}** × without ({})",
            run.sides.ratio(),
            spread(&run.sides.round_ratios)
        );
        let label = run.label();
        run.sides.without.row(&mut out, &label, "without watchers");
        run.sides.with.row(&mut out, &label, &with);
    }
    out.push_str(
        "\nDeliveries (every event of a provisioning with the watchers open, to every stream \
         of its project), from the provisioning's answer and from its request to the event's \
         arrival:\n\n\
         | watchers | events delivered | from the answer: p50 ms | p99 ms | max ms | from the \
         request: p50 ms | p99 ms | max ms | before the answer | longest drain |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for run in runs {
        delivery_row(&mut out, run);
    }
    out.push('\n');
    for run in runs {
        notes(&mut out, run);
    }
    out.push('\n');
    out
}

fn delivery_row(out: &mut String, run: &WatchRun) {
    let d: &Deliveries = &run.deliveries;
    let at = |h: &hdrhistogram::Histogram<u64>, q: f64| ms(h.value_at_quantile(q));
    let _ = writeln!(
        out,
        "| {} | {} of {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {:.2} s |",
        run.label(),
        d.count(),
        run.expected,
        at(&d.from_answer, 0.5),
        at(&d.from_answer, 0.99),
        ms(d.from_answer.max()),
        at(&d.from_request, 0.5),
        at(&d.from_request, 0.99),
        ms(d.from_request.max()),
        d.before_answer,
        run.longest_drain.as_secs_f64(),
    );
}

fn notes(out: &mut String, run: &WatchRun) {
    let waits = &run.waits;
    let released = waits
        .last_released_after
        .map_or("none".to_owned(), |after| {
            format!(
                "the last at most {:.0} ms after it began",
                after.as_secs_f64() * 1e3
            )
        });
    let _ = writeln!(
        out,
        "- {}: fleetd's peak RSS (VmHWM, over its whole life) **{:.1} MiB**; the largest \
         VmRSS sampled every 20 ms while watchers were open {:.1} MiB. Opening the {} streams \
         and {} waits took at most {:.2} s and moved VmRSS from {:.1} to {:.1} MiB ({:.1} KiB \
         a watcher) before any provisioning. Waits asked again after the {} s timeout: {}. \
         After each round the clock moved (an advance took at most {:.2} s) and {} of {} \
         waiters were answered 200, {released}; then fleetd counted every stream and wait \
         closed (`fleet_open_watches`).",
        run.label(),
        mib(run.peak_rss_kib),
        mib(run.watched_rss_kib),
        run.sizes.subscribers,
        run.sizes.waiters,
        run.longest_open.as_secs_f64(),
        mib(run.opening_rss_kib.0),
        mib(run.opening_rss_kib.1),
        run.opening_rss_kib.1.saturating_sub(run.opening_rss_kib.0) as f64
            / (run.sizes.subscribers + run.sizes.waiters).max(1) as f64,
        super::waiter::WAIT_SECONDS,
        waits.renewed,
        waits.longest_advance.as_secs_f64(),
        waits.released,
        waits.waiters,
    );
    run.sides.failure_notes(out);
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1_000.0
}
