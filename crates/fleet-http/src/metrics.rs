//! The metrics this adapter records, through the `metrics` facade; whoever installs the
//! recorder (fleetd) decides where they go.

use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};

/// Requests served, by method, route pattern and status.
pub const HTTP_REQUESTS: &str = "fleet_http_requests_total";
/// Request latency, by method, route pattern and status.
pub const HTTP_DURATION: &str = "fleet_http_request_duration_seconds";
/// Actions asked of servers, by action and outcome.
pub const ACTIONS: &str = "fleet_actions_total";
/// Time to provision a server (allocate its address and store it), by outcome.
pub const PROVISION_DURATION: &str = "fleet_provision_duration_seconds";
/// Transitional states completed by the engine (worker passes or virtual-clock advances).
pub const TRANSITIONS: &str = "fleet_transitions_completed_total";
/// Billing accruals made by the engine.
pub const ACCRUALS: &str = "fleet_billing_accruals_total";
/// Idle servers terminated by the reaper.
pub const REAPED: &str = "fleet_servers_reaped_total";
/// Micro-units added to the usage ledger, by what added them (`action` or `worker`).
pub const BILLED: &str = "fleet_billed_micros_total";

/// Describes the metrics above to the installed recorder.
pub fn describe() {
    describe_counter!(HTTP_REQUESTS, Unit::Count, "HTTP requests served");
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "HTTP request latency");
    describe_counter!(
        ACTIONS,
        Unit::Count,
        "Actions asked of servers, by action and outcome"
    );
    describe_counter!(
        TRANSITIONS,
        Unit::Count,
        "Transitional states completed by the engine"
    );
    describe_counter!(ACCRUALS, Unit::Count, "Billing accruals made by the engine");
    describe_counter!(REAPED, Unit::Count, "Idle servers terminated by the reaper");
    describe_counter!(
        BILLED,
        Unit::Count,
        "Micro-units of currency added to the usage ledger, by source"
    );
    describe_histogram!(
        PROVISION_DURATION,
        Unit::Seconds,
        "Time to provision a server, by outcome"
    );
}

/// Records one served request. `route` is the route pattern, never the raw path, so the
/// label set stays small.
pub fn record_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    counter!(HTTP_REQUESTS, &labels).increment(1);
    histogram!(HTTP_DURATION, &labels).record(elapsed.as_secs_f64());
}

/// Records the outcome of an action.
pub fn record_action(action: &'static str, outcome: &'static str) {
    counter!(ACTIONS, "action" => action, "outcome" => outcome).increment(1);
}

/// Records how long a provisioning took.
pub fn record_provision(outcome: &'static str, elapsed: Duration) {
    histogram!(PROVISION_DURATION, "outcome" => outcome).record(elapsed.as_secs_f64());
}

/// Records an amount added to the usage ledger; `source` is `action` or `worker`.
pub fn record_billed(source: &'static str, amount: fleet_domain::Money) {
    if amount.micros() > 0 {
        counter!(BILLED, "source" => source).increment(amount.micros().unsigned_abs());
    }
}

/// Records what the engine did, whether a worker pass or a virtual-clock advance ran it,
/// so the counters tell the same story in both clock modes.
pub fn record_engine_work(report: &fleet_domain::service::PassReport) {
    counter!(TRANSITIONS).increment(u64::from(report.completed));
    counter!(ACCRUALS).increment(u64::from(report.accrued));
    counter!(REAPED).increment(u64::from(report.reaped));
    record_billed("worker", report.billed);
}
