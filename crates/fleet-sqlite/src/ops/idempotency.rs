//! Idempotency keys: claimed, answered, released and pruned. Leases are measured on the
//! database's clock (`unixepoch`, the host's), as microseconds like every instant here.

use diesel::SqliteConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use fleet_domain::idempotency::{ClaimToken, Claimed, IdempotencyKey, KeyClaim, StoredResponse};
use fleet_domain::ids::ProjectId;

use crate::errors::TxError;
use crate::mapping::{headers_text, micros, project_text};
use crate::ops::DB_NOW;
use crate::rows::HeldKeyRow;
use crate::schema::idempotency_keys;

type Result<T> = std::result::Result<T, TxError>;

/// Inserts the claim, or takes over the key's record when it was made before the window
/// or is an unanswered claim of the same request whose lease ran out; returns the token
/// only when the claim took the key.
fn claim_statement() -> String {
    format!(
        "INSERT INTO idempotency_keys
             (project_id, key, fingerprint, created_at, claim_token, lease_until)
         VALUES (?, ?, ?, ?, ?, {DB_NOW} + ?)
         ON CONFLICT (project_id, key) DO UPDATE SET
             fingerprint = excluded.fingerprint,
             created_at = excluded.created_at,
             claim_token = excluded.claim_token,
             lease_until = excluded.lease_until,
             response_status = NULL,
             response_headers = NULL,
             response_body = NULL
         WHERE idempotency_keys.created_at < ?
            OR (idempotency_keys.response_status IS NULL
                AND idempotency_keys.lease_until <= {DB_NOW}
                AND idempotency_keys.fingerprint = excluded.fingerprint)
         RETURNING claim_token"
    )
}

/// Deletes the oldest keys made before `?`, at most `?` of them.
const PRUNE: &str = "\
DELETE FROM idempotency_keys WHERE (project_id, key) IN (
    SELECT project_id, key FROM idempotency_keys WHERE created_at < ?
    ORDER BY created_at LIMIT ?)";

#[derive(QueryableByName)]
struct Token {
    #[diesel(sql_type = Text)]
    claim_token: String,
}

/// Claims a key (see [`claim_statement`]); the record that holds it when the claim does
/// not. Call inside a write transaction, so the record read is the one that refused it.
pub(crate) fn claim(conn: &mut SqliteConnection, claim: &KeyClaim) -> Result<Claimed> {
    let project = project_text(claim.project);
    let token = ClaimToken::random();
    let lease = i64::try_from(claim.lease.as_micros()).unwrap_or(i64::MAX);
    let won: Option<Token> = diesel::sql_query(claim_statement())
        .bind::<Text, _>(&project)
        .bind::<Text, _>(claim.key.as_str())
        .bind::<Text, _>(claim.fingerprint.as_str())
        .bind::<BigInt, _>(micros(claim.at))
        .bind::<Text, _>(token.0.to_string())
        .bind::<BigInt, _>(lease)
        .bind::<BigInt, _>(micros(claim.forget_before))
        .get_result(conn)
        .optional()?;
    if won.is_some_and(|won| won.claim_token == token.0.to_string()) {
        return Ok(Claimed::Won(token));
    }
    let row: HeldKeyRow = idempotency_keys::table
        .find((&project, claim.key.as_str()))
        .select(HeldKeyRow::as_select())
        .get_result(conn)?;
    Ok(Claimed::Held(row.into_domain()?))
}

/// Records the answer of the unanswered claim `token`; whether it still held the key.
pub(crate) fn complete(
    conn: &mut SqliteConnection,
    project: ProjectId,
    key: &IdempotencyKey,
    token: ClaimToken,
    response: &StoredResponse,
) -> Result<bool> {
    let updated = diesel::update(idempotency_keys::table)
        .filter(idempotency_keys::project_id.eq(project_text(project)))
        .filter(idempotency_keys::key.eq(key.as_str()))
        .filter(idempotency_keys::claim_token.eq(token.0.to_string()))
        .filter(idempotency_keys::response_status.is_null())
        .set((
            idempotency_keys::response_status.eq(i64::from(response.status)),
            idempotency_keys::response_headers.eq(headers_text(&response.headers)),
            idempotency_keys::response_body.eq(&response.body),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Deletes the key if the unanswered claim `token` holds it; whether it did.
pub(crate) fn release(
    conn: &mut SqliteConnection,
    project: ProjectId,
    key: &IdempotencyKey,
    token: ClaimToken,
) -> Result<bool> {
    let deleted = diesel::delete(idempotency_keys::table)
        .filter(idempotency_keys::project_id.eq(project_text(project)))
        .filter(idempotency_keys::key.eq(key.as_str()))
        .filter(idempotency_keys::claim_token.eq(token.0.to_string()))
        .filter(idempotency_keys::response_status.is_null())
        .execute(conn)?;
    Ok(deleted == 1)
}

/// Deletes at most `limit` keys made before `before`, oldest first; how many.
pub(crate) fn prune(
    conn: &mut SqliteConnection,
    before: chrono::DateTime<chrono::Utc>,
    limit: u32,
) -> Result<u32> {
    let deleted = diesel::sql_query(PRUNE)
        .bind::<BigInt, _>(micros(before))
        .bind::<BigInt, _>(i64::from(limit))
        .execute(conn)?;
    Ok(u32::try_from(deleted).unwrap_or(u32::MAX))
}
