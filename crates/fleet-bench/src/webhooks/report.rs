//! The webhook phase as Markdown: its section of a fleet run and its rows of the targets.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use super::{HOOKS, WebhookRun};
use crate::report::spread;
use crate::watch::Side;
use crate::watch::report::TargetRow;

/// The least provisioning rate with 10 webhooks, as a share of the rate with none (issue 18).
pub const HOOKED_PROVISIONING_TARGET: f64 = 0.8;

/// The targets of `run` on `store`.
pub fn targets(run: &WebhookRun, store: &str) -> Vec<TargetRow> {
    vec![
        TargetRow {
            target: format!(
                "provisioning with {HOOKS} webhooks ≥ {HOOKED_PROVISIONING_TARGET} × with none \
                 ({store})"
            ),
            measured: format!("{:.2} ({})", run.ratio(), spread(&run.round_ratios)),
            met: run.ratio() >= HOOKED_PROVISIONING_TARGET,
        },
        TargetRow {
            target: format!("every webhook delivery received once, no errors ({store})"),
            measured: format!(
                "{} of {} received, {} errors",
                run.received.distinct,
                run.expected,
                run.errors()
            ),
            met: run.errors() == 0,
        },
    ]
}

/// The section of the webhook run on `store`.
pub fn section(run: &WebhookRun, store: &str, concurrency: usize) -> String {
    let mut out = format!(
        "### Webhooks on {store}: {HOOKS} subscriptions to a receiver in the bench while \
         provisioning, {concurrency} connections\n\n\
         {} provisionings a side, in {} rounds of each alternating (the side that goes first \
         alternates too).\n\n\
         | webhooks | ÷ none | requests | req/s | p50 ms | p99 ms | errors | fleetd CPU \
         µs/provision | bench CPU µs/provision | machine busy |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n",
        run.provisions,
        super::ROUNDS,
    );
    side_row(
        &mut out,
        "none (no webhook in the first round, the 10 disabled in the others)",
        "—",
        &run.without,
    );
    let ratio = format!("**{:.2}** ({})", run.ratio(), spread(&run.round_ratios));
    side_row(&mut out, &format!("{HOOKS} enabled"), &ratio, &run.with);
    let spans = &run.spans;
    let r = &run.received;
    let _ = write!(
        out,
        "\nDeliveries (each event of a round with the webhooks enabled, to each of them; the \
         receiver answers 204 on kept-alive connections), timed at the receiver:\n\n\
         | events | deliveries expected | received | distinct `webhook-id` | per webhook | \
         deliveries/s, first to last | by the provisioning's end | deliveries/s after it | \
         longest drain | connections |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n\
         | {} | {} | {} | {} | {}–{} over {} | **{:.0}** | {} | {:.0} | {:.2} s | {} |\n\n",
        types(&run.events_with),
        run.expected,
        r.deliveries,
        r.distinct,
        r.per_hook.0,
        r.per_hook.1,
        r.hooks,
        spans.rate(),
        spans.by_provisioning_end,
        spans.drain_rate(),
        spans.longest_drain.as_secs_f64(),
        r.connections,
    );
    let _ = writeln!(
        out,
        "- Events counted through `GET /events`: with the webhooks {}; without {}. Deliveries \
         by body `type`: {}. fleetd's `fleet_webhook_deliveries_total`: {}.",
        types(&run.events_with),
        types(&run.events_without),
        types(&r.types),
        types(&run.attempts),
    );
    let _ = writeln!(
        out,
        "- fleetd's peak RSS (VmHWM, over its whole life) **{:.1} MiB**; the largest VmRSS \
         sampled every 20 ms during the rounds with webhooks {:.1} MiB, during those without \
         {} (the first before any webhook existed). With the webhooks, \
         CPU and machine busy run until the round's last delivery; req/s is the provisioning \
         alone. Deliveries a second, \
         first to last: the deliveries of the rounds with webhooks ÷ the rounds' times from \
         their first delivery to their last ({:.2} s in all); after the provisioning's end: \
         those that arrived later ÷ the times from the end to the last ({:.2} s).",
        mib(run.peak_rss_kib),
        mib(run.with_rss_kib),
        run.without_rss_kib
            .iter()
            .map(|kib| format!("{:.1}", mib(*kib)))
            .collect::<Vec<_>>()
            .join(", "),
        spans.first_to_last.as_secs_f64(),
        spans.after_provisioning.as_secs_f64(),
    );
    let provisioning = [&run.without.result, &run.with.result]
        .into_iter()
        .filter_map(|r| r.first_error.clone());
    for failure in provisioning.chain(run.failures.iter().take(3).cloned()) {
        let _ = writeln!(out, "  - failure: `{failure}`");
    }
    out.push('\n');
    out
}

fn side_row(out: &mut String, label: &str, ratio: &str, side: &Side) {
    let r = &side.result;
    let per = |cpu: Option<Duration>| {
        cpu.map_or("—".to_owned(), |cpu| {
            format!("{:.0}", cpu.as_secs_f64() * 1e6 / r.requests.max(1) as f64)
        })
    };
    let busy = side
        .machine_busy
        .map_or("—".to_owned(), |b| format!("{:.0} %", b * 100.0));
    let _ = writeln!(
        out,
        "| {label} | {ratio} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} | {busy} |",
        r.requests,
        r.rps(),
        r.ms_at(0.5),
        r.ms_at(0.99),
        r.errors,
        per(side.fleetd_cpu),
        per(side.bench_cpu),
    );
}

/// `a 3, b 1`, or `none`.
fn types(counts: &BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return "none".to_owned();
    }
    counts
        .iter()
        .map(|(kind, count)| format!("`{kind}` {count}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
