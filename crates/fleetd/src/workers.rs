//! The background tasks: the lifecycle engine and the budget checks on an interval (system
//! clock only), pruning the event history, and the metrics recorder's upkeep. Each stops when the shutdown signal
//! is sent.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use fleet_domain::error::StoreError;
use fleet_domain::ports::{Clock, EventLog, Store, WebhookStore};
use fleet_domain::service::{BudgetService, Engine, IdempotencyService, MAX_EVENTS};
use metrics_exporter_prometheus::PrometheusHandle;
use opentelemetry::trace::FutureExt;
use slog::Logger;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::{metrics, traces};

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
                    _ = ticks.tick() => {
                        self.pass().with_context(traces::pass_span("lifecycle pass")).await;
                    }
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

/// How often budgets are checked on the system clock: a crossing is announced within this
/// of the spending that crossed it (as AWS Budgets, which checks a few times a day, is
/// later still).
pub const BUDGET_INTERVAL: Duration = Duration::from_secs(60);

/// Checks every budget every [`BUDGET_INTERVAL`] (first at once) on the system clock; on
/// a virtual one the engine checks them as the clock moves.
pub struct BudgetWorker {
    /// The budgets.
    pub budgets: Arc<BudgetService>,
    /// Its logger.
    pub logger: Logger,
}

impl BudgetWorker {
    /// Checks until `stop` turns true.
    pub fn spawn(self, stop: watch::Receiver<bool>) -> JoinHandle<()> {
        let worker = Arc::new(self);
        every(BUDGET_INTERVAL, stop, move || {
            let worker = worker.clone();
            async move {
                worker
                    .check()
                    .with_context(traces::pass_span("budget pass"))
                    .await;
            }
        })
    }

    async fn check(&self) {
        match self.budgets.check().await {
            Ok(0) => {}
            Ok(announced) => {
                slog::info!(self.logger, "budget thresholds crossed"; "announced" => announced);
            }
            Err(e) => {
                metrics::record_pass_failure();
                slog::warn!(self.logger, "checking budgets failed"; "error" => %e);
            }
        }
    }
}

/// Runs `work` every `interval`, first at once (a tick missed while it ran is delayed, not
/// bunched), until `stop` turns true; a run under way finishes first.
pub fn every<W, F>(
    interval: Duration,
    mut stop: watch::Receiver<bool>,
    mut work: W,
) -> JoinHandle<()>
where
    W: FnMut() -> F + Send + 'static,
    F: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stop.changed() => break,
            }
            work().await;
        }
    })
}

/// How often the event history and the idempotency keys are pruned.
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(60);
/// The most rows one pruning statement deletes, so that no statement holds its locks long.
pub const PRUNE_BATCH: u32 = 1_000;

/// Deletes events older than the retention window, on the service's clock (so a virtual
/// clock's advance ages them too), keeping each server's newest 100 for its log; and
/// idempotency keys older than theirs, on the same clock.
pub struct Pruner {
    /// The event log.
    pub events: Arc<dyn EventLog>,
    /// The clock the events are dated by.
    pub clock: Arc<dyn Clock>,
    /// How long events are kept.
    pub retention: TimeDelta,
    /// The idempotency keys, with their clock and retention.
    pub keys: Arc<IdempotencyService>,
    /// The webhook deliveries, whose settled ones are kept as long as events.
    pub webhooks: Arc<dyn WebhookStore>,
    /// The usage ledger.
    pub ledger: Arc<dyn Store>,
    /// How long usage records are kept after their period ended; `None`: for ever.
    pub usage_retention: Option<TimeDelta>,
    /// Its logger.
    pub logger: Logger,
}

impl Pruner {
    /// Prunes every [`PRUNE_INTERVAL`] (first at once) until `stop` turns true.
    pub fn spawn(self, stop: watch::Receiver<bool>) -> JoinHandle<()> {
        let pruner = Arc::new(self);
        every(PRUNE_INTERVAL, stop, move || {
            let pruner = pruner.clone();
            async move {
                pruner
                    .prune_all()
                    .with_context(traces::pass_span("prune pass"))
                    .await;
            }
        })
    }

