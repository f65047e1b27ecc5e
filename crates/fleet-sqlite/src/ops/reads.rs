//! Reads: single statements outside any transaction (WAL gives each a consistent snapshot).

use std::ops::RangeInclusive;

use chrono::{DateTime, Utc};
use diesel::SqliteConnection;
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use fleet_domain::billing::LedgerEntry;
use fleet_domain::event::Event;
use fleet_domain::ids::ServerId;
use fleet_domain::page::LedgerCursor;
use fleet_domain::ports::BadRow;
use fleet_domain::server::Server;
use fleet_domain::state::ServerState;

use crate::errors::TxError;
use crate::mapping::{id_text, micros};
use crate::rows::{EventRow, ServerRow, UsageRow};
use crate::schema::{events, servers, usage_records};

type Result<T> = std::result::Result<T, TxError>;

/// The server with this id.
pub(crate) fn get(conn: &mut SqliteConnection, id: ServerId) -> Result<Option<Server>> {
    let row: Option<ServerRow> = servers::table
        .find(id_text(id))
        .select(ServerRow::as_select())
        .get_result(conn)
        .optional()?;
    Ok(row.map(ServerRow::into_domain).transpose()?)
}

/// The server with the lowest id in `ids`, by the primary key (ids are stored as
/// lower-case hyphenated text, whose order is the UUIDs').
pub(crate) fn first_in_id_range(
    conn: &mut SqliteConnection,
    ids: RangeInclusive<ServerId>,
) -> Result<Option<Server>> {
    let row: Option<ServerRow> = servers::table
        .filter(servers::id.between(id_text(*ids.start()), id_text(*ids.end())))
        .order(servers::id)
        .select(ServerRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(ServerRow::into_domain).transpose()?)
}

/// Whether a server with this id is stored.
pub(crate) fn exists(conn: &mut SqliteConnection, id: ServerId) -> Result<bool> {
    Ok(diesel::select(diesel::dsl::exists(servers::table.find(id_text(id)))).get_result(conn)?)
}

/// The newest `limit` events of a server, newest first.
pub(crate) fn events(conn: &mut SqliteConnection, id: ServerId, limit: u32) -> Result<Vec<Event>> {
    events::table
        .filter(events::server_id.eq(id_text(id)))
        .order(events::id.desc())
        .limit(i64::from(limit))
        .select(EventRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|row: EventRow| Ok(row.into_domain()?))
        .collect()
}

/// A server's usage records, oldest first.
pub(crate) fn usage(
    conn: &mut SqliteConnection,
    id: ServerId,
    after: Option<LedgerCursor>,
    limit: u32,
) -> Result<Vec<LedgerEntry>> {
    usage_records::table
        .filter(usage_records::server_id.eq(id_text(id)))
        .filter(usage_records::id.gt(after.map_or(0, |cursor| cursor.0)))
        .order(usage_records::id.asc())
        .limit(i64::from(limit))
        .select((usage_records::id, UsageRow::as_select()))
        .load(conn)?
        .into_iter()
        .map(|(position, row): (i64, UsageRow)| {
            Ok(LedgerEntry {
                position,
                record: row.into_domain()?,
            })
        })
        .collect()
}

/// How many servers are in each state that has any.
pub(crate) fn count_by_state(conn: &mut SqliteConnection) -> Result<Vec<(ServerState, i64)>> {
    servers::table
        .group_by(servers::state)
        .select((servers::state, count_star()))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .map(|(state, count)| {
            let state = state.parse().map_err(|_| BadRow::new("state", &state))?;
            Ok((state, count))
        })
        .collect()
}

/// Deletes up to `limit` usage records whose period ended before `ended_before`, oldest first.
pub(crate) fn prune_usage(
    conn: &mut SqliteConnection,
    ended_before: DateTime<Utc>,
    limit: u32,
) -> Result<u32> {
    let deleted = diesel::sql_query(PRUNE_USAGE)
        .bind::<BigInt, _>(micros(ended_before))
        .bind::<BigInt, _>(i64::from(limit))
        .execute(conn)?;
    Ok(u32::try_from(deleted).unwrap_or(u32::MAX))
}

const PRUNE_USAGE: &str = "DELETE FROM usage_records WHERE id IN (SELECT id FROM usage_records \
     WHERE period_end < ?1 ORDER BY period_end LIMIT ?2)";
