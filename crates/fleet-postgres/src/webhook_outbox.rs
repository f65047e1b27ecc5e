//! The webhook outbox's writes: taking events into deliveries under the subscription's
//! cursor, claiming due deliveries in one statement (`FOR UPDATE SKIP LOCKED`, leases on
//! the database's clock), and recording attempts under their lease.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use fleet_domain::ids::WebhookId;
use fleet_domain::ports::{BadRow, DeliveryClaim};
use fleet_domain::webhooks::{AttemptRecord, ClaimedDelivery, NewDelivery, WebhookHealth};
use uuid::Uuid;

use crate::errors::TxError;
use crate::fixed;
use crate::schema::{webhook_deliveries, webhook_subscriptions};
use crate::webhook_rows::{DeliveryRow, NewDeliveryRow, secrets, stored_count};

/// Rows per multi-row insert: 500 deliveries of 9 columns bind 4,500 parameters, far below
/// Postgres's 65,535, so one batch of the outbox is one statement.
const INSERT_CHUNK: usize = 500;

/// Claims the pending deliveries due by `$1` of enabled subscriptions not in `$2`, not held
/// by a lease still running on the database's clock, at most `$3` of one subscription and
/// `$4` in all, earliest due first, and leases them to the token `$5` for `$6`
/// microseconds; returns them with what sending them needs.
///
/// The due deliveries are ranked per subscription from the statement's snapshot (through
/// the index of pending deliveries by due time), and the first `$4` are picked; those rows
/// are then locked `SKIP LOCKED` by primary key, and the pending and lease conditions are
/// checked again on each locked row (a claim that committed meanwhile fails them). So two
/// claims never take one delivery and neither waits for the other: a claim racing another
/// for the same deliveries gets fewer, and the next takes the rest.
const CLAIM: &str = "\
WITH ranked AS (
    SELECT d.id, d.next_attempt_at, row_number() OVER (
        PARTITION BY d.webhook_id ORDER BY d.next_attempt_at, d.id) AS place
    FROM webhook_deliveries AS d
    JOIN webhook_subscriptions AS s ON s.id = d.webhook_id
    WHERE d.status = 'pending' AND d.next_attempt_at <= $1
      AND (d.lease_until IS NULL OR d.lease_until < now())
      AND s.enabled AND d.webhook_id <> ALL ($2)
), chosen AS (
    SELECT d.id AS chosen_id FROM webhook_deliveries AS d
    WHERE d.id = ANY (ARRAY(
            SELECT id FROM ranked WHERE place <= $3 ORDER BY next_attempt_at, id LIMIT $4))
      AND d.status = 'pending'
      AND (d.lease_until IS NULL OR d.lease_until < now())
    FOR UPDATE OF d SKIP LOCKED
), claimed AS (
    UPDATE webhook_deliveries AS d
    SET lease_token = $5, lease_until = now() + $6 * interval '1 microsecond'
    FROM chosen WHERE d.id = chosen.chosen_id
    RETURNING id, webhook_id, event_seq, event_type, payload, status, attempts, created_at,
        next_attempt_at, last_attempt_at, last_status, last_latency_ms, last_error,
        traceparent
)
SELECT c.*, s.url, s.secret, s.previous_secret, s.previous_secret_until, s.failing_since
FROM claimed AS c JOIN webhook_subscriptions AS s ON s.id = c.webhook_id
ORDER BY c.next_attempt_at, c.id";

/// [`CLAIM`] with its parameters, prepared once per connection: the dispatcher claims on
/// every pass.
struct Claim {
    due_by: DateTime<Utc>,
    skip: Vec<Uuid>,
    per_webhook: i64,
    limit: i64,
    token: Uuid,
    lease_micros: i64,
}

fixed::prepared_once!(Claim);

impl QueryFragment<Pg> for Claim {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        fixed::walk(CLAIM, &mut out, |n, out| match n {
            "1" => out.push_bind_param::<Timestamptz, _>(&self.due_by),
            "2" => out.push_bind_param::<Array<SqlUuid>, _>(&self.skip),
            "3" => out.push_bind_param::<BigInt, _>(&self.per_webhook),
            "4" => out.push_bind_param::<BigInt, _>(&self.limit),
            "5" => out.push_bind_param::<SqlUuid, _>(&self.token),
            "6" => out.push_bind_param::<BigInt, _>(&self.lease_micros),
            other => Err(fixed::unknown_parameter("delivery claim", other)),
        })
    }
}

/// A claimed delivery with its subscription's URL, secrets and failing time.
#[derive(QueryableByName)]
struct ClaimedRow {
    #[diesel(embed)]
    delivery: DeliveryRow,
    #[diesel(sql_type = Text)]
    url: String,
    #[diesel(sql_type = Text)]
    secret: String,
    #[diesel(sql_type = Nullable<Text>)]
    previous_secret: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    previous_secret_until: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    failing_since: Option<DateTime<Utc>>,
}

