//! The webhook phase as Markdown: its section of a fleet run and its rows of the targets.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{HOOKS, WebhookRun};
use crate::report::{TargetRow, mib, spread};

/// The least provisioning rate with 10 webhooks, as a share of the rate with none (issue 18).
pub const HOOKED_PROVISIONING_TARGET: f64 = 0.8;

/// The targets of `run` on `store`.
pub fn targets(run: &WebhookRun, store: &str) -> Vec<TargetRow> {
    vec![
        run.sides.ratio_target(
            format!(
                "provisioning with {HOOKS} webhooks ≥ {HOOKED_PROVISIONING_TARGET} × with none \
                 ({store})"
            ),
            HOOKED_PROVISIONING_TARGET,
        ),
        TargetRow {
            target: format!("every webhook delivery received once, no errors ({store})"),
            measured: format!(
                "{} of {} received, {} errors",
                run.received.distinct,
                run.expected,
                run.sides.errors()
            ),
            met: run.sides.errors() == 0,
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
    run.sides.without.row(
        &mut out,
        "none (no webhook in the first round, the 10 disabled in the others)",
        "—",
    );
    let ratio = format!(
        "**{:.2}** ({})",
        run.sides.ratio(),
        spread(&run.sides.round_ratios)
    );
    run.sides
        .with
        .row(&mut out, &format!("{HOOKS} enabled"), &ratio);
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
    run.sides.failure_notes(&mut out);
    out.push('\n');
    out
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
