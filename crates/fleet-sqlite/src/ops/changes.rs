//! Creating servers and applying guarded state changes.

use diesel::SqliteConnection;
use diesel::prelude::*;
use fleet_domain::StateChange;
use fleet_domain::server::{NewServer, Server};

use crate::errors::TxError;
use crate::ops::INSERT_CHUNK;
use crate::ops::batch::{self, Written};
use crate::ops::pools;
use crate::rows::{NewEventRow, ServerRow, UsageRow};
use crate::schema::{events, servers, usage_records};

/// Allocates an address and inserts the server with its event. Call inside a write
/// transaction: a refusal leaves nothing behind only if the caller rolls back.
pub(crate) fn provision(conn: &mut SqliteConnection, new: &NewServer) -> Result<Server, TxError> {
    let mut server = new.server.clone();
    server.ip = Some(pools::allocate(conn, &server.region)?);
    diesel::insert_into(servers::table)
        .values(ServerRow::from_domain(&server))
        .execute(conn)?;
    diesel::insert_into(events::table)
        .values(NewEventRow::from_domain(&new.event))
        .execute(conn)?;
    Ok(server)
}

/// Applies each change whose server is still at its expected generation (one guarded
/// update for the whole batch, see `batch`), then appends the events and usage of those
/// applied (one multi-row insert per table and chunk) and releases their addresses. Returns
/// each change's server after it, `None` where stale. Call inside a write transaction.
pub(crate) fn apply_all(
    conn: &mut SqliteConnection,
    changes: &[StateChange],
) -> Result<Vec<Option<Server>>, TxError> {
    let written = batch::update_all(conn, changes)?;
    let mut applied = Vec::with_capacity(changes.len());
    let mut new_events = Vec::new();
    let mut new_usage = Vec::new();
    let mut released = Vec::new();
    for (change, written) in changes.iter().zip(written) {
        let Some(Written {
            row,
            released: address,
        }) = written
        else {
            applied.push(None);
            continue;
        };
        let server = row.into_domain()?;
        new_events.extend(change.events.iter().map(NewEventRow::from_domain));
        new_usage.extend(change.usage.iter().map(UsageRow::from_domain));
        released.extend(address.map(|a| (server.region.clone(), a)));
        applied.push(Some(server));
    }
    for chunk in new_events.chunks(INSERT_CHUNK) {
        diesel::insert_into(events::table)
            .values(chunk)
            .execute(conn)?;
    }
    for chunk in new_usage.chunks(INSERT_CHUNK) {
        diesel::insert_into(usage_records::table)
            .values(chunk)
            .execute(conn)?;
    }
    pools::release(conn, &released)?;
    Ok(applied)
}
