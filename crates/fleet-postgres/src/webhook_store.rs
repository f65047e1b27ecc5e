//! The `WebhookStore` port of [`PgStore`]: subscriptions and the delivery log here, the
//! outbox's claims and attempts in `webhook_outbox`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamptz};
use diesel_async::{AsyncConnection, RunQueryDsl};
use fleet_domain::error::StoreError;
use fleet_domain::ids::{DeliveryId, ProjectId, WebhookId};
use fleet_domain::ports::{
    DeliveryClaim, DeliveryListing, OutboxStats, WebhookListing, WebhookStore, WebhookWrite,
};
use fleet_domain::webhooks::{
    AttemptRecord, ClaimedDelivery, Delivery, DeliveryStatus, NewDelivery, Subscription,
};

use crate::errors::TxError;
use crate::schema::{webhook_deliveries, webhook_subscriptions};
use crate::store::PgStore;
use crate::webhook_outbox;
use crate::webhook_rows::{DeliveryRow, NewDeliveryRow, Settings, SubscriptionRow};

/// Deletes the oldest settled deliveries made before `$1`, at most `$2` of them.
const PRUNE: &str = "\
DELETE FROM webhook_deliveries WHERE id IN (
    SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND created_at < $1
    ORDER BY created_at LIMIT $2)";

fn subscriptions(rows: Vec<SubscriptionRow>) -> Result<Vec<Subscription>, StoreError> {
    Ok(rows
        .into_iter()
        .map(SubscriptionRow::into_domain)
        .collect::<Result<_, _>>()?)
}

fn deliveries(rows: Vec<DeliveryRow>) -> Result<Vec<Delivery>, StoreError> {
    Ok(rows
        .into_iter()
        .map(DeliveryRow::into_domain)
        .collect::<Result<_, _>>()?)
}

