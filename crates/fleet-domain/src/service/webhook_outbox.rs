//! The webhook outbox's two halves, run by the background workers: taking new events into
//! deliveries ([`WebhookOutbox`]) and attempting due deliveries ([`WebhookDispatcher`]).

use std::sync::Arc;
use std::time::Duration;

use crate::entropy::Entropy;
use crate::error::{EventsError, StoreError};
use crate::ids::{DeliveryId, WebhookId};
use crate::ports::{Clock, DeliveryClaim, EventLog, OutgoingMessage, WebhookSender, WebhookStore};
use crate::service::follow::Follower;
use crate::webhooks::{
    Attempt, AttemptRecord, ClaimedDelivery, EventData, LeaseToken, NewDelivery, RetrySchedule,
    event_message, signature_header,
};

/// The most events one subscription takes into deliveries in one transaction.
pub const TAKE_BATCH: u32 = 500;

/// What one pass of the outbox did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FillReport {
    /// Deliveries stored.
    pub enqueued: u32,
    /// Whether a subscription has more events waiting than one batch took.
    pub behind: bool,
    /// Subscriptions whose cursor had fallen behind the pruned events and was moved past
    /// them (possible only for a subscription re-enabled as events were pruned).
    pub skipped: u32,
}

/// Turns the events after each enabled subscription's cursor into deliveries.
pub struct WebhookOutbox {
    store: Arc<dyn WebhookStore>,
    events: Arc<dyn EventLog>,
    data: Arc<dyn EventData>,
}

impl WebhookOutbox {
    /// The outbox over its ports; `data` shows an event as the API does.
    pub fn new(
        store: Arc<dyn WebhookStore>,
        events: Arc<dyn EventLog>,
        data: Arc<dyn EventData>,
    ) -> Self {
        Self {
            store,
            events,
            data,
        }
    }

    /// Takes one batch of events for each enabled subscription. Another process taking the
    /// same batch first is harmless: the cursor guard lets one of them store it.
    pub async fn fill(&self) -> Result<FillReport, StoreError> {
        let mut report = FillReport::default();
        for webhook in self.store.enabled_webhooks().await? {
            let from = webhook.cursor;
            let mut follower =
                Follower::new(self.events.clone(), webhook.pending_events(TAKE_BATCH));
            let events = match follower.read().await {
                Ok(events) => events,
                Err(EventsError::Expired { pruned_through, .. }) => {
                    self.store
                        .enqueue_deliveries(webhook.id, from, pruned_through, &[])
                        .await?;
                    report.skipped += 1;
                    continue;
                }
                Err(EventsError::Store(e)) => return Err(e),
                Err(other) => return Err(StoreError::Unknown(anyhow::anyhow!(other.to_string()))),
            };
            let to = follower.cursor();
            if to == from {
                continue;
            }
            let deliveries: Vec<NewDelivery> = events
                .iter()
                .filter(|event| webhook.filter.matches(event))
                .filter_map(|event| {
                    let seq = event.seq?;
                    Some(NewDelivery {
                        id: DeliveryId::for_event(webhook.id, seq),
                        webhook: webhook.id,
                        event_seq: Some(seq),
                        event_type: event.event.event_type().as_str().to_owned(),
                        payload: event_message(event, self.data.as_ref()),
                        trace: event.event.trace,
                        created_at: event.event.at,
                    })
                })
                .collect();
            if self
                .store
                .enqueue_deliveries(webhook.id, from, to, &deliveries)
                .await?
            {
                report.enqueued += u32::try_from(deliveries.len()).unwrap_or(u32::MAX);
                report.behind |= !follower.caught_up();
            }
        }
        Ok(report)
    }
}

/// How the dispatcher claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimLimits {
    /// At most this many deliveries per claim.
    pub batch: u32,
    /// At most this many of one subscription per claim.
    pub per_webhook: u32,
    /// How long a claim holds before another process may take the delivery.
    pub lease: Duration,
}

/// Claims due deliveries, signs and sends them, and records each attempt.
pub struct WebhookDispatcher {
    store: Arc<dyn WebhookStore>,
    sender: Arc<dyn WebhookSender>,
    clock: Arc<dyn Clock>,
    wall: Arc<dyn Clock>,
    schedule: RetrySchedule,
    draws: Arc<Entropy>,
}

/// The parts of a [`WebhookDispatcher`].
pub struct DispatcherParts {
    /// The outbox.
    pub store: Arc<dyn WebhookStore>,
    /// What sends the messages.
    pub sender: Arc<dyn WebhookSender>,
    /// The service's clock: when attempts are due and made (virtual under a virtual clock).
    pub clock: Arc<dyn Clock>,
    /// The wall clock, for the `webhook-timestamp` header: receivers refuse a timestamp far
    /// from their own clock, whatever time the simulation is at.
    pub wall: Arc<dyn Clock>,
    /// When failed deliveries are tried again.
    pub schedule: RetrySchedule,
    /// Where the retries' jitter is drawn from.
    pub draws: Arc<Entropy>,
}

impl WebhookDispatcher {
    /// The dispatcher over its parts.
    pub fn new(parts: DispatcherParts) -> Self {
        Self {
            store: parts.store,
            sender: parts.sender,
            clock: parts.clock,
            wall: parts.wall,
            schedule: parts.schedule,
            draws: parts.draws,
        }
    }

    /// Claims due deliveries, none of the subscriptions in `skip`.
    pub async fn claim(
        &self,
        limits: ClaimLimits,
        skip: Vec<WebhookId>,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        self.store
            .claim_deliveries(&DeliveryClaim {
                due_by: self.clock.now(),
                limit: limits.batch,
                per_webhook: limits.per_webhook,
                skip,
                lease: limits.lease,
                token: LeaseToken(self.draws.uuid("webhook-lease", "")),
            })
            .await
    }

    /// Makes one attempt at a claimed delivery and records it; the record, and whether it
    /// was stored (not when the lease had run out and another process took the delivery).
    pub async fn attempt(
        &self,
        claimed: &ClaimedDelivery,
    ) -> Result<(AttemptRecord, bool), StoreError> {
        let at = self.clock.now();
        let timestamp = self.wall.now().timestamp();
        let delivery = &claimed.delivery;
        let id = delivery.id.message_id();
        let message = OutgoingMessage {
            url: claimed.url.clone(),
            signature: signature_header(
                &claimed.secrets.in_force(at),
                &id,
                timestamp,
                delivery.payload.as_bytes(),
            ),
            id,
            timestamp,
            body: delivery.payload.clone(),
            trace: delivery.trace,
        };
        let sent = self.sender.send(&message).await;
        let unit = self.draws.unit(
            "webhook-retry",
            &format!("{}/{}", delivery.id, delivery.attempts),
        );
        let record = claimed.record(
            &Attempt {
                outcome: sent.outcome,
                latency: sent.latency,
                at,
            },
            &self.schedule,
            unit,
        );
        let stored = self.store.record_attempt(&record).await?;
        Ok((record, stored))
    }
}

#[cfg(test)]
#[path = "webhook_outbox_tests.rs"]
mod tests;
