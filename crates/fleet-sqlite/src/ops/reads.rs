//! Reads: single statements outside any transaction (WAL gives each a consistent snapshot).

use diesel::SqliteConnection;
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::sqlite::Sqlite;
use fleet_domain::billing::UsageRecord;
use fleet_domain::event::Event;
use fleet_domain::ids::ServerId;
use fleet_domain::page::PageRequest;
use fleet_domain::ports::BadRow;
use fleet_domain::server::{Server, ServerFilter};
use fleet_domain::state::ServerState;

use crate::errors::TxError;
use crate::mapping::{id_text, micros, project_text};
use crate::ops::selector;
use crate::rows::{EventRow, ServerRow, UsageRow};
use crate::schema::{events, servers, usage_records};

type Result<T> = std::result::Result<T, TxError>;

/// The server with this id.
pub(crate) fn get(conn: &mut SqliteConnection, id: ServerId) -> Result<Option<Server>> {
    let row: Option<ServerRow> = servers::table
        .find(id_text(id))
        .select(ServerRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(ServerRow::into_domain).transpose()?)
}

/// Whether a server with this id is stored.
pub(crate) fn exists(conn: &mut SqliteConnection, id: ServerId) -> Result<bool> {
    Ok(diesel::select(diesel::dsl::exists(servers::table.find(id_text(id)))).get_result(conn)?)
}

/// A page of servers matching `filter` in (created_at, id) order.
pub(crate) fn list(
    conn: &mut SqliteConnection,
    filter: &ServerFilter,
    page: &PageRequest,
) -> Result<Vec<Server>> {
    let mut query = matching(filter).select(ServerRow::as_select());
    if let Some(after) = page.after {
        let at = micros(after.created_at);
        query = query.filter(
            servers::created_at.gt(at).or(servers::created_at
                .eq(at)
                .and(servers::id.gt(id_text(after.id)))),
        );
    }
    query
        .order((servers::created_at.asc(), servers::id.asc()))
        .offset(i64::try_from(page.offset).unwrap_or(i64::MAX))
        .limit(i64::from(page.limit))
        .load(conn)?
        .into_iter()
        .map(|row: ServerRow| Ok(row.into_domain()?))
        .collect()
}

/// How many servers match `filter`.
pub(crate) fn count(conn: &mut SqliteConnection, filter: &ServerFilter) -> Result<u64> {
    let count: i64 = matching(filter).count().get_result(conn)?;
    Ok(u64::try_from(count).unwrap_or_default())
}

/// The servers matching `filter`, every key and value a bound parameter.
fn matching(filter: &ServerFilter) -> servers::BoxedQuery<'static, Sqlite> {
    let mut query = servers::table.into_boxed();
    if let Some(project) = filter.project {
        query = query.filter(servers::project_id.eq(project_text(project)));
    }
    if let Some(region) = &filter.region {
        query = query.filter(servers::region.eq(region.clone()));
    }
    if let Some(server_type) = &filter.server_type {
        query = query.filter(servers::server_type.eq(server_type.clone()));
    }
    if let Some(state) = filter.state {
        query = query.filter(servers::state.eq(state.as_str()));
    }
    if filter.live_only {
        query = query.filter(servers::state.ne(ServerState::Terminated.as_str()));
    }
    for requirement in filter.selector.iter().flat_map(|s| s.requirements()) {
        query = query.filter(selector::condition(requirement));
    }
    query
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
pub(crate) fn usage(conn: &mut SqliteConnection, id: ServerId) -> Result<Vec<UsageRecord>> {
    usage_records::table
        .filter(usage_records::server_id.eq(id_text(id)))
        .order(usage_records::id.asc())
        .select(UsageRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|row: UsageRow| Ok(row.into_domain()?))
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