    /// One pass over everything pruned: a few short statements, which stopping waits for.
    async fn prune_all(&self) {
        let pruned = self.prune().await;
        self.report("events", pruned, metrics::record_pruned);
        let pruned = self.prune_keys().await;
        self.report("idempotency keys", pruned, metrics::record_keys_pruned);
        let pruned = self.prune_deliveries().await;
        self.report("webhook deliveries", pruned, |_| {});
        let pruned = self.prune_usage().await;
        self.report("usage records", pruned, |_| {});
    }

    fn report(&self, what: &str, pruned: Result<u64, StoreError>, record: fn(u64)) {
        match pruned {
            Ok(0) => {}
            Ok(pruned) => {
                record(pruned);
                slog::info!(self.logger, "pruned"; "what" => what, "deleted" => pruned);
            }
            Err(e) => {
                metrics::record_pass_failure();
                slog::warn!(self.logger, "pruning failed"; "what" => what, "error" => %e);
            }
        }
    }

    /// Deletes every event older than the window, a batch at a time; how many it deleted.
    pub async fn prune(&self) -> Result<u64, StoreError> {
        let before = self.clock.now() - self.retention;
        in_batches(|| self.events.prune_events(before, MAX_EVENTS, PRUNE_BATCH)).await
    }

    /// Deletes every settled webhook delivery older than the events' window, a batch at a
    /// time; how many it deleted.
    pub async fn prune_deliveries(&self) -> Result<u64, StoreError> {
        let before = self.clock.now() - self.retention;
        in_batches(|| self.webhooks.prune_deliveries(before, PRUNE_BATCH)).await
    }

    /// Deletes every usage record whose period ended before the ledger's retention, a
    /// batch at a time; how many it deleted. Nothing when records are kept for ever.
    pub async fn prune_usage(&self) -> Result<u64, StoreError> {
        let Some(retention) = self.usage_retention else {
            return Ok(0);
        };
        let before = self.clock.now() - retention;
        in_batches(|| self.ledger.prune_usage(before, PRUNE_BATCH)).await
    }

    /// Deletes every idempotency key older than its retention, a batch at a time; how many
    /// it deleted.
    pub async fn prune_keys(&self) -> Result<u64, StoreError> {
        in_batches(|| self.keys.prune(PRUNE_BATCH)).await
    }
}

