//! The metrics of what clients ask of the REST API, through the `metrics` facade; whoever
//! installs the recorder (fleetd) decides where they go. The HTTP metrics of every request
//! are `fleet_ops`'; what the engine does is counted by fleetd.

use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};

/// Actions asked of servers, by action and outcome.
pub const ACTIONS: &str = "fleet_actions_total";
/// Time to provision a server (allocate its address and store it), by outcome.
pub const PROVISION_DURATION: &str = "fleet_provision_duration_seconds";
/// Micro-units added to the usage ledger, by what added them: `action` here, `worker` by
/// fleetd for the engine's work.
pub const BILLED: &str = "fleet_billed_micros_total";

/// Describes the metrics above to the installed recorder.
pub fn describe() {
    describe_counter!(
        ACTIONS,
        Unit::Count,
        "Actions asked of servers, by action and outcome"
    );
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
