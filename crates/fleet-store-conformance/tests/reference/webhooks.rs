//! The reference store's webhooks: subscriptions in creation order and deliveries with
//! their leases, each operation whole under the state lock. Leases run on `Instant`, the
//! reference store's own clock.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use fleet_domain::error::StoreError;
use fleet_domain::ids::{DeliveryId, ProjectId, WebhookId};
use fleet_domain::ports::{
    DeliveryClaim, DeliveryListing, OutboxStats, WebhookListing, WebhookStore, WebhookWrite,
};
use fleet_domain::webhooks::{
    AttemptRecord, ClaimedDelivery, Delivery, DeliveryStatus, LeaseToken, NewDelivery,
    Subscription, WebhookHealth,
};

use super::{MemoryStore, State};

/// A stored delivery and the claim holding it, if any.
pub struct Stored {
    delivery: Delivery,
    lease: Option<(LeaseToken, Instant)>,
}

/// Subscriptions and their deliveries.
#[derive(Default)]
pub struct Webhooks {
    subscriptions: Vec<Subscription>,
    deliveries: Vec<Stored>,
}

impl Webhooks {
    /// The lowest cursor of the enabled subscriptions: events after it are not pruned.
    pub fn lowest_enabled_cursor(&self) -> Option<i64> {
        self.subscriptions
            .iter()
            .filter(|w| w.enabled)
            .map(|w| w.cursor)
            .min()
    }

    /// Forgets a project's subscriptions and their deliveries.
    pub fn forget_project(&mut self, project: ProjectId) {
        let doomed: Vec<WebhookId> = self
            .subscriptions
            .iter()
            .filter(|w| w.project == project)
            .map(|w| w.id)
            .collect();
        for id in doomed {
            self.delete(id);
        }
    }

    fn delete(&mut self, id: WebhookId) -> bool {
        let before = self.subscriptions.len();
        self.subscriptions.retain(|w| w.id != id);
        self.deliveries.retain(|d| d.delivery.webhook != id);
        self.subscriptions.len() < before
    }

    fn find(&self, id: WebhookId) -> Option<&Subscription> {
        self.subscriptions.iter().find(|w| w.id == id)
    }

    /// Stores `new` unless a delivery with its id, or of its subscription and event, is
    /// stored already; whether it stored it.
    fn insert(&mut self, new: &NewDelivery) -> bool {
        let taken = self.deliveries.iter().any(|d| {
            d.delivery.id == new.id
                || (new.event_seq.is_some()
                    && d.delivery.webhook == new.webhook
                    && d.delivery.event_seq == new.event_seq)
        });
        if !taken {
            self.deliveries.push(Stored {
                delivery: Delivery {
                    id: new.id,
                    webhook: new.webhook,
                    event_seq: new.event_seq,
                    event_type: new.event_type.clone(),
                    payload: new.payload.clone(),
                    trace: new.trace,
                    status: DeliveryStatus::Pending,
                    attempts: 0,
                    created_at: new.created_at,
                    next_attempt_at: Some(new.created_at),
                    last_attempt_at: None,
                    last_status: None,
                    last_latency_ms: None,
                    last_error: None,
                },
                lease: None,
            });
        }
        !taken
    }

    fn delivery_mut(&mut self, webhook: WebhookId, id: DeliveryId) -> Option<&mut Stored> {
        self.deliveries
            .iter_mut()
            .find(|d| d.delivery.id == id && d.delivery.webhook == webhook)
    }
}

fn missing(what: &str, id: impl std::fmt::Display) -> StoreError {
    StoreError::Unknown(anyhow::anyhow!("no {what} {id}"))
}