impl ClaimedRow {
    fn into_domain(self, claim: &DeliveryClaim) -> Result<ClaimedDelivery, BadRow> {
        Ok(ClaimedDelivery {
            delivery: self.delivery.into_domain()?,
            secrets: secrets(
                &self.secret,
                self.previous_secret.as_deref(),
                self.previous_secret_until,
            )?,
            url: self.url,
            failing_since: self.failing_since,
            lease: claim.token,
        })
    }
}

/// Runs [`CLAIM`].
pub(crate) async fn claim(
    conn: &mut AsyncPgConnection,
    claim: &DeliveryClaim,
) -> Result<Vec<ClaimedDelivery>, TxError> {
    let rows: Vec<ClaimedRow> = Claim {
        due_by: claim.due_by,
        skip: claim.skip.iter().map(WebhookId::as_uuid).collect(),
        per_webhook: i64::from(claim.per_webhook),
        limit: i64::from(claim.limit),
        token: claim.token.0,
        lease_micros: i64::try_from(claim.lease.as_micros()).unwrap_or(i64::MAX),
    }
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| row.into_domain(claim))
        .collect::<Result<_, _>>()?)
}

/// Moves the subscription's cursor from `from` to `to` and stores the deliveries not
/// stored yet; `false`, with nothing written, when the cursor was not at `from`. The
/// subscription's generation is left alone: the cursor has a compare-and-set of its own,
/// and an update writes it only when re-enabling, to start from the events there are then
/// (a batch taken meanwhile is taken again, its deliveries stored once). Call
/// inside a transaction: the cursor's row lock makes a racing process wait, then find the
/// cursor moved.
pub(crate) async fn enqueue(
    conn: &mut AsyncPgConnection,
    webhook: WebhookId,
    from: i64,
    to: i64,
    deliveries: &[NewDelivery],
) -> Result<bool, TxError> {
    let moved = diesel::update(webhook_subscriptions::table.find(webhook.as_uuid()))
        .filter(webhook_subscriptions::cursor.eq(from))
        .set(webhook_subscriptions::cursor.eq(to))
        .execute(conn)
        .await?;
    if moved == 0 {
        return Ok(false);
    }
    for chunk in deliveries.chunks(INSERT_CHUNK) {
        let rows: Vec<NewDeliveryRow<'_>> = chunk.iter().map(NewDeliveryRow::from_domain).collect();
        diesel::insert_into(webhook_deliveries::table)
            .values(rows)
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
    }
    Ok(true)
}

/// Writes an attempt if its lease still holds the delivery, clearing the lease, then what
/// it does to the subscription; whether the lease held. Call inside a transaction.
pub(crate) async fn record(
    conn: &mut AsyncPgConnection,
    record: &AttemptRecord,
) -> Result<bool, TxError> {
    let written = diesel::update(webhook_deliveries::table.find(record.delivery.as_uuid()))
        .filter(webhook_deliveries::webhook_id.eq(record.webhook.as_uuid()))
        .filter(webhook_deliveries::lease_token.eq(record.lease.0))
        .set((
            webhook_deliveries::status.eq(record.status.as_str()),
            webhook_deliveries::attempts.eq(stored_count(record.attempts)),
            webhook_deliveries::next_attempt_at.eq(record.next_attempt_at),
            webhook_deliveries::last_attempt_at.eq(Some(record.at)),
            webhook_deliveries::last_status.eq(record.response_status.map(i32::from)),
            webhook_deliveries::last_latency_ms.eq(Some(stored_count(record.latency_ms))),
            webhook_deliveries::last_error.eq(record.error.as_deref()),
            webhook_deliveries::lease_token.eq(None::<Uuid>),
            webhook_deliveries::lease_until.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
        .await?;
    if written == 0 {
        return Ok(false);
    }
    let webhook = webhook_subscriptions::table.find(record.webhook.as_uuid());
    let failing_since = webhook_subscriptions::failing_since;
    let generation = webhook_subscriptions::generation;
    // Every write of the subscription moves its generation on, so a client's update made
    // from an earlier read is stale rather than undoing it.
    match &record.health {
        // Only a subscription that was failing is written: a success of a healthy one,
        // the common case, leaves its row (and its lock, and its generation) alone.
        WebhookHealth::Healthy => {
            diesel::update(webhook.filter(failing_since.is_not_null()))
                .set((
                    failing_since.eq(None::<DateTime<Utc>>),
                    generation.eq(generation + 1),
                ))
                .execute(conn)
                .await?
        }
        WebhookHealth::Failing(since) => {
            diesel::update(webhook.filter(failing_since.is_null()))
                .set((
                    failing_since.eq(Some(*since)),
                    generation.eq(generation + 1),
                ))
                .execute(conn)
                .await?
        }
        WebhookHealth::Disable(reason) => {
            diesel::update(webhook)
                .set((
                    webhook_subscriptions::enabled.eq(false),
                    webhook_subscriptions::disabled_reason.eq(Some(reason.as_str())),
                    webhook_subscriptions::updated_at.eq(record.at),
                    generation.eq(generation + 1),
                ))
                .execute(conn)
                .await?
        }
    };
    Ok(true)
}
