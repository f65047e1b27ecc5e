//! The webhook workers: one takes new events into deliveries as they are sequenced, one
//! attempts due deliveries (a bounded number at once, and a bounded number per webhook, so
//! a receiver that hangs holds only its own slots), one samples the outbox for the metrics.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fleet_domain::WebhookId;
use fleet_domain::ports::{Clock, EventLog, WebhookStore};
use fleet_domain::service::{ClaimLimits, WebhookDispatcher, WebhookOutbox};
use fleet_domain::webhooks::{ClaimedDelivery, WebhookHealth};
use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use slog::Logger;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinHandle;

/// Attempts by how they ended: `succeeded`, `retrying`, `failed`, or `lost_lease` (the
/// attempt ran past its lease and another process took the delivery).
pub const DELIVERIES: &str = "fleet_webhook_deliveries_total";
/// How long attempts take.
pub const ATTEMPT_DURATION: &str = "fleet_webhook_attempt_duration_seconds";
/// Pending deliveries of enabled webhooks.
pub const OUTBOX_PENDING: &str = "fleet_webhook_outbox_pending";
/// How long the longest-waiting pending delivery has waited, on the service's clock.
pub const OUTBOX_OLDEST: &str = "fleet_webhook_outbox_oldest_seconds";
/// Webhooks fleet disabled (410 Gone, or failing for 5 days).
pub const DISABLED: &str = "fleet_webhook_disabled_total";

const OUTCOMES: [&str; 4] = ["succeeded", "retrying", "failed", "lost_lease"];
/// How long the taker waits for new events before it looks again anyway.
const TAKE_PATIENCE: Duration = Duration::from_secs(1);
/// The least time between the taker's passes: under a stream of events, each pass takes
/// what a tenth of a second brought, in a few statements per webhook, rather than a pass
/// per commit.
const TAKE_GAP: Duration = Duration::from_millis(100);
/// How often the dispatcher looks for due deliveries when nothing woke it.
const DISPATCH_INTERVAL: Duration = Duration::from_millis(200);
/// How often the outbox is sampled for the metrics.
const SAMPLE_INTERVAL: Duration = Duration::from_secs(5);

/// Describes the metrics to the installed recorder.
pub fn describe() {
    describe_counter!(
        DELIVERIES,
        Unit::Count,
        "Webhook delivery attempts, by outcome"
    );
    for outcome in OUTCOMES {
        counter!(DELIVERIES, "outcome" => outcome).increment(0);
    }
    describe_histogram!(
        ATTEMPT_DURATION,
        Unit::Seconds,
        "Duration of webhook delivery attempts"
    );
    describe_gauge!(OUTBOX_PENDING, Unit::Count, "Pending webhook deliveries");
    describe_gauge!(
        OUTBOX_OLDEST,
        Unit::Seconds,
        "Age of the oldest pending webhook delivery"
    );
    describe_counter!(DISABLED, Unit::Count, "Webhooks disabled by fleet");
    counter!(DISABLED).increment(0);
}

/// What the webhook workers run with.
pub struct WebhookWorkers {
    /// Takes events into deliveries.
    pub outbox: WebhookOutbox,
    /// Attempts deliveries.
    pub dispatcher: Arc<WebhookDispatcher>,
    /// The outbox's store, sampled for the metrics.
    pub store: Arc<dyn WebhookStore>,
    /// The event sequence, whose growth wakes the taker.
    pub events: Arc<dyn EventLog>,
    /// The service's clock.
    pub clock: Arc<dyn Clock>,
    /// How claims are made.
    pub limits: ClaimLimits,
    /// Attempts at once.
    pub concurrency: u32,
    /// Their logger.
    pub logger: Logger,
}

impl WebhookWorkers {
    /// Starts the three workers; each stops when `stop` turns true.
    pub fn spawn(self, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        let taken = Arc::new(Notify::new());
        let taker = Taker {
            outbox: self.outbox,
            events: self.events,
            taken: taken.clone(),
            logger: self.logger.clone(),
        };
        let dispatcher = Dispatcher {
            dispatcher: self.dispatcher,
            limits: self.limits,
            slots: Arc::new(Semaphore::new(self.concurrency as usize)),
            busy: Arc::new(Mutex::new(HashMap::new())),
            woken: taken,
            logger: self.logger.clone(),
        };
        let sampler = Sampler {
            store: self.store,
            clock: self.clock,
        };
        vec![
            tokio::spawn(taker.run(stop.clone())),
            tokio::spawn(dispatcher.run(stop.clone())),
            tokio::spawn(sampler.run(stop)),
        ]
    }
}

struct Taker {
    outbox: WebhookOutbox,
    events: Arc<dyn EventLog>,
    taken: Arc<Notify>,
    logger: Logger,
}