/// Runs `batch` until one deletes fewer than [`PRUNE_BATCH`] rows; how many they deleted.
async fn in_batches<F, Fut>(batch: F) -> Result<u64, StoreError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<u32, StoreError>>,
{
    let mut total = 0;
    loop {
        let pruned = batch().await?;
        total += u64::from(pruned);
        if pruned < PRUNE_BATCH {
            return Ok(total);
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use chrono::{DateTime, Utc};
    use fleet_domain::idempotency::{ClaimToken, Claimed, IdempotencyKey, KeyClaim};
    use fleet_domain::ports::IdempotencyStore;
    use fleet_domain::service::KeyPolicy;
    use fleet_domain::{
        Event, EventHorizon, EventQuery, EventReadError, ProjectId, StoredResponse,
    };

    use super::*;

    /// A store that prunes as many events, or keys, as it is told, and records what it was
    /// asked: (before, keep per server, limit), keys with a keep of 0.
    struct Pruning {
        batches: Mutex<Vec<u32>>,
        asked: Mutex<Vec<(DateTime<Utc>, u32, u32)>>,
    }

    impl Pruning {
        fn deleting(batches: Vec<u32>) -> Arc<Pruning> {
            Arc::new(Pruning {
                batches: Mutex::new(batches),
                asked: Mutex::default(),
            })
        }

        fn prune(&self, asked: (DateTime<Utc>, u32, u32)) -> Result<u32, StoreError> {
            self.asked.lock().expect("asked").push(asked);
            Ok(self.batches.lock().expect("batches").remove(0))
        }
    }

    #[async_trait::async_trait]
    impl EventLog for Pruning {
        async fn events_after(&self, _: &EventQuery) -> Result<Vec<Event>, EventReadError> {
            Ok(Vec::new())
        }

        async fn horizon(&self) -> Result<EventHorizon, StoreError> {
            Ok(EventHorizon::default())
        }

        async fn wait_beyond(&self, seen: i64, _: Duration) -> Result<i64, StoreError> {
            Ok(seen)
        }

        async fn prune_events(
            &self,
            before: DateTime<Utc>,
            keep: u32,
            limit: u32,
        ) -> Result<u32, StoreError> {
            self.prune((before, keep, limit))
        }
    }

    #[async_trait::async_trait]
    impl IdempotencyStore for Pruning {
        async fn claim_key(&self, _: &KeyClaim) -> Result<Claimed, StoreError> {
            unreachable!("the pruner claims nothing")
        }

        async fn complete_key(
            &self,
            _: ProjectId,
            _: &IdempotencyKey,
            _: ClaimToken,
            _: &StoredResponse,
        ) -> Result<bool, StoreError> {
            unreachable!("the pruner answers nothing")
        }

        async fn release_key(
            &self,
            _: ProjectId,
            _: &IdempotencyKey,
            _: ClaimToken,
        ) -> Result<bool, StoreError> {
            unreachable!("the pruner releases nothing")
        }

        async fn prune_keys(&self, before: DateTime<Utc>, limit: u32) -> Result<u32, StoreError> {
            self.prune((before, 0, limit))
        }
    }

    struct At(DateTime<Utc>);

    impl Clock for At {
        fn now(&self) -> DateTime<Utc> {
            self.0
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).expect("time")
    }

    fn pruner(events: Arc<Pruning>, keys: Arc<Pruning>) -> Pruner {
        let clock = Arc::new(At(now()));
        let policy = KeyPolicy {
            retention: TimeDelta::hours(24),
            ..KeyPolicy::default()
        };
        Pruner {
            events,
            clock: clock.clone(),
            retention: TimeDelta::days(7),
            keys: Arc::new(IdempotencyService::new(keys, clock, policy)),
            webhooks: Arc::new(fleet_domain::ports::MockWebhookStore::new()),
            ledger: Arc::new(fleet_domain::ports::MockStore::new()),
            usage_retention: None,
            logger: Logger::root(slog::Discard, slog::o!()),
        }
    }

    #[tokio::test]
    async fn usage_records_are_pruned_in_batches_past_their_retention_and_kept_without_one() {
        let none = Pruning::deleting(Vec::new());
        let kept = pruner(none.clone(), none.clone());
        assert_eq!(kept.prune_usage().await.expect("nothing to do"), 0);

        let mut ledger = fleet_domain::ports::MockStore::new();
        let mut batches = vec![PRUNE_BATCH, 7].into_iter();
        ledger
            .expect_prune_usage()
            .withf(|before, limit| *before == now() - TimeDelta::days(90) && *limit == PRUNE_BATCH)
            .times(2)
            .returning(move |_, _| Ok(batches.next().unwrap_or(0)));
        let pruner = Pruner {
            ledger: Arc::new(ledger),
            usage_retention: Some(TimeDelta::days(90)),
            ..pruner(none.clone(), none)
        };
        assert_eq!(
            pruner.prune_usage().await.expect("pruned"),
            u64::from(PRUNE_BATCH + 7)
        );
    }

    #[tokio::test]
    async fn a_pass_prunes_batch_after_batch_until_one_is_not_full() {
        let events = Pruning::deleting(vec![PRUNE_BATCH, PRUNE_BATCH, 3]);
        let pruner = pruner(events.clone(), Pruning::deleting(Vec::new()));
        let pruned = pruner.prune().await.expect("pruned");
        assert_eq!(pruned, u64::from(2 * PRUNE_BATCH + 3));
        let asked = events.asked.lock().expect("asked").clone();
        assert_eq!(asked.len(), 3, "three statements");
        assert!(
            asked
                .iter()
                .all(|ask| *ask == (now() - TimeDelta::days(7), MAX_EVENTS, PRUNE_BATCH)),
            "{asked:?}"
        );
    }

    #[tokio::test]
    async fn keys_are_pruned_in_batches_past_their_own_retention() {
        let keys = Pruning::deleting(vec![PRUNE_BATCH, 0]);
        let pruner = pruner(Pruning::deleting(Vec::new()), keys.clone());
        assert_eq!(
            pruner.prune_keys().await.expect("pruned"),
            u64::from(PRUNE_BATCH)
        );
        let asked = keys.asked.lock().expect("asked").clone();
        assert_eq!(
            asked,
            vec![(now() - TimeDelta::hours(24), 0, PRUNE_BATCH); 2],
            "two statements, each before the keys' window"
        );
    }
}
