//! Fault rules in the process: the observer that counts and logs every firing, and the
//! worker that keeps the rules in force in step with the store.

use std::sync::Arc;
use std::time::Duration;

use fleet_domain::faults::{FaultEffect, FaultObserver, FaultRecord};
use fleet_domain::service::FaultService;
use metrics::{Unit, counter, describe_counter};
use slog::Logger;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::workers::every;

/// Faults injected, by kind (`error`, `latency`).
pub const INJECTED: &str = "fleet_faults_injected_total";
/// Every kind of fault, the label's fixed set.
const KINDS: [&str; 8] = FaultEffect::KINDS;
/// How often the rules in force are read again from the store: how long a rule made or
/// deleted through another replica takes to apply here.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// Describes the metric to the installed recorder, registered at zero for every kind.
pub fn describe() {
    describe_counter!(
        INJECTED,
        Unit::Count,
        "Faults injected by fault rules, by kind"
    );
    for kind in KINDS {
        counter!(INJECTED, "kind" => kind).increment(0);
    }
}

/// Counts every firing, and logs those no server's events record (provisioning, lists):
/// a firing on a server is an event of that server, by the actor `chaos`.
pub struct FaultLog {
    /// Its logger.
    pub logger: Logger,
}

impl FaultObserver for FaultLog {
    fn injected(&self, record: &FaultRecord) {
        let kind = KINDS
            .into_iter()
            .find(|k| *k == record.kind)
            .unwrap_or("error");
        counter!(INJECTED, "kind" => kind).increment(1);
        if record.server.is_none() {
            slog::info!(self.logger, "fault injected";
                "rule" => record.rule.to_string(),
                "operation" => record.operation.as_str(),
                "kind" => kind,
                "summary" => &record.summary);
        }
    }
}

/// Reads the rules in force from the store every [`REFRESH_INTERVAL`], so that rules made
/// or deleted through another replica apply here too.
pub struct FaultRefresher {
    /// The use case that refreshes the process's book of rules.
    pub faults: Arc<FaultService>,
    /// Its logger.
    pub logger: Logger,
}

impl FaultRefresher {
    /// Refreshes until `stop` turns true.
    pub fn spawn(self, stop: watch::Receiver<bool>) -> JoinHandle<()> {
        let refresher = Arc::new(self);
        every(REFRESH_INTERVAL, stop, move || {
            let refresher = refresher.clone();
            async move {
                if let Err(e) = refresher.faults.refresh().await {
                    slog::warn!(refresher.logger, "reading the fault rules failed"; "error" => %e);
                }
            }
        })
    }
}
