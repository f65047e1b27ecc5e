//! Idempotency keys: claimed, answered, released and pruned, each in one statement that
//! commits on its own. Leases are measured on the database's clock (`clock_timestamp()`), so
//! every process sharing the database agrees on them whatever its own clock says.

use anyhow::anyhow;
use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use fleet_domain::error::StoreError;
use fleet_domain::idempotency::{ClaimToken, Claimed, IdempotencyKey, KeyClaim, StoredResponse};
use fleet_domain::ids::ProjectId;
use uuid::Uuid;

use crate::errors::TxError;
use crate::mapping;
use crate::rows::HeldKeyRow;
use crate::schema::idempotency_keys;

/// Inserts the claim, or takes over the key's record when it was made before the window
/// (`$7`) or is an unanswered claim of the same request whose lease ran out; returns the
/// token only when the claim took the key. Of two concurrent claims the second waits for
/// the first's row, then finds it held.
const CLAIM: &str = "\
INSERT INTO idempotency_keys AS k
    (project_id, key, fingerprint, created_at, claim_token, lease_until)
VALUES ($1, $2, $3, $4, $5, clock_timestamp() + $6 * interval '1 microsecond')
ON CONFLICT (project_id, key) DO UPDATE SET
    fingerprint = excluded.fingerprint,
    created_at = excluded.created_at,
    claim_token = excluded.claim_token,
    lease_until = excluded.lease_until,
    response_status = NULL,
    response_headers = NULL,
    response_body = NULL
WHERE k.created_at < $7
   OR (k.response_status IS NULL
       AND k.lease_until <= clock_timestamp()
       AND k.fingerprint = excluded.fingerprint)
RETURNING k.claim_token";

/// Deletes the oldest keys made before `$1`, at most `$2` of them.
const PRUNE: &str = "\
DELETE FROM idempotency_keys WHERE (project_id, key) IN (
    SELECT project_id, key FROM idempotency_keys WHERE created_at < $1
    ORDER BY created_at LIMIT $2)";

/// How many times a claim is tried when the record that refused it is gone before it is
/// read (released or pruned in between): each try either claims or reads a record.
const CLAIM_ATTEMPTS: usize = 3;

#[derive(QueryableByName)]
struct Token {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    claim_token: Uuid,
}

/// Claims a key (see [`CLAIM`]); the record that holds it when the claim does not.
pub(crate) async fn claim(
    conn: &mut AsyncPgConnection,
    claim: &KeyClaim,
) -> Result<Claimed, TxError> {
    let lease = i64::try_from(claim.lease.as_micros()).unwrap_or(i64::MAX);
    for _ in 0..CLAIM_ATTEMPTS {
        let token = ClaimToken::random();
        let won: Option<Token> = diesel::sql_query(CLAIM)
            .bind::<diesel::sql_types::Uuid, _>(claim.project.as_uuid())
            .bind::<Text, _>(claim.key.as_str())
            .bind::<Text, _>(claim.fingerprint.as_str())
            .bind::<Timestamptz, _>(claim.at)
            .bind::<diesel::sql_types::Uuid, _>(token.0)
            .bind::<BigInt, _>(lease)
            .bind::<Timestamptz, _>(claim.forget_before)
            .get_result(conn)
            .await
            .optional()?;
        if won.is_some_and(|won| won.claim_token == token.0) {
            return Ok(Claimed::Won(token));
        }
        let held: Option<HeldKeyRow> = idempotency_keys::table
            .find((claim.project.as_uuid(), claim.key.as_str()))
            .select(HeldKeyRow::as_select())
            .first(conn)
            .await
            .optional()?;
        if let Some(held) = held {
            return Ok(Claimed::Held(mapping::held_key(held)?));
        }
    }
    Err(TxError::Store(StoreError::Contended(anyhow!(
        "idempotency key '{}' was claimed and given back {CLAIM_ATTEMPTS} times while \
         claiming it",
        claim.key.as_str()
    ))))
}

/// Records the answer of the unanswered claim `token`; whether it still held the key.
pub(crate) async fn complete(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    key: &IdempotencyKey,
    token: ClaimToken,
    response: &StoredResponse,
) -> Result<bool, TxError> {
    let headers: serde_json::Map<String, serde_json::Value> = response
        .headers
        .iter()
        .map(|(name, value)| (name.to_owned(), value.as_str().into()))
        .collect();
    let updated = diesel::update(idempotency_keys::table)
        .filter(idempotency_keys::project_id.eq(project.as_uuid()))
        .filter(idempotency_keys::key.eq(key.as_str()))
        .filter(idempotency_keys::claim_token.eq(token.0))
        .filter(idempotency_keys::response_status.is_null())
        .set((
            idempotency_keys::response_status.eq(i32::from(response.status)),
            idempotency_keys::response_headers.eq(serde_json::Value::Object(headers)),
            idempotency_keys::response_body.eq(&response.body),
        ))
        .execute(conn)
        .await?;
    Ok(updated == 1)
}

/// Deletes the key if the unanswered claim `token` holds it; whether it did.
pub(crate) async fn release(
    conn: &mut AsyncPgConnection,
    project: ProjectId,
    key: &IdempotencyKey,
    token: ClaimToken,
) -> Result<bool, TxError> {
    let deleted = diesel::delete(idempotency_keys::table)
        .filter(idempotency_keys::project_id.eq(project.as_uuid()))
        .filter(idempotency_keys::key.eq(key.as_str()))
        .filter(idempotency_keys::claim_token.eq(token.0))
        .filter(idempotency_keys::response_status.is_null())
        .execute(conn)
        .await?;
    Ok(deleted == 1)
}

/// Deletes at most `limit` keys made before `before`, oldest first; how many.
pub(crate) async fn prune(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
    limit: u32,
) -> Result<u32, TxError> {
    let deleted = diesel::sql_query(PRUNE)
        .bind::<Timestamptz, _>(before)
        .bind::<BigInt, _>(i64::from(limit))
        .execute(conn)
        .await?;
    Ok(u32::try_from(deleted).unwrap_or(u32::MAX))
}
