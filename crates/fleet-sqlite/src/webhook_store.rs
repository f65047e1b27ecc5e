//! The `WebhookStore` port of [`SqliteStore`]: subscriptions and the delivery log here, the
//! outbox's claims and attempts in `webhook_outbox`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use fleet_domain::error::StoreError;
use fleet_domain::ids::{DeliveryId, ProjectId, WebhookId};
use fleet_domain::ports::{
    DeliveryClaim, DeliveryListing, OutboxStats, WebhookListing, WebhookStore, WebhookWrite,
};
use fleet_domain::webhooks::{
    AttemptRecord, ClaimedDelivery, Delivery, DeliveryStatus, NewDelivery, Subscription,
};

use crate::errors::TxError;
use crate::mapping::{micros, optional_instant, project_text};
use crate::schema::{webhook_deliveries, webhook_subscriptions};
use crate::store::SqliteStore;
use crate::webhook_outbox;
use crate::webhook_rows::{DeliveryRow, NewDeliveryRow, Settings, SubscriptionRow};

/// Deletes the oldest settled deliveries made before `?1`, at most `?2` of them.
const PRUNE: &str = "\
DELETE FROM webhook_deliveries WHERE id IN (
    SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND created_at < ?1
    ORDER BY created_at LIMIT ?2)";

fn subscriptions(rows: Vec<SubscriptionRow>) -> Result<Vec<Subscription>, TxError> {
    Ok(rows
        .into_iter()
        .map(SubscriptionRow::into_domain)
        .collect::<Result<_, _>>()?)
}