impl State {
    fn claim(&mut self, claim: &DeliveryClaim) -> Vec<ClaimedDelivery> {
        let now = Instant::now();
        let hooks = &mut self.webhooks;
        let mut due: Vec<usize> = (0..hooks.deliveries.len())
            .filter(|&i| {
                let stored = &hooks.deliveries[i];
                let d = &stored.delivery;
                d.status == DeliveryStatus::Pending
                    && d.next_attempt_at.is_some_and(|t| t <= claim.due_by)
                    && !claim.skip.contains(&d.webhook)
                    && stored.lease.is_none_or(|(_, until)| until < now)
                    && hooks.find(d.webhook).is_some_and(|w| w.enabled)
            })
            .collect();
        due.sort_by_key(|&i| {
            let d = &hooks.deliveries[i].delivery;
            (d.next_attempt_at, d.id)
        });
        let mut per_webhook: HashMap<WebhookId, u32> = HashMap::new();
        let mut taken = Vec::new();
        for i in due {
            if taken.len() >= claim.limit as usize {
                break;
            }
            let count = per_webhook
                .entry(hooks.deliveries[i].delivery.webhook)
                .or_default();
            if *count >= claim.per_webhook {
                continue;
            }
            *count += 1;
            let stored = &mut hooks.deliveries[i];
            let Some(webhook) = hooks
                .subscriptions
                .iter()
                .find(|w| w.id == stored.delivery.webhook)
            else {
                continue;
            };
            stored.lease = Some((claim.token, now + claim.lease));
            taken.push(ClaimedDelivery {
                delivery: stored.delivery.clone(),
                url: webhook.url.clone(),
                secrets: webhook.secrets.clone(),
                failing_since: webhook.failing_since,
                lease: claim.token,
            });
        }
        taken
    }

    fn record(&mut self, record: &AttemptRecord) -> bool {
        let hooks = &mut self.webhooks;
        let Some(stored) = hooks.delivery_mut(record.webhook, record.delivery) else {
            return false;
        };
        if stored.lease.is_none_or(|(token, _)| token != record.lease) {
            return false;
        }
        stored.lease = None;
        let d = &mut stored.delivery;
        d.status = record.status;
        d.attempts = record.attempts;
        d.next_attempt_at = record.next_attempt_at;
        d.last_attempt_at = Some(record.at);
        d.last_status = record.response_status;
        d.last_latency_ms = Some(record.latency_ms);
        d.last_error.clone_from(&record.error);
        if let Some(webhook) = hooks
            .subscriptions
            .iter_mut()
            .find(|w| w.id == record.webhook)
        {
            // Each change of the subscription moves its generation on.
            match &record.health {
                WebhookHealth::Healthy => {
                    if webhook.failing_since.take().is_some() {
                        webhook.generation += 1;
                    }
                }
                WebhookHealth::Failing(since) => {
                    if webhook.failing_since.is_none() {
                        webhook.failing_since = Some(*since);
                        webhook.generation += 1;
                    }
                }
                WebhookHealth::Disable(reason) => {
                    webhook.enabled = false;
                    webhook.disabled_reason = Some(reason.clone());
                    webhook.updated_at = record.at;
                    webhook.generation += 1;
                }
            }
        }
        true
    }
}

