//! The background tasks: the lifecycle engine on an interval (system clock only) and the
//! metrics recorder's upkeep. Each stops when the shutdown signal is sent.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fleet_domain::ports::{Clock, Store};
use fleet_domain::service::Engine;
use metrics_exporter_prometheus::PrometheusHandle;
use slog::Logger;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::metrics;

/// How often the metrics recorder drains its histogram buffers.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Whether the workers run, and how their last pass went; read by `/readyz`.
#[derive(Debug, Default)]
pub struct WorkerHealth {
    running: AtomicBool,
    last_failure: Mutex<Option<String>>,
}

impl WorkerHealth {
    /// Marks the workers as running or stopped.
    pub fn set_running(&self, running: bool) {
        self.running.store(running, Ordering::SeqCst);
    }

    /// Whether the workers run.
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    /// Records how the last pass went.
    pub fn record(&self, failure: Option<String>) {
        if let Ok(mut last) = self.last_failure.lock() {
            *last = failure;
        }
    }

    /// Why the last pass failed, if it did.
    pub fn last_failure(&self) -> Option<String> {
        self.last_failure.lock().ok().and_then(|last| last.clone())
    }
}

/// What the engine worker runs with.
pub struct EngineWorker {
    /// The engine.
    pub engine: Arc<Engine>,
    /// The store, to measure how overdue transitions are.
    pub store: Arc<dyn Store>,
    /// The clock the engine reads.
    pub clock: Arc<dyn Clock>,
    /// Time between passes.
    pub interval: Duration,
    /// Where the worker reports.
    pub health: Arc<WorkerHealth>,
    /// Its logger.
    pub logger: Logger,
}

impl EngineWorker {
    /// Runs a pass of the engine every interval until `stop` turns true.
    pub fn spawn(self, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(self.interval);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            self.health.set_running(true);
            slog::info!(self.logger, "lifecycle worker started";
                "interval_ms" => self.interval.as_millis() as u64);
            loop {
                tokio::select! {
                    _ = ticks.tick() => self.pass().await,
                    _ = stop.changed() => break,
                }
            }
            self.health.set_running(false);
            slog::info!(self.logger, "lifecycle worker stopped");
        })
    }

    async fn pass(&self) {
        let started = Instant::now();
        if let Ok(due) = self.store.earliest_due().await
            && let Some(lag) = due
                .transition
                .and_then(|at| (self.clock.now() - at).to_std().ok())
        {
            metrics::record_transition_lag(lag);
        }
        match self.engine.run_once().await {
            Ok(report) => {
                metrics::record_pass(started.elapsed());
                self.health.record(None);
                if report.completed + report.accrued + report.reaped > 0 {
                    slog::debug!(self.logger, "worker pass";
                        "completed" => report.completed, "accrued" => report.accrued,
                        "reaped" => report.reaped);
                }
            }
            Err(e) => {
                metrics::record_pass_failure();
                slog::warn!(self.logger, "worker pass failed"; "error" => %e);
                self.health.record(Some(e.to_string()));
            }
        }
    }
}

/// Runs the recorder's upkeep every [`UPKEEP_INTERVAL`] until `stop` turns true.
pub fn spawn_upkeep(handle: PrometheusHandle, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(UPKEEP_INTERVAL);
        loop {
            tokio::select! {
                _ = ticks.tick() => handle.run_upkeep(),
                _ = stop.changed() => break,
            }
        }
    })
}
