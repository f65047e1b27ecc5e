//! Writing planned changes: a bounded number of statements per batch, whatever its size.
//!
//! The servers of a batch are locked (`FOR UPDATE`) by the caller in the same transaction
//! before their changes are planned or written, so the generation guard below and the
//! addresses released match what is stored.

use std::collections::HashMap;

use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use fleet_domain::StateChange;
use uuid::Uuid;

use crate::errors::TxError;
use crate::mapping;
use crate::rows::{FreeRow, ServerRow};
use crate::schema::{events, ip_free, usage_records};

/// Rows per multi-row insert, well under Postgres's 65,535 bind parameters.
const INSERT_CHUNK: usize = 2_000;

/// Updates every server whose stored generation is still the one its change expects, in one
/// statement. It writes the name, state, generation, timestamps and billing columns from the
/// changed server, and the address columns (`ip`, `ip_offset`) on every row: NULL when the
/// change releases the address, their stored value otherwise. Only the id, region, type,
/// price and creation time (which no change alters) are left out of the statement.
const UPDATE_SERVERS: &str = "\
UPDATE servers AS s SET
    name = c.name,
    state = c.state,
    generation = c.generation,
    updated_at = c.updated_at,
    started_at = c.started_at,
    stopped_at = c.stopped_at,
    terminated_at = c.terminated_at,
    transition_due_at = c.transition_due_at,
    billed_until = c.billed_until,
    billed_seconds = c.billed_seconds,
    billed_amount_micros = c.billed_amount_micros,
    ip = CASE WHEN c.release THEN NULL ELSE s.ip END,
    ip_offset = CASE WHEN c.release THEN NULL ELSE s.ip_offset END
FROM unnest($1::uuid[], $2::int8[], $3::text[], $4::text[], $5::int8[], $6::timestamptz[],
            $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[],
            $11::timestamptz[], $12::int8[], $13::int8[], $14::bool[])
    AS c(id, expected, name, state, generation, updated_at, started_at, stopped_at,
         terminated_at, transition_due_at, billed_until, billed_seconds,
         billed_amount_micros, release)
WHERE s.id = c.id AND s.generation = c.expected
RETURNING s.*";

/// Applies each change whose server (locked, as stored) is still at the expected generation,
/// with its events, usage and released address. Returns the servers as written.
pub(crate) async fn write(
    conn: &mut AsyncPgConnection,
    batch: Vec<(ServerRow, StateChange)>,
) -> Result<Vec<ServerRow>, TxError> {
    let batch: Vec<(ServerRow, StateChange)> = batch
        .into_iter()
        .filter(|(row, change)| {
            row.id == change.server.id.as_uuid() && row.generation == change.expected_generation
        })
        .collect();
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let mut written: HashMap<Uuid, ServerRow> = update_servers(conn, &batch)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect();
    let applied: Vec<&(ServerRow, StateChange)> = batch
        .iter()
        .filter(|(row, _)| written.contains_key(&row.id))
        .collect();

    let event_rows: Vec<_> = applied
        .iter()
        .flat_map(|(_, change)| change.events.iter().map(mapping::new_event_row))
        .collect();
    for chunk in event_rows.chunks(INSERT_CHUNK) {
        diesel::insert_into(events::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    let usage_rows: Vec<_> = applied
        .iter()
        .flat_map(|(_, change)| change.usage.iter().map(mapping::new_usage_row))
        .collect();
    for chunk in usage_rows.chunks(INSERT_CHUNK) {
        diesel::insert_into(usage_records::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    let freed: Vec<FreeRow> = applied
        .iter()
        .filter(|(_, change)| change.release_address)
        .filter_map(|(row, _)| {
            row.ip_offset.map(|ip_offset| FreeRow {
                region: row.region.clone(),
                ip_offset,
            })
        })
        .collect();
    for chunk in freed.chunks(INSERT_CHUNK) {
        diesel::insert_into(ip_free::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    Ok(applied
        .iter()
        .filter_map(|(row, _)| written.remove(&row.id))
        .collect())
}

async fn update_servers(
    conn: &mut AsyncPgConnection,
    batch: &[(ServerRow, StateChange)],
) -> Result<Vec<ServerRow>, TxError> {
    let servers = batch.iter().map(|(_, c)| &c.server);
    let column = |f: fn(&fleet_domain::Server) -> Option<chrono::DateTime<chrono::Utc>>| {
        servers.clone().map(f).collect::<Vec<_>>()
    };
    Ok(diesel::sql_query(UPDATE_SERVERS)
        .bind::<Array<SqlUuid>, _>(servers.clone().map(|s| s.id.as_uuid()).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(
            batch
                .iter()
                .map(|(_, c)| c.expected_generation)
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Text>, _>(servers.clone().map(|s| s.name.clone()).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(
            servers
                .clone()
                .map(|s| s.state.as_str())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<BigInt>, _>(servers.clone().map(|s| s.generation).collect::<Vec<_>>())
        .bind::<Array<Timestamptz>, _>(servers.clone().map(|s| s.updated_at).collect::<Vec<_>>())
        .bind::<Array<Nullable<Timestamptz>>, _>(column(|s| s.started_at))
        .bind::<Array<Nullable<Timestamptz>>, _>(column(|s| s.stopped_at))
        .bind::<Array<Nullable<Timestamptz>>, _>(column(|s| s.terminated_at))
        .bind::<Array<Nullable<Timestamptz>>, _>(column(|s| s.transition_due_at))
        .bind::<Array<Nullable<Timestamptz>>, _>(column(|s| s.billed_until))
        .bind::<Array<BigInt>, _>(
            servers
                .clone()
                .map(|s| s.billed_seconds)
                .collect::<Vec<_>>(),
        )
        .bind::<Array<BigInt>, _>(
            servers
                .clone()
                .map(|s| s.billed_amount.micros())
                .collect::<Vec<_>>(),
        )
        .bind::<Array<Bool>, _>(
            batch
                .iter()
                .map(|(_, c)| c.release_address)
                .collect::<Vec<_>>(),
        )
        .load::<ServerRow>(conn)
        .await?)
}