#[async_trait::async_trait]
impl WebhookStore for MemoryStore {
    async fn create_webhook(&self, webhook: &Subscription) -> Result<(), StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        if !state.tenancy.has_project(webhook.project) {
            return Err(missing("project", webhook.project));
        }
        state.webhooks.subscriptions.push(webhook.clone());
        Ok(())
    }

    async fn webhook(&self, id: WebhookId) -> Result<Option<Subscription>, StoreError> {
        Ok(self.state()?.webhooks.find(id).cloned())
    }

    async fn webhooks(&self, listing: &WebhookListing) -> Result<Vec<Subscription>, StoreError> {
        let mut webhooks: Vec<Subscription> = self
            .state()?
            .webhooks
            .subscriptions
            .iter()
            .filter(|w| listing.project.is_none_or(|p| p == w.project))
            .filter(|w| {
                listing
                    .after
                    .is_none_or(|after| (w.created_at, w.id) > after)
            })
            .cloned()
            .collect();
        webhooks.sort_by_key(|w| (w.created_at, w.id));
        webhooks.truncate(listing.limit as usize);
        Ok(webhooks)
    }

    async fn count_webhooks(&self, project: ProjectId) -> Result<u64, StoreError> {
        let state = self.state()?;
        let subscriptions = state.webhooks.subscriptions.iter();
        Ok(subscriptions.filter(|w| w.project == project).count() as u64)
    }

    async fn enabled_webhooks(&self) -> Result<Vec<Subscription>, StoreError> {
        let state = self.state()?;
        let subscriptions = state.webhooks.subscriptions.iter();
        Ok(subscriptions.filter(|w| w.enabled).cloned().collect())
    }

    async fn update_webhook(
        &self,
        webhook: &Subscription,
        moved: bool,
    ) -> Result<WebhookWrite, StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        let Some(stored) = state
            .webhooks
            .subscriptions
            .iter_mut()
            .find(|w| w.id == webhook.id)
        else {
            return Ok(WebhookWrite::Missing);
        };
        if stored.generation != webhook.generation {
            return Ok(WebhookWrite::Stale);
        }
        let (cursor, failing_since) = (stored.cursor, stored.failing_since);
        *stored = webhook.clone();
        stored.generation += 1;
        if !moved {
            stored.cursor = cursor;
            stored.failing_since = failing_since;
        }
        Ok(WebhookWrite::Done)
    }

    async fn delete_webhook(&self, id: WebhookId) -> Result<bool, StoreError> {
        self.writable()?;
        Ok(self.state()?.webhooks.delete(id))
    }

    async fn enqueue_deliveries(
        &self,
        webhook: WebhookId,
        from: i64,
        to: i64,
        deliveries: &[NewDelivery],
    ) -> Result<bool, StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        let hooks = &mut state.webhooks;
        let Some(stored) = hooks
            .subscriptions
            .iter_mut()
            .find(|w| w.id == webhook && w.cursor == from)
        else {
            return Ok(false);
        };
        stored.cursor = to;
        for delivery in deliveries {
            hooks.insert(delivery);
        }
        Ok(true)
    }

    async fn add_delivery(&self, delivery: &NewDelivery) -> Result<bool, StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        if state.webhooks.find(delivery.webhook).is_none() {
            return Ok(false);
        }
        if !state.webhooks.insert(delivery) {
            return Err(StoreError::Unknown(anyhow::anyhow!(
                "delivery {} exists",
                delivery.id
            )));
        }
        Ok(true)
    }

    async fn claim_deliveries(
        &self,
        claim: &DeliveryClaim,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        self.writable()?;
        Ok(self.state()?.claim(claim))
    }

    async fn record_attempt(&self, record: &AttemptRecord) -> Result<bool, StoreError> {
        self.writable()?;
        Ok(self.state()?.record(record))
    }

    async fn deliveries(&self, listing: &DeliveryListing) -> Result<Vec<Delivery>, StoreError> {
        let state = self.state()?;
        let mut deliveries: Vec<Delivery> = state
            .webhooks
            .deliveries
            .iter()
            .map(|d| &d.delivery)
            .filter(|d| d.webhook == listing.webhook)
            .filter(|d| {
                listing
                    .after
                    .is_none_or(|after| (d.created_at, d.id) < after)
            })
            .cloned()
            .collect();
        deliveries.sort_by_key(|d| std::cmp::Reverse((d.created_at, d.id)));
        deliveries.truncate(listing.limit as usize);
        Ok(deliveries)
    }

    async fn delivery(
        &self,
        webhook: WebhookId,
        id: DeliveryId,
    ) -> Result<Option<Delivery>, StoreError> {
        let mut state = self.state()?;
        Ok(state
            .webhooks
            .delivery_mut(webhook, id)
            .map(|d| d.delivery.clone()))
    }

    async fn retry_delivery(
        &self,
        webhook: WebhookId,
        id: DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<Option<Delivery>, StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        Ok(state.webhooks.delivery_mut(webhook, id).map(|stored| {
            stored.delivery.status = DeliveryStatus::Pending;
            stored.delivery.next_attempt_at = Some(now);
            stored.delivery.clone()
        }))
    }

    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError> {
        let state = self.state()?;
        let hooks = &state.webhooks;
        let pending: Vec<DateTime<Utc>> = hooks
            .deliveries
            .iter()
            .map(|d| &d.delivery)
            .filter(|d| d.status == DeliveryStatus::Pending)
            .filter(|d| hooks.find(d.webhook).is_some_and(|w| w.enabled))
            .map(|d| d.created_at)
            .collect();
        Ok(OutboxStats {
            pending: pending.len() as u64,
            oldest: pending.into_iter().min(),
        })
    }

    async fn prune_deliveries(&self, before: DateTime<Utc>, limit: u32) -> Result<u32, StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        let hooks = &mut state.webhooks;
        let mut settled: Vec<(DateTime<Utc>, DeliveryId)> = hooks
            .deliveries
            .iter()
            .map(|d| &d.delivery)
            .filter(|d| d.status != DeliveryStatus::Pending && d.created_at < before)
            .map(|d| (d.created_at, d.id))
            .collect();
        settled.sort();
        settled.truncate(limit as usize);
        hooks
            .deliveries
            .retain(|d| !settled.iter().any(|(_, id)| *id == d.delivery.id));
        Ok(settled.len() as u32)
    }
}
