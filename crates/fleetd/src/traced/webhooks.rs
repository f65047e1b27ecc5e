use std::sync::Arc;

use chrono::{DateTime, Utc};
use fleet_domain::error::StoreError;
use fleet_domain::ports::{
    DeliveryClaim, DeliveryListing, OutboxStats, WebhookListing, WebhookStore, WebhookWrite,
};
use fleet_domain::webhooks::{AttemptRecord, ClaimedDelivery, Delivery, NewDelivery, Subscription};
use fleet_domain::{DeliveryId, ProjectId, WebhookId};

use super::{DbSystem, traced};

/// [`WebhookStore`] with a span around every call.
pub struct TracedWebhookStore {
    inner: Arc<dyn WebhookStore>,
    system: DbSystem,
}

impl TracedWebhookStore {
    /// `inner`, its calls spanned as calls to `system`.
    pub fn new(inner: Arc<dyn WebhookStore>, system: DbSystem) -> Self {
        Self { inner, system }
    }
}

#[async_trait::async_trait]
impl WebhookStore for TracedWebhookStore {
    async fn create_webhook(&self, webhook: &Subscription) -> Result<(), StoreError> {
        traced(
            self.system,
            "create_webhook",
            self.inner.create_webhook(webhook),
        )
        .await
    }

    async fn webhook(&self, id: WebhookId) -> Result<Option<Subscription>, StoreError> {
        traced(self.system, "webhook", self.inner.webhook(id)).await
    }

    async fn webhooks(&self, listing: &WebhookListing) -> Result<Vec<Subscription>, StoreError> {
        traced(self.system, "webhooks", self.inner.webhooks(listing)).await
    }

    async fn count_webhooks(&self, project: ProjectId) -> Result<u64, StoreError> {
        traced(
            self.system,
            "count_webhooks",
            self.inner.count_webhooks(project),
        )
        .await
    }

    async fn enabled_webhooks(&self) -> Result<Vec<Subscription>, StoreError> {
        traced(
            self.system,
            "enabled_webhooks",
            self.inner.enabled_webhooks(),
        )
        .await
    }

    async fn update_webhook(
        &self,
        webhook: &Subscription,
        moved: bool,
    ) -> Result<WebhookWrite, StoreError> {
        traced(
            self.system,
            "update_webhook",
            self.inner.update_webhook(webhook, moved),
        )
        .await
    }

    async fn delete_webhook(&self, id: WebhookId) -> Result<bool, StoreError> {
        traced(self.system, "delete_webhook", self.inner.delete_webhook(id)).await
    }

    async fn enqueue_deliveries(
        &self,
        webhook: WebhookId,
        from: i64,
        to: i64,
        deliveries: &[NewDelivery],
    ) -> Result<bool, StoreError> {
        traced(
            self.system,
            "enqueue_deliveries",
            self.inner.enqueue_deliveries(webhook, from, to, deliveries),
        )
        .await
    }

    async fn add_delivery(&self, delivery: &NewDelivery) -> Result<bool, StoreError> {
        traced(
            self.system,
            "add_delivery",
            self.inner.add_delivery(delivery),
        )
        .await
    }

    async fn claim_deliveries(
        &self,
        claim: &DeliveryClaim,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        traced(
            self.system,
            "claim_deliveries",
            self.inner.claim_deliveries(claim),
        )
        .await
    }

    async fn record_attempt(&self, record: &AttemptRecord) -> Result<bool, StoreError> {
        traced(
            self.system,
            "record_attempt",
            self.inner.record_attempt(record),
        )
        .await
    }

    async fn deliveries(&self, listing: &DeliveryListing) -> Result<Vec<Delivery>, StoreError> {
        traced(self.system, "deliveries", self.inner.deliveries(listing)).await
    }

    async fn delivery(
        &self,
        webhook: WebhookId,
        id: DeliveryId,
    ) -> Result<Option<Delivery>, StoreError> {
        traced(self.system, "delivery", self.inner.delivery(webhook, id)).await
    }

    async fn retry_delivery(
        &self,
        webhook: WebhookId,
        id: DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<Option<Delivery>, StoreError> {
        traced(
            self.system,
            "retry_delivery",
            self.inner.retry_delivery(webhook, id, now),
        )
        .await
    }

    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError> {
        traced(self.system, "outbox_stats", self.inner.outbox_stats()).await
    }

    async fn prune_deliveries(&self, before: DateTime<Utc>, limit: u32) -> Result<u32, StoreError> {
        traced(
            self.system,
            "prune_deliveries",
            self.inner.prune_deliveries(before, limit),
        )
        .await
    }
}