#[async_trait::async_trait]
impl WebhookStore for SqliteStore {
    async fn create_webhook(&self, webhook: &Subscription) -> Result<(), StoreError> {
        let row = SubscriptionRow::from_domain(webhook);
        self.run(move |conn| {
            diesel::insert_into(webhook_subscriptions::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
        .await
    }

    async fn webhook(&self, id: WebhookId) -> Result<Option<Subscription>, StoreError> {
        self.read(move |conn| {
            let row: Option<SubscriptionRow> = webhook_subscriptions::table
                .find(id.to_string())
                .select(SubscriptionRow::as_select())
                .get_result(conn)
                .optional()?;
            Ok(row.map(SubscriptionRow::into_domain).transpose()?)
        })
        .await
    }

    async fn webhooks(&self, listing: &WebhookListing) -> Result<Vec<Subscription>, StoreError> {
        let listing = *listing;
        self.scan(move |conn| {
            let mut query = webhook_subscriptions::table
                .select(SubscriptionRow::as_select())
                .order((webhook_subscriptions::created_at, webhook_subscriptions::id))
                .limit(i64::from(listing.limit))
                .into_boxed();
            if let Some(project) = listing.project {
                query = query.filter(webhook_subscriptions::project_id.eq(project_text(project)));
            }
            if let Some((created_at, id)) = listing.after {
                let created_at = micros(created_at);
                query = query.filter(
                    webhook_subscriptions::created_at.gt(created_at).or(
                        webhook_subscriptions::created_at
                            .eq(created_at)
                            .and(webhook_subscriptions::id.gt(id.to_string())),
                    ),
                );
            }
            subscriptions(query.load(conn)?)
        })
        .await
    }

    async fn count_webhooks(&self, project: ProjectId) -> Result<u64, StoreError> {
        self.scan(move |conn| {
            let count: i64 = webhook_subscriptions::table
                .filter(webhook_subscriptions::project_id.eq(project_text(project)))
                .count()
                .get_result(conn)?;
            Ok(u64::try_from(count).unwrap_or(0))
        })
        .await
    }

    async fn enabled_webhooks(&self) -> Result<Vec<Subscription>, StoreError> {
        self.scan(|conn| {
            let rows = webhook_subscriptions::table
                .filter(webhook_subscriptions::enabled.eq(true))
                .order((webhook_subscriptions::created_at, webhook_subscriptions::id))
                .select(SubscriptionRow::as_select())
                .load(conn)?;
            subscriptions(rows)
        })
        .await
    }

    /// One `UPDATE … WHERE id = ?1 AND generation = ?2`; only when it wrote nothing is the
    /// row looked for, to tell a stale update from a missing subscription.
    async fn update_webhook(
        &self,
        webhook: &Subscription,
        moved: bool,
    ) -> Result<WebhookWrite, StoreError> {
        let id = webhook.id.to_string();
        let expected = webhook.generation;
        let settings = Settings::from_domain(webhook);
        let (cursor, failing_since) = (webhook.cursor, webhook.failing_since.map(micros));
        self.run(move |conn| {
            let generation = webhook_subscriptions::generation;
            let target = webhook_subscriptions::table
                .find(&id)
                .filter(generation.eq(expected));
            let updated = if moved {
                diesel::update(target)
                    .set((
                        settings,
                        generation.eq(generation + 1),
                        webhook_subscriptions::cursor.eq(cursor),
                        webhook_subscriptions::failing_since.eq(failing_since),
                    ))
                    .execute(conn)?
            } else {
                diesel::update(target)
                    .set((settings, generation.eq(generation + 1)))
                    .execute(conn)?
            };
            if updated == 1 {
                return Ok(WebhookWrite::Done);
            }
            let exists: bool =
                diesel::select(diesel::dsl::exists(webhook_subscriptions::table.find(&id)))
                    .get_result(conn)?;
            Ok(if exists {
                WebhookWrite::Stale
            } else {
                WebhookWrite::Missing
            })
        })
        .await
    }

    async fn delete_webhook(&self, id: WebhookId) -> Result<bool, StoreError> {
        self.run(move |conn| {
            let deleted =
                diesel::delete(webhook_subscriptions::table.find(id.to_string())).execute(conn)?;
            Ok(deleted == 1)
        })
        .await
    }

    async fn enqueue_deliveries(
        &self,
        webhook: WebhookId,
        from: i64,
        to: i64,
        deliveries: &[NewDelivery],
    ) -> Result<bool, StoreError> {
        let deliveries = deliveries.to_vec();
        self.write(move |conn| webhook_outbox::enqueue(conn, webhook, from, to, &deliveries))
            .await
    }

    /// The subscription is looked for in the insert's write transaction, which no delete
    /// can interleave with: `false` when it is gone.
    async fn add_delivery(&self, delivery: &NewDelivery) -> Result<bool, StoreError> {
        let delivery = delivery.clone();
        self.write(move |conn| {
            let webhook = webhook_subscriptions::table.find(delivery.webhook.to_string());
            if !diesel::select(diesel::dsl::exists(webhook)).get_result::<bool>(conn)? {
                return Ok(false);
            }
            diesel::insert_into(webhook_deliveries::table)
                .values(NewDeliveryRow::from_domain(&delivery))
                .execute(conn)?;
            Ok(true)
        })
        .await
    }

    async fn claim_deliveries(
        &self,
        claim: &DeliveryClaim,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let claim = claim.clone();
        self.write(move |conn| webhook_outbox::claim(conn, &claim))
            .await
    }

    async fn record_attempt(&self, record: &AttemptRecord) -> Result<bool, StoreError> {
        let record = record.clone();
        self.write(move |conn| webhook_outbox::record(conn, &record))
            .await
    }

    async fn deliveries(&self, listing: &DeliveryListing) -> Result<Vec<Delivery>, StoreError> {
        let listing = *listing;
        self.scan(move |conn| {
            let mut query = webhook_deliveries::table
                .filter(webhook_deliveries::webhook_id.eq(listing.webhook.to_string()))
                .select(DeliveryRow::as_select())
                .order((
                    webhook_deliveries::created_at.desc(),
                    webhook_deliveries::id.desc(),
                ))
                .limit(i64::from(listing.limit))
                .into_boxed();
            if let Some((created_at, id)) = listing.after {
                let created_at = micros(created_at);
                query = query.filter(
                    webhook_deliveries::created_at.lt(created_at).or(
                        webhook_deliveries::created_at
                            .eq(created_at)
                            .and(webhook_deliveries::id.lt(id.to_string())),
                    ),
                );
            }
            let rows: Vec<DeliveryRow> = query.load(conn)?;
            Ok(rows
                .into_iter()
                .map(DeliveryRow::into_domain)
                .collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn delivery(
        &self,
        webhook: WebhookId,
        id: DeliveryId,
    ) -> Result<Option<Delivery>, StoreError> {
        self.read(move |conn| {
            let row: Option<DeliveryRow> = webhook_deliveries::table
                .find(id.to_string())
                .filter(webhook_deliveries::webhook_id.eq(webhook.to_string()))
                .select(DeliveryRow::as_select())
                .get_result(conn)
                .optional()?;
            Ok(row.map(DeliveryRow::into_domain).transpose()?)
        })
        .await
    }

    /// The lease is left alone: an attempt in flight records its outcome, and no other
    /// claim takes the delivery until then.
    async fn retry_delivery(
        &self,
        webhook: WebhookId,
        id: DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<Option<Delivery>, StoreError> {
        self.run(move |conn| {
            let row: Option<DeliveryRow> =
                diesel::update(webhook_deliveries::table.find(id.to_string()))
                    .filter(webhook_deliveries::webhook_id.eq(webhook.to_string()))
                    .set((
                        webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
                        webhook_deliveries::next_attempt_at.eq(Some(micros(now))),
                    ))
                    .returning(DeliveryRow::as_returning())
                    .get_result(conn)
                    .optional()?;
            Ok(row.map(DeliveryRow::into_domain).transpose()?)
        })
        .await
    }

    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError> {
        self.scan(|conn| {
            let enabled = webhook_subscriptions::table
                .filter(webhook_subscriptions::enabled.eq(true))
                .select(webhook_subscriptions::id);
            let (pending, oldest): (i64, Option<i64>) = webhook_deliveries::table
                .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
                .filter(webhook_deliveries::webhook_id.eq_any(enabled))
                .select((
                    diesel::dsl::count_star(),
                    diesel::dsl::min(webhook_deliveries::created_at),
                ))
                .get_result(conn)?;
            Ok(OutboxStats {
                pending: u64::try_from(pending).unwrap_or(0),
                oldest: optional_instant("webhook_deliveries.created_at", oldest)?,
            })
        })
        .await
    }

    async fn prune_deliveries(&self, before: DateTime<Utc>, limit: u32) -> Result<u32, StoreError> {
        self.run(move |conn| {
            let deleted = diesel::sql_query(PRUNE)
                .bind::<BigInt, _>(micros(before))
                .bind::<BigInt, _>(i64::from(limit))
                .execute(conn)?;
            Ok(u32::try_from(deleted).unwrap_or(u32::MAX))
        })
        .await
    }
}
