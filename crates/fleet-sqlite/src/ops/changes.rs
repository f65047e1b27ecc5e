//! Creating servers and applying guarded state changes.

use diesel::SqliteConnection;
use diesel::prelude::*;
use fleet_domain::StateChange;
use fleet_domain::server::{NewServer, Server};

use crate::mapping::{id_text, ip};
use crate::ops::pools::{self, PoolRefusal};
use crate::ops::{INSERT_CHUNK, Refused};
use crate::rows::{NewEventRow, ServerRow, ServerUpdate, UsageRow};
use crate::schema::{events, servers, usage_records};

/// Allocates an address and inserts the server with its event. Call inside a write
/// transaction: a refusal leaves nothing behind only if the caller rolls back.
pub(crate) fn provision(
    conn: &mut SqliteConnection,
    new: &NewServer,
) -> Result<Server, Refused<PoolRefusal>> {
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

/// Applies each change whose server is still at its expected generation, appending the
/// events and usage of those applied (one multi-row insert per table and chunk) and
/// releasing their addresses. Returns each change's server after it, `None` where stale.
/// Call inside a write transaction.
pub(crate) fn apply_all(
    conn: &mut SqliteConnection,
    changes: &[StateChange],
) -> Result<Vec<Option<Server>>, diesel::result::Error> {
    let mut applied = Vec::with_capacity(changes.len());
    let mut new_events = Vec::new();
    let mut new_usage = Vec::new();
    let mut released = Vec::new();
    for change in changes {
        let Some((server, address)) = update(conn, change)? else {
            applied.push(None);
            continue;
        };
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

/// The guarded `UPDATE ... WHERE id = ? AND generation = ?`: the server after it and the
/// address it gave up, or `None` if the server has moved on (nothing written).
fn update(
    conn: &mut SqliteConnection,
    change: &StateChange,
) -> Result<Option<(Server, Option<std::net::Ipv4Addr>)>, diesel::result::Error> {
    let target = || {
        servers::table
            .filter(servers::id.eq(id_text(change.server.id)))
            .filter(servers::generation.eq(change.expected_generation))
    };
    let set = ServerUpdate::from_change(change);
    let (row, address) = if change.release_address {
        let held: Option<Option<String>> = target().select(servers::ip).first(conn).optional()?;
        let Some(held) = held else {
            return Ok(None);
        };
        let row = diesel::update(target())
            .set((&set, servers::ip.eq(None::<String>)))
            .returning(ServerRow::as_returning())
            .get_result(conn)
            .optional()?;
        (row, held.as_deref().map(ip).transpose()?)
    } else {
        let row = diesel::update(target())
            .set(&set)
            .returning(ServerRow::as_returning())
            .get_result(conn)
            .optional()?;
        (row, None)
    };
    Ok(match row {
        Some(row) => Some((row.into_domain()?, address)),
        None => None,
    })
}