#[async_trait::async_trait]
impl WebhookStore for PgStore {
    async fn create_webhook(&self, webhook: &Subscription) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        diesel::insert_into(webhook_subscriptions::table)
            .values(SubscriptionRow::from_domain(webhook))
            .execute(&mut conn)
            .await
            .map_err(TxError::from)?;
        Ok(())
    }

    async fn webhook(&self, id: WebhookId) -> Result<Option<Subscription>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<SubscriptionRow> = webhook_subscriptions::table
            .find(id.as_uuid())
            .select(SubscriptionRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(TxError::from)?;
        Ok(row.map(SubscriptionRow::into_domain).transpose()?)
    }

    async fn webhooks(&self, listing: &WebhookListing) -> Result<Vec<Subscription>, StoreError> {
        let mut conn = self.conn().await?;
        let mut query = webhook_subscriptions::table
            .select(SubscriptionRow::as_select())
            .order((webhook_subscriptions::created_at, webhook_subscriptions::id))
            .limit(i64::from(listing.limit))
            .into_boxed();
        if let Some(project) = listing.project {
            query = query.filter(webhook_subscriptions::project_id.eq(project.as_uuid()));
        }
        if let Some((created_at, id)) = listing.after {
            query = query.filter(
                webhook_subscriptions::created_at.gt(created_at).or(
                    webhook_subscriptions::created_at
                        .eq(created_at)
                        .and(webhook_subscriptions::id.gt(id.as_uuid())),
                ),
            );
        }
        subscriptions(query.load(&mut conn).await.map_err(TxError::from)?)
    }

    async fn count_webhooks(&self, project: ProjectId) -> Result<u64, StoreError> {
        let mut conn = self.conn().await?;
        let count: i64 = webhook_subscriptions::table
            .filter(webhook_subscriptions::project_id.eq(project.as_uuid()))
            .count()
            .get_result(&mut conn)
            .await
            .map_err(TxError::from)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn enabled_webhooks(&self) -> Result<Vec<Subscription>, StoreError> {
        let mut conn = self.conn().await?;
        let rows = webhook_subscriptions::table
            .filter(webhook_subscriptions::enabled)
            .order((webhook_subscriptions::created_at, webhook_subscriptions::id))
            .select(SubscriptionRow::as_select())
            .load(&mut conn)
            .await
            .map_err(TxError::from)?;
        subscriptions(rows)
    }

    /// One `UPDATE … WHERE id = $1 AND generation = $2`: a write racing it waits for its
    /// row lock, then finds the generation moved and writes nothing. Only when nothing was
    /// written is the row looked for, to tell a stale update from a missing subscription.
    async fn update_webhook(
        &self,
        webhook: &Subscription,
        moved: bool,
    ) -> Result<WebhookWrite, StoreError> {
        let mut conn = self.conn().await?;
        let id = webhook.id.as_uuid();
        let generation = webhook_subscriptions::generation;
        let target = webhook_subscriptions::table
            .find(id)
            .filter(generation.eq(webhook.generation));
        let settings = Settings::from_domain(webhook);
        let updated = if moved {
            diesel::update(target)
                .set((
                    settings,
                    generation.eq(generation + 1),
                    webhook_subscriptions::cursor.eq(webhook.cursor),
                    webhook_subscriptions::failing_since.eq(webhook.failing_since),
                ))
                .execute(&mut conn)
                .await
        } else {
            diesel::update(target)
                .set((settings, generation.eq(generation + 1)))
                .execute(&mut conn)
                .await
        };
        if updated.map_err(TxError::from)? == 1 {
            return Ok(WebhookWrite::Done);
        }
        let exists: bool =
            diesel::select(diesel::dsl::exists(webhook_subscriptions::table.find(id)))
                .get_result(&mut conn)
                .await
                .map_err(TxError::from)?;
        Ok(if exists {
            WebhookWrite::Stale
        } else {
            WebhookWrite::Missing
        })
    }

    async fn delete_webhook(&self, id: WebhookId) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let deleted = diesel::delete(webhook_subscriptions::table.find(id.as_uuid()))
            .execute(&mut conn)
            .await
            .map_err(TxError::from)?;
        Ok(deleted == 1)
    }

    async fn enqueue_deliveries(
        &self,
        webhook: WebhookId,
        from: i64,
        to: i64,
        deliveries: &[NewDelivery],
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        conn.transaction::<_, TxError, _>(async |conn| {
            webhook_outbox::enqueue(conn, webhook, from, to, deliveries).await
        })
        .await
        .map_err(StoreError::from)
    }

    /// The subscription's row is locked `FOR KEY SHARE` before the insert, in its
    /// transaction: a subscription deleted before is not found (`false`), and one being
    /// deleted is deleted after the insert commits, with the delivery.
    async fn add_delivery(&self, delivery: &NewDelivery) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let row = NewDeliveryRow::from_domain(delivery);
        conn.transaction::<_, TxError, _>(async |conn| {
            let webhook: Option<uuid::Uuid> = webhook_subscriptions::table
                .find(delivery.webhook.as_uuid())
                .select(webhook_subscriptions::id)
                .for_key_share()
                .first(conn)
                .await
                .optional()?;
            if webhook.is_none() {
                return Ok(false);
            }
            diesel::insert_into(webhook_deliveries::table)
                .values(row)
                .execute(conn)
                .await?;
            Ok(true)
        })
        .await
        .map_err(StoreError::from)
    }

    async fn claim_deliveries(
        &self,
        claim: &DeliveryClaim,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let mut conn = self.conn().await?;
        Ok(webhook_outbox::claim(&mut conn, claim).await?)
    }

    async fn record_attempt(&self, record: &AttemptRecord) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        conn.transaction::<_, TxError, _>(async |conn| webhook_outbox::record(conn, record).await)
            .await
            .map_err(StoreError::from)
    }

    async fn deliveries(&self, listing: &DeliveryListing) -> Result<Vec<Delivery>, StoreError> {
        let mut conn = self.conn().await?;
        let mut query = webhook_deliveries::table
            .filter(webhook_deliveries::webhook_id.eq(listing.webhook.as_uuid()))
            .select(DeliveryRow::as_select())
            .order((
                webhook_deliveries::created_at.desc(),
                webhook_deliveries::id.desc(),
            ))
            .limit(i64::from(listing.limit))
            .into_boxed();
        if let Some((created_at, id)) = listing.after {
            query = query.filter(
                webhook_deliveries::created_at
                    .lt(created_at)
                    .or(webhook_deliveries::created_at
                        .eq(created_at)
                        .and(webhook_deliveries::id.lt(id.as_uuid()))),
            );
        }
        deliveries(query.load(&mut conn).await.map_err(TxError::from)?)
    }

    async fn delivery(
        &self,
        webhook: WebhookId,
        id: DeliveryId,
    ) -> Result<Option<Delivery>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<DeliveryRow> = webhook_deliveries::table
            .find(id.as_uuid())
            .filter(webhook_deliveries::webhook_id.eq(webhook.as_uuid()))
            .select(DeliveryRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(TxError::from)?;
        Ok(row.map(DeliveryRow::into_domain).transpose()?)
    }

    /// The lease is left alone: an attempt in flight records its outcome, and no other
    /// claim takes the delivery until then.
    async fn retry_delivery(
        &self,
        webhook: WebhookId,
        id: DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<Option<Delivery>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<DeliveryRow> = diesel::update(webhook_deliveries::table.find(id.as_uuid()))
            .filter(webhook_deliveries::webhook_id.eq(webhook.as_uuid()))
            .set((
                webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
                webhook_deliveries::next_attempt_at.eq(Some(now)),
            ))
            .returning(DeliveryRow::as_returning())
            .get_result(&mut conn)
            .await
            .optional()
            .map_err(TxError::from)?;
        Ok(row.map(DeliveryRow::into_domain).transpose()?)
    }

    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError> {
        let mut conn = self.conn().await?;
        let enabled = webhook_subscriptions::table
            .filter(webhook_subscriptions::enabled)
            .select(webhook_subscriptions::id);
        let (pending, oldest): (i64, Option<DateTime<Utc>>) = webhook_deliveries::table
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
            .filter(webhook_deliveries::webhook_id.eq_any(enabled))
            .select((
                diesel::dsl::count_star(),
                diesel::dsl::min(webhook_deliveries::created_at),
            ))
            .get_result(&mut conn)
            .await
            .map_err(TxError::from)?;
        Ok(OutboxStats {
            pending: u64::try_from(pending).unwrap_or(0),
            oldest,
        })
    }

    async fn prune_deliveries(&self, before: DateTime<Utc>, limit: u32) -> Result<u32, StoreError> {
        let mut conn = self.conn().await?;
        let deleted = diesel::sql_query(PRUNE)
            .bind::<Timestamptz, _>(before)
            .bind::<BigInt, _>(i64::from(limit))
            .execute(&mut conn)
            .await
            .map_err(TxError::from)?;
        Ok(u32::try_from(deleted).unwrap_or(u32::MAX))
    }
}
