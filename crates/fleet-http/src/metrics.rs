//! The metrics of what clients ask of the REST API, through the `metrics` facade; whoever
//! installs the recorder (fleetd) decides where they go. The HTTP metrics of every request
//! are `fleet_ops`'; what the engine does is counted by fleetd.

use std::time::Duration;

use fleet_domain::error::ActError;
use fleet_domain::service::ActOutcome;

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};

/// Actions asked of servers, by action and outcome.
pub const ACTIONS: &str = "fleet_actions_total";
/// Time to provision a server (allocate its address and store it), by outcome.
pub const PROVISION_DURATION: &str = "fleet_provision_duration_seconds";
/// Micro-units added to the usage ledger, by what added them: `action` here, `worker` by
/// fleetd for the engine's work.
pub const BILLED: &str = "fleet_billed_micros_total";

/// Responses open for a long time, by kind: `stream` (event streams) and `wait`.
pub const OPEN_WATCHES: &str = "fleet_open_watches";

/// The kinds of [`OPEN_WATCHES`].
pub const WATCH_KINDS: [&str; 2] = ["stream", "wait"];

/// Counts one open watch of `kind` (one of [`WATCH_KINDS`]) while it lives.
#[derive(Debug)]
pub struct OpenWatch(&'static str);

impl OpenWatch {
    /// A watch of `kind` opened.
    pub fn open(kind: &'static str) -> Self {
        gauge!(OPEN_WATCHES, "kind" => kind).increment(1.0);
        Self(kind)
    }
}

impl Drop for OpenWatch {
    fn drop(&mut self) {
        gauge!(OPEN_WATCHES, "kind" => self.0).decrement(1.0);
    }
}

/// What became of an action asked of a server: the `outcome` label of [`ACTIONS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionOutcome {
    /// The action changed the server.
    Accepted,
    /// The server was already where the action leads; nothing changed.
    Noop,
    /// The caller's role may not act.
    Forbidden,
    /// The server's state refuses the action.
    Conflict,
    /// No such server in the caller's project.
    NotFound,
    /// Another writer held the server; nothing changed.
    Contended,
    /// The project's quota refused it.
    QuotaExceeded,
    /// `If-Match` named a version the server is no longer at; nothing changed.
    PreconditionFailed,
    /// A fault rule answered an error instead; nothing changed.
    Injected,
    /// The store failed.
    Failed,
}

impl ActionOutcome {
    /// Every outcome, in a fixed order.
    pub const ALL: [ActionOutcome; 10] = [
        Self::Accepted,
        Self::Noop,
        Self::Forbidden,
        Self::Conflict,
        Self::NotFound,
        Self::Contended,
        Self::QuotaExceeded,
        Self::PreconditionFailed,
        Self::Injected,
        Self::Failed,
    ];

    /// The outcome of what acting on a server answered.
    pub fn of(result: &Result<ActOutcome, ActError>) -> Self {
        match result {
            Ok(outcome) if outcome.changed => Self::Accepted,
            Ok(_) => Self::Noop,
            Err(ActError::Forbidden(_)) => Self::Forbidden,
            Err(ActError::Conflict(_)) => Self::Conflict,
            Err(ActError::NotFound(_)) => Self::NotFound,
            Err(ActError::Contended { .. }) => Self::Contended,
            Err(ActError::QuotaExceeded(_)) => Self::QuotaExceeded,
            Err(ActError::PreconditionFailed(_)) => Self::PreconditionFailed,
            Err(ActError::Injected(_)) => Self::Injected,
            Err(ActError::Store(_)) => Self::Failed,
        }
    }

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Noop => "noop",
            Self::Forbidden => "forbidden",
            Self::Conflict => "conflict",
            Self::NotFound => "not_found",
            Self::Contended => "contended",
            Self::QuotaExceeded => "quota_exceeded",
            Self::PreconditionFailed => "precondition_failed",
            Self::Injected => "fault_injected",
            Self::Failed => "failed",
        }
    }
}

/// What adds to the usage ledger: the `source` label of [`BILLED`].
pub const BILLED_SOURCES: [&str; 2] = ["action", "worker"];

/// Describes the metrics above to the installed recorder and registers every series whose
/// labels are known at zero, so a dashboard or an alert reads 0 on a healthy service rather
/// than "no data".
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
    describe_gauge!(
        OPEN_WATCHES,
        Unit::Count,
        "Event streams and waits open, by kind"
    );
    for kind in WATCH_KINDS {
        gauge!(OPEN_WATCHES, "kind" => kind).set(0.0);
    }
    for action in fleet_domain::Action::ALL {
        for outcome in ActionOutcome::ALL {
            record_action(action.as_str(), outcome, 0);
        }
    }
    for source in BILLED_SOURCES {
        counter!(BILLED, "source" => source).increment(0);
    }
}

/// Counts `times` actions of this kind with this outcome.
pub fn record_action(action: &'static str, outcome: ActionOutcome, times: u64) {
    counter!(ACTIONS, "action" => action, "outcome" => outcome.as_str()).increment(times);
}

/// Counts one action on a server as it answered, and what it billed.
pub fn record_acted(action: fleet_domain::Action, result: &Result<ActOutcome, ActError>) {
    record_action(action.as_str(), ActionOutcome::of(result), 1);
    if let Ok(outcome) = result {
        record_billed("action", outcome.billed);
    }
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
