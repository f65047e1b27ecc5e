//! Writing planned changes: a bounded number of statements per batch, whatever its size.
//!
//! The servers of a batch are locked (`FOR UPDATE`) by the caller in the same transaction
//! before their changes are planned or written, so the generation guard below and the
//! addresses released match what is stored.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{
    Array, BigInt, Bool, Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use fleet_domain::{Server, StateChange};
use uuid::Uuid;

use crate::errors::TxError;
use crate::rows::{FreeRow, ServerRow, server_columns};
use crate::schema::{events, fault_rules, free_addresses};
use crate::{actions, fixed, mapping, usage};

/// Rows per multi-row insert, well under Postgres's 65,535 bind parameters.
const INSERT_CHUNK: usize = 2_000;

/// Updates every server whose stored generation is still the one its change expects, in one
/// statement. It writes the name, labels, state and its reason, generation, timestamps and billing columns
/// from the changed server, and the address columns (`ip`, `ip_offset`) on every row: NULL when the
/// change releases the address, their stored value otherwise. Only the id, project, region,
/// type, price and creation time (which no change alters) are left out of the statement.
///
/// Public so that the benchmark's database limit of an action sends exactly this statement.
pub const UPDATE_SERVERS: &str = concat!(
    "\
UPDATE servers AS s SET
    name = c.name,
    labels = c.labels,
    state = c.state,
    state_reason = c.state_reason,
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
    ip_offset = CASE WHEN c.release THEN NULL ELSE s.ip_offset END,
    chaos_pending = c.chaos_pending,
    chaos_due_at = c.chaos_due_at,
    chaos_epoch = c.chaos_epoch,
    billed_stopped_seconds = c.billed_stopped_seconds,
    month_index = c.month_index,
    month_billed_micros = c.month_billed_micros
FROM unnest($1::uuid[], $2::int8[], $3::text[], $4::text[], $5::int8[], $6::timestamptz[],
            $7::timestamptz[], $8::timestamptz[], $9::timestamptz[], $10::timestamptz[],
            $11::timestamptz[], $12::int8[], $13::int8[], $14::bool[], $15::jsonb[],
            $16::text[], $17::text[], $18::timestamptz[], $19::int8[], $20::int8[],
            $21::int4[], $22::int8[])
    AS c(id, expected, name, state, generation, updated_at, started_at, stopped_at,
         terminated_at, transition_due_at, billed_until, billed_seconds,
         billed_amount_micros, release, labels, state_reason, chaos_pending, chaos_due_at,
         chaos_epoch, billed_stopped_seconds, month_index, month_billed_micros)
WHERE s.id = c.id AND s.generation = c.expected
RETURNING ",
    server_columns!("s.")
);

