//! The webhook outbox's writes: taking events into deliveries under the subscription's
//! cursor, claiming due deliveries, and recording attempts under their lease. Each runs
//! inside a `BEGIN IMMEDIATE` transaction, so one runs at a time in every process sharing
//! the database; leases are measured on the database's clock ([`DB_NOW`]).

use diesel::SqliteConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use fleet_domain::ids::WebhookId;
use fleet_domain::ports::DeliveryClaim;
use fleet_domain::webhooks::{AttemptRecord, ClaimedDelivery, NewDelivery, WebhookHealth};

use crate::errors::TxError;
use crate::mapping::{micros, optional_instant};
use crate::ops::{DB_NOW, INSERT_CHUNK};
use crate::schema::{webhook_deliveries, webhook_subscriptions};
use crate::webhook_rows::{DeliveryRow, NewDeliveryRow, secrets};

type Result<T> = std::result::Result<T, TxError>;

/// Leases to the token `?1` for `?2` microseconds the pending deliveries due by `?3` of
/// enabled subscriptions not in `?4` (a JSON array of ids), not held by a lease still
/// running, at most `?5` of one subscription and `?6` in all, earliest due first; returns
/// their ids.
fn claim_statement() -> String {
    format!(
        "UPDATE webhook_deliveries
         SET lease_token = ?1, lease_until = {DB_NOW} + ?2
         WHERE id IN (
             SELECT id FROM (
                 SELECT d.id, d.next_attempt_at, row_number() OVER (
                     PARTITION BY d.webhook_id ORDER BY d.next_attempt_at, d.id) AS place
                 FROM webhook_deliveries AS d
                 JOIN webhook_subscriptions AS s ON s.id = d.webhook_id
                 WHERE d.status = 'pending' AND d.next_attempt_at <= ?3
                   AND (d.lease_until IS NULL OR d.lease_until < {DB_NOW})
                   AND s.enabled = 1
                   AND d.webhook_id NOT IN (SELECT value FROM json_each(?4)))
             WHERE place <= ?5
             ORDER BY next_attempt_at, id
             LIMIT ?6)
         RETURNING id"
    )
}

#[derive(QueryableByName)]
struct Leased {
    #[diesel(sql_type = Text)]
    id: String,
}

