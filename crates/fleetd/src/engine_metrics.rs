//! What the lifecycle engine changed, as counters: recorded by its observer for every batch
//! it commits, whether a worker pass or a move of the virtual clock ran it, so the counters
//! tell the same story in both clock modes.

use fleet_domain::service::{PassReport, WorkObserver};
use metrics::{Unit, counter, describe_counter};

/// Transitional states completed by the engine.
pub const TRANSITIONS: &str = "fleet_transitions_completed_total";
/// Billing accruals made by the engine.
pub const ACCRUALS: &str = "fleet_billing_accruals_total";
/// Idle servers terminated by the reaper.
pub const REAPED: &str = "fleet_servers_reaped_total";

/// Describes the metrics above to the installed recorder, each registered at zero (the amount
/// billed is the REST adapter's `fleet_billed_micros_total`, with the source `worker`).
pub fn describe() {
    describe_counter!(
        TRANSITIONS,
        Unit::Count,
        "Transitional states completed by the engine"
    );
    describe_counter!(ACCRUALS, Unit::Count, "Billing accruals made by the engine");
    describe_counter!(REAPED, Unit::Count, "Idle servers terminated by the reaper");
    for name in [TRANSITIONS, ACCRUALS, REAPED] {
        counter!(name).increment(0);
    }
}

/// The engine's observer that counts its work.
#[derive(Debug, Clone, Copy, Default)]
pub struct EngineMetrics;

impl WorkObserver for EngineMetrics {
    fn committed(&self, report: &PassReport) {
        counter!(TRANSITIONS).increment(u64::from(report.completed));
        counter!(ACCRUALS).increment(u64::from(report.accrued));
        counter!(REAPED).increment(u64::from(report.reaped));
        fleet_http::metrics::record_billed("worker", report.billed);
    }
}