impl Taker {
    async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut seen = 0;
        loop {
            let mut behind = false;
            match self.outbox.fill().await {
                Ok(report) => {
                    if report.enqueued > 0 {
                        self.taken.notify_one();
                    }
                    if report.skipped > 0 {
                        slog::warn!(self.logger, "webhooks skipped pruned events";
                            "webhooks" => report.skipped);
                    }
                    behind = report.behind;
                }
                Err(e) => slog::warn!(self.logger, "taking events into deliveries failed";
                    "error" => %e),
            }
            if behind {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(TAKE_GAP) => {}
                _ = stop.changed() => break,
            }
            tokio::select! {
                grown = self.events.wait_beyond(seen, TAKE_PATIENCE) => {
                    if let Ok(latest) = grown {
                        seen = latest;
                    }
                }
                _ = stop.changed() => break,
            }
        }
    }
}

struct Dispatcher {
    dispatcher: Arc<WebhookDispatcher>,
    limits: ClaimLimits,
    slots: Arc<Semaphore>,
    /// Attempts running per webhook.
    busy: Arc<Mutex<HashMap<WebhookId, u32>>>,
    /// Woken when deliveries were stored or an attempt ended.
    woken: Arc<Notify>,
    logger: Logger,
}

impl Dispatcher {
    async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            let free = u32::try_from(self.slots.available_permits()).unwrap_or(u32::MAX);
            let mut claimed = Vec::new();
            if free > 0 {
                let limits = ClaimLimits {
                    batch: free.min(self.limits.batch),
                    ..self.limits
                };
                match self.dispatcher.claim(limits, self.saturated()).await {
                    Ok(found) => claimed = found,
                    Err(e) => slog::warn!(self.logger, "claiming webhook deliveries failed";
                        "error" => %e),
                }
            }
            let full_batch = !claimed.is_empty() && claimed.len() as u32 == free;
            for delivery in claimed {
                self.start(delivery);
            }
            if full_batch && self.slots.available_permits() > 0 {
                continue;
            }
            tokio::select! {
                _ = self.woken.notified() => {}
                _ = tokio::time::sleep(DISPATCH_INTERVAL) => {}
                _ = stop.changed() => break,
            }
        }
    }

    /// The webhooks with as many attempts running as one may have.
    fn saturated(&self) -> Vec<WebhookId> {
        let busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        busy.iter()
            .filter(|(_, running)| **running >= self.limits.per_webhook)
            .map(|(id, _)| *id)
            .collect()
    }

    fn start(&self, delivery: ClaimedDelivery) {
        let Ok(slot) = self.slots.clone().try_acquire_owned() else {
            // More were claimed than slots are free (cannot happen: claims ask for at most
            // the free slots); the lease runs out and the delivery is claimed again.
            return;
        };
        let webhook = delivery.delivery.webhook;
        *self
            .busy
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(webhook)
            .or_default() += 1;
        let (dispatcher, busy, woken, logger) = (
            self.dispatcher.clone(),
            self.busy.clone(),
            self.woken.clone(),
            self.logger.clone(),
        );
        tokio::spawn(async move {
            let started = Instant::now();
            match dispatcher.attempt(&delivery).await {
                Ok((record, stored)) => {
                    histogram!(ATTEMPT_DURATION).record(started.elapsed().as_secs_f64());
                    let outcome = if stored {
                        record.result().as_str()
                    } else {
                        "lost_lease"
                    };
                    counter!(DELIVERIES, "outcome" => outcome).increment(1);
                    if let (true, WebhookHealth::Disable(reason)) = (stored, &record.health) {
                        counter!(DISABLED).increment(1);
                        slog::warn!(logger, "webhook disabled";
                            "webhook" => webhook.to_string(), "reason" => reason);
                    }
                }
                Err(e) => slog::warn!(logger, "recording a webhook attempt failed";
                    "webhook" => webhook.to_string(), "error" => %e),
            }
            let mut running = busy.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(count) = running.get_mut(&webhook) {
                *count -= 1;
                if *count == 0 {
                    running.remove(&webhook);
                }
            }
            drop(running);
            drop(slot);
            woken.notify_one();
        });
    }
}

struct Sampler {
    store: Arc<dyn WebhookStore>,
    clock: Arc<dyn Clock>,
}

impl Sampler {
    async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut ticks = tokio::time::interval(SAMPLE_INTERVAL);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stop.changed() => break,
            }
            if let Ok(stats) = self.store.outbox_stats().await {
                gauge!(OUTBOX_PENDING).set(stats.pending as f64);
                let age = stats
                    .oldest
                    .and_then(|oldest| (self.clock.now() - oldest).to_std().ok())
                    .unwrap_or_default();
                gauge!(OUTBOX_OLDEST).set(age.as_secs_f64());
            }
        }
    }
}