/// A claimed delivery and its subscription's URL, secret, previous secret and its end,
/// and failing time.
type ClaimedRow = (
    DeliveryRow,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

/// Claims deliveries (see [`claim_statement`]) and reads them with what sending them
/// needs, earliest due first. Call inside a write transaction.
pub(crate) fn claim(
    conn: &mut SqliteConnection,
    claim: &DeliveryClaim,
) -> Result<Vec<ClaimedDelivery>> {
    // A JSON array of the ids' text, which has nothing to escape.
    let skip: Vec<String> = claim.skip.iter().map(|id| format!("\"{id}\"")).collect();
    let skip = format!("[{}]", skip.join(","));
    let leased: Vec<Leased> = diesel::sql_query(claim_statement())
        .bind::<Text, _>(claim.token.0.to_string())
        .bind::<BigInt, _>(i64::try_from(claim.lease.as_micros()).unwrap_or(i64::MAX))
        .bind::<BigInt, _>(micros(claim.due_by))
        .bind::<Text, _>(skip)
        .bind::<BigInt, _>(i64::from(claim.per_webhook))
        .bind::<BigInt, _>(i64::from(claim.limit))
        .load(conn)?;
    let ids: Vec<String> = leased.into_iter().map(|l| l.id).collect();
    let rows: Vec<ClaimedRow> = webhook_deliveries::table
        .inner_join(webhook_subscriptions::table)
        .filter(webhook_deliveries::id.eq_any(&ids))
        .order((webhook_deliveries::next_attempt_at, webhook_deliveries::id))
        .select((
            DeliveryRow::as_select(),
            webhook_subscriptions::url,
            webhook_subscriptions::secret,
            webhook_subscriptions::previous_secret,
            webhook_subscriptions::previous_secret_until,
            webhook_subscriptions::failing_since,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(delivery, url, secret, previous, until, failing_since)| {
            let until = optional_instant("webhook_subscriptions.previous_secret_until", until)?;
            Ok(ClaimedDelivery {
                delivery: delivery.into_domain()?,
                url,
                secrets: secrets(&secret, previous.as_deref(), until)?,
                failing_since: optional_instant(
                    "webhook_subscriptions.failing_since",
                    failing_since,
                )?,
                lease: claim.token,
            })
        })
        .collect()
}

/// Moves the subscription's cursor from `from` to `to` and stores the deliveries not
/// stored yet; `false`, with nothing written, when the cursor was not at `from`. The
/// subscription's generation is left alone: the cursor has a compare-and-set of its own,
/// and an update writes it only when re-enabling, to start from the events there are then
/// (a batch taken meanwhile is taken again, its deliveries stored once). Call
/// inside a write transaction.
pub(crate) fn enqueue(
    conn: &mut SqliteConnection,
    webhook: WebhookId,
    from: i64,
    to: i64,
    deliveries: &[NewDelivery],
) -> Result<bool> {
    let moved = diesel::update(webhook_subscriptions::table.find(webhook.to_string()))
        .filter(webhook_subscriptions::cursor.eq(from))
        .set(webhook_subscriptions::cursor.eq(to))
        .execute(conn)?;
    if moved == 0 {
        return Ok(false);
    }
    for chunk in deliveries.chunks(INSERT_CHUNK) {
        let rows: Vec<NewDeliveryRow<'_>> = chunk.iter().map(NewDeliveryRow::from_domain).collect();
        diesel::insert_into(webhook_deliveries::table)
            .values(rows)
            .on_conflict_do_nothing()
            .execute(conn)?;
    }
    Ok(true)
}

/// Writes an attempt if its lease still holds the delivery, clearing the lease, then what
/// it does to the subscription; whether the lease held. Call inside a write transaction.
pub(crate) fn record(conn: &mut SqliteConnection, record: &AttemptRecord) -> Result<bool> {
    let written = diesel::update(webhook_deliveries::table.find(record.delivery.to_string()))
        .filter(webhook_deliveries::webhook_id.eq(record.webhook.to_string()))
        .filter(webhook_deliveries::lease_token.eq(record.lease.0.to_string()))
        .set((
            webhook_deliveries::status.eq(record.status.as_str()),
            webhook_deliveries::attempts.eq(i64::from(record.attempts)),
            webhook_deliveries::next_attempt_at.eq(record.next_attempt_at.map(micros)),
            webhook_deliveries::last_attempt_at.eq(Some(micros(record.at))),
            webhook_deliveries::last_status.eq(record.response_status.map(i64::from)),
            webhook_deliveries::last_latency_ms.eq(Some(i64::from(record.latency_ms))),
            webhook_deliveries::last_error.eq(record.error.as_deref()),
            webhook_deliveries::lease_token.eq(None::<String>),
            webhook_deliveries::lease_until.eq(None::<i64>),
        ))
        .execute(conn)?;
    if written == 0 {
        return Ok(false);
    }
    let webhook = webhook_subscriptions::table.find(record.webhook.to_string());
    let failing_since = webhook_subscriptions::failing_since;
    let generation = webhook_subscriptions::generation;
    // Every write of the subscription moves its generation on, so a client's update made
    // from an earlier read is stale rather than undoing it; a success of a healthy one
    // writes nothing.
    match &record.health {
        WebhookHealth::Healthy => diesel::update(webhook.filter(failing_since.is_not_null()))
            .set((failing_since.eq(None::<i64>), generation.eq(generation + 1)))
            .execute(conn)?,
        WebhookHealth::Failing(since) => diesel::update(webhook.filter(failing_since.is_null()))
            .set((
                failing_since.eq(Some(micros(*since))),
                generation.eq(generation + 1),
            ))
            .execute(conn)?,
        WebhookHealth::Disable(reason) => diesel::update(webhook)
            .set((
                webhook_subscriptions::enabled.eq(false),
                webhook_subscriptions::disabled_reason.eq(Some(reason.as_str())),
                webhook_subscriptions::updated_at.eq(micros(record.at)),
                generation.eq(generation + 1),
            ))
            .execute(conn)?,
    };
    Ok(true)
}