/// Applies each change whose server (locked, as stored) is still at the expected generation,
/// with its events (unsequenced), action records, usage and released address. Returns the
/// servers as written.
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
        .flat_map(|(_, change)| {
            change
                .events
                .iter()
                .map(|event| mapping::new_event_row(event, &change.server))
        })
        .collect();
    for chunk in event_rows.chunks(INSERT_CHUNK) {
        diesel::insert_into(events::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    actions::write(
        conn,
        applied.iter().filter_map(|(_, change)| {
            change
                .action_ended
                .as_ref()
                .map(|end| (change.server.id, end))
        }),
        applied
            .iter()
            .filter_map(|(_, change)| change.action_opened.as_ref()),
    )
    .await?;
    usage::append(conn, applied.iter().flat_map(|(_, change)| &change.usage)).await?;
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
        diesel::insert_into(free_addresses::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    count_faults(conn, applied.iter().map(|(_, change)| change)).await?;
    Ok(applied
        .iter()
        .filter_map(|(row, _)| written.remove(&row.id))
        .collect())
}

/// Counts the firings of fault rules the applied changes carry, one statement per rule.
async fn count_faults(
    conn: &mut AsyncPgConnection,
    applied: impl Iterator<Item = &StateChange>,
) -> Result<(), TxError> {
    let mut counts: HashMap<Uuid, i64> = HashMap::new();
    for rule in applied.flat_map(|change| &change.faults_fired) {
        *counts.entry(rule.as_uuid()).or_default() += 1;
    }
    for (rule, count) in counts {
        diesel::update(fault_rules::table.find(rule))
            .set(fault_rules::fired.eq(fault_rules::fired + count))
            .execute(conn)
            .await?;
    }
    Ok(())
}

async fn update_servers(
    conn: &mut AsyncPgConnection,
    batch: &[(ServerRow, StateChange)],
) -> Result<Vec<ServerRow>, TxError> {
    Ok(UpdateServers::new(batch).load::<ServerRow>(conn).await?)
}

/// [`UPDATE_SERVERS`] with its parameters, one array per column, as a query diesel prepares
/// once per connection (see [`fixed`]).
struct UpdateServers {
    ids: Vec<Uuid>,
    expected: Vec<i64>,
    names: Vec<String>,
    states: Vec<&'static str>,
    generations: Vec<i64>,
    updated_at: Vec<DateTime<Utc>>,
    started_at: Vec<Option<DateTime<Utc>>>,
    stopped_at: Vec<Option<DateTime<Utc>>>,
    terminated_at: Vec<Option<DateTime<Utc>>>,
    transition_due_at: Vec<Option<DateTime<Utc>>>,
    billed_until: Vec<Option<DateTime<Utc>>>,
    billed_seconds: Vec<i64>,
    billed_amount_micros: Vec<i64>,
    release: Vec<bool>,
    labels: Vec<serde_json::Value>,
    state_reasons: Vec<Option<&'static str>>,
    chaos_pending: Vec<Option<String>>,
    chaos_due_at: Vec<Option<DateTime<Utc>>>,
    chaos_epochs: Vec<i64>,
    billed_stopped_seconds: Vec<i64>,
    month_indexes: Vec<i32>,
    month_billed_micros: Vec<i64>,
}

impl UpdateServers {
    fn new(batch: &[(ServerRow, StateChange)]) -> Self {
        let servers = || batch.iter().map(|(_, c)| &c.server);
        let moments = |f: fn(&Server) -> Option<DateTime<Utc>>| servers().map(f).collect();
        Self {
            ids: servers().map(|s| s.id.as_uuid()).collect(),
            expected: batch.iter().map(|(_, c)| c.expected_generation).collect(),
            names: servers().map(|s| s.name.clone()).collect(),
            states: servers().map(|s| s.state.as_str()).collect(),
            generations: servers().map(|s| s.generation).collect(),
            updated_at: servers().map(|s| s.updated_at).collect(),
            started_at: moments(|s| s.started_at),
            stopped_at: moments(|s| s.stopped_at),
            terminated_at: moments(|s| s.terminated_at),
            transition_due_at: moments(|s| s.transition_due_at),
            billed_until: moments(|s| s.billed_until),
            billed_seconds: servers().map(|s| s.billed_seconds).collect(),
            billed_amount_micros: servers().map(|s| s.billed_amount.micros()).collect(),
            release: batch.iter().map(|(_, c)| c.release_address).collect(),
            labels: servers().map(|s| mapping::labels_json(&s.labels)).collect(),
            state_reasons: servers()
                .map(|s| mapping::reason_code(s.state_reason))
                .collect(),
            chaos_pending: servers()
                .map(|s| s.chaos.pending.map(|p| p.encode()))
                .collect(),
            chaos_due_at: moments(|s| s.chaos.due_at),
            chaos_epochs: servers().map(|s| s.chaos.epoch).collect(),
            billed_stopped_seconds: servers().map(|s| s.billed_stopped_seconds).collect(),
            month_indexes: servers().map(|s| s.month_to_date.month).collect(),
            month_billed_micros: servers().map(|s| s.month_to_date.amount.micros()).collect(),
        }
    }
}

fixed::prepared_once!(UpdateServers);

impl QueryFragment<Pg> for UpdateServers {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        type Moments = Array<Nullable<Timestamptz>>;
        fixed::walk(UPDATE_SERVERS, &mut out, |n, out| match n {
            "1" => out.push_bind_param::<Array<SqlUuid>, _>(&self.ids),
            "2" => out.push_bind_param::<Array<BigInt>, _>(&self.expected),
            "3" => out.push_bind_param::<Array<Text>, _>(&self.names),
            "4" => out.push_bind_param::<Array<Text>, _>(&self.states),
            "5" => out.push_bind_param::<Array<BigInt>, _>(&self.generations),
            "6" => out.push_bind_param::<Array<Timestamptz>, _>(&self.updated_at),
            "7" => out.push_bind_param::<Moments, _>(&self.started_at),
            "8" => out.push_bind_param::<Moments, _>(&self.stopped_at),
            "9" => out.push_bind_param::<Moments, _>(&self.terminated_at),
            "10" => out.push_bind_param::<Moments, _>(&self.transition_due_at),
            "11" => out.push_bind_param::<Moments, _>(&self.billed_until),
            "12" => out.push_bind_param::<Array<BigInt>, _>(&self.billed_seconds),
            "13" => out.push_bind_param::<Array<BigInt>, _>(&self.billed_amount_micros),
            "14" => out.push_bind_param::<Array<Bool>, _>(&self.release),
            "15" => out.push_bind_param::<Array<Jsonb>, _>(&self.labels),
            "16" => out.push_bind_param::<Array<Nullable<Text>>, _>(&self.state_reasons),
            "17" => out.push_bind_param::<Array<Nullable<Text>>, _>(&self.chaos_pending),
            "18" => out.push_bind_param::<Moments, _>(&self.chaos_due_at),
            "19" => out.push_bind_param::<Array<BigInt>, _>(&self.chaos_epochs),
            "20" => out.push_bind_param::<Array<BigInt>, _>(&self.billed_stopped_seconds),
            "21" => out.push_bind_param::<Array<Integer>, _>(&self.month_indexes),
            "22" => out.push_bind_param::<Array<BigInt>, _>(&self.month_billed_micros),
            other => Err(fixed::unknown_parameter("server update", other)),
        })
    }
}
