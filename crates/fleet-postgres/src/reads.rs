//! Reads: one server, lists, histories, counts.

use std::ops::RangeInclusive;

use chrono::{DateTime, Utc};
use diesel::dsl::{count_star, sql};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{BigInt, Bool, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use fleet_domain::billing::LedgerEntry;
use fleet_domain::event::Event;
use fleet_domain::page::LedgerCursor;
use fleet_domain::{
    PageRequest, Server, ServerFilter, ServerId, ServerState, ServerTally, TerminatedServers,
};
use uuid::Uuid;

use crate::errors::TxError;
use crate::fixed;
use crate::mapping;
use crate::rows::{EventRow, ServerRow, UsageRow, server_columns};
use crate::schema::{events, servers, usage_records};
use crate::selector;

/// The server with this id.
pub(crate) async fn get(
    conn: &mut AsyncPgConnection,
    id: ServerId,
) -> Result<Option<Server>, TxError> {
    let row: Option<ServerRow> = ServerById(id.as_uuid()).get_result(conn).await.optional()?;
    row.map(mapping::server)
        .transpose()
        .map_err(TxError::Corrupt)
}

/// The server with the lowest id in `ids`, by the primary key.
pub(crate) async fn first_in_id_range(
    conn: &mut AsyncPgConnection,
    ids: RangeInclusive<ServerId>,
) -> Result<Option<Server>, TxError> {
    let row: Option<ServerRow> = servers::table
        .filter(servers::id.between(ids.start().as_uuid(), ids.end().as_uuid()))
        .order(servers::id)
        .select(ServerRow::as_select())
        .first(conn)
        .await
        .optional()?;
    row.map(mapping::server)
        .transpose()
        .map_err(TxError::Corrupt)
}

/// A page of servers in (created_at, id) order.
pub(crate) async fn list(
    conn: &mut AsyncPgConnection,
    filter: &ServerFilter,
    page: &PageRequest,
) -> Result<Vec<Server>, TxError> {
    let mut query = matching(filter)
        .select(ServerRow::as_select())
        .order((servers::created_at, servers::id))
        .limit(i64::from(page.limit))
        .offset(i64::try_from(page.offset).unwrap_or(i64::MAX));
    if let Some(cursor) = page.after {
        // A row comparison, so the (created_at, id) indexes serve the keyset.
        query = query.filter(
            sql::<Bool>("(servers.created_at, servers.id) > (")
                .bind::<Timestamptz, _>(cursor.created_at)
                .sql(", ")
                .bind::<SqlUuid, _>(cursor.id.as_uuid())
                .sql(")"),
        );
    }
    let rows = query.load(conn).await?;
    rows.into_iter()
        .map(mapping::server)
        .collect::<Result<_, _>>()
        .map_err(TxError::Corrupt)
}

/// How many servers match `filter`.
pub(crate) async fn count(
    conn: &mut AsyncPgConnection,
    filter: &ServerFilter,
) -> Result<u64, TxError> {
    let count: i64 = matching(filter).count().get_result(conn).await?;
    Ok(u64::try_from(count).unwrap_or_default())
}

/// How many servers match `filter` in each state and region that has any.
pub(crate) async fn tally(
    conn: &mut AsyncPgConnection,
    filter: &ServerFilter,
) -> Result<Vec<ServerTally>, TxError> {
    // Grouped over the filter as a subquery: diesel groups only a query it has not boxed,
    // and the filter is built boxed. Postgres plans the `IN` as a semi-join on the key.
    let rows: Vec<(String, String, i64)> = servers::table
        .filter(servers::id.eq_any(matching(filter).select(servers::id)))
        .group_by((servers::state, servers::region))
        .select((servers::state, servers::region, count_star()))
        .load(conn)
        .await?;
    rows.into_iter()
        .map(|(state, region, count)| {
            Ok(ServerTally {
                state: mapping::state("servers.state", &state)?,
                region,
                count: u64::try_from(count).unwrap_or_default(),
            })
        })
        .collect()
}

/// The servers matching `filter`, every key and value a bound parameter.
fn matching(filter: &ServerFilter) -> servers::BoxedQuery<'static, Pg> {
    let mut query = servers::table.into_boxed();
    if let Some(project) = filter.project {
        query = query.filter(servers::project_id.eq(project.as_uuid()));
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
    match filter.terminated {
        TerminatedServers::All => {}
        TerminatedServers::Since(instant) => {
            query = query.filter(
                servers::state
                    .ne(ServerState::Terminated.as_str())
                    .or(servers::terminated_at.ge(instant)),
            );
        }
        TerminatedServers::None => {
            query = query.filter(servers::state.ne(ServerState::Terminated.as_str()));
        }
    }
    for condition in filter.selector.iter().flat_map(selector::conditions) {
        query = query.filter(condition);
    }
    query
}

/// The newest `limit` events of a server, newest first.
pub(crate) async fn events(
    conn: &mut AsyncPgConnection,
    id: ServerId,
    limit: u32,
) -> Result<Vec<Event>, TxError> {
    let rows = events::table
        .filter(events::server_id.eq(id.as_uuid()))
        .order((events::at.desc(), events::id.desc()))
        .limit(i64::from(limit))
        .select(EventRow::as_select())
        .load(conn)
        .await?;
    rows.into_iter()
        .map(mapping::event)
        .collect::<Result<_, _>>()
        .map_err(TxError::Corrupt)
}

/// Up to `limit` of a server's usage records after `after`, oldest first.
pub(crate) async fn usage(
    conn: &mut AsyncPgConnection,
    id: ServerId,
    after: Option<LedgerCursor>,
    limit: u32,
) -> Result<Vec<LedgerEntry>, TxError> {
    let rows: Vec<(i64, UsageRow)> = usage_records::table
        .filter(usage_records::server_id.eq(id.as_uuid()))
        .filter(usage_records::id.gt(after.map_or(0, |cursor| cursor.0)))
        .order(usage_records::id)
        .limit(i64::from(limit))
        .select((usage_records::id, UsageRow::as_select()))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(position, row)| LedgerEntry {
            position,
            record: mapping::usage(row),
        })
        .collect())
}

/// How many servers are in each state that has any.
pub(crate) async fn count_by_state(
    conn: &mut AsyncPgConnection,
) -> Result<Vec<(ServerState, i64)>, TxError> {
    let rows: Vec<(String, i64)> = servers::table
        .group_by(servers::state)
        .select((servers::state, count_star()))
        .load(conn)
        .await?;
    rows.into_iter()
        .map(|(state, n)| {
            mapping::state("servers.state", &state)
                .map(|state| (state, n))
                .map_err(TxError::from)
        })
        .collect()
}

/// `SELECT <the columns of ServerRow> FROM servers WHERE id = $1` as a statement of fixed
/// text. diesel prepares it
/// once per connection as it does its built queries, but does not rebuild its text from the
/// schema on every call: for the store's most frequent read, that rebuilding cost more of
/// fleetd's CPU than mapping the row. Columns are read by name ([`ServerRow`]).
struct ServerById(Uuid);

fixed::prepared_once!(ServerById);

impl QueryFragment<Pg> for ServerById {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(concat!(
            "SELECT ",
            server_columns!(),
            " FROM servers WHERE id = "
        ));
        out.push_bind_param::<SqlUuid, _>(&self.0)
    }
}

/// Deletes up to `limit` usage records whose period ended before `ended_before`, oldest first.
pub(crate) async fn prune_usage(
    conn: &mut AsyncPgConnection,
    ended_before: DateTime<Utc>,
    limit: u32,
) -> Result<u32, TxError> {
    let deleted = diesel::sql_query(PRUNE_USAGE)
        .bind::<Timestamptz, _>(ended_before)
        .bind::<BigInt, _>(i64::from(limit))
        .execute(conn)
        .await?;
    Ok(u32::try_from(deleted).unwrap_or(u32::MAX))
}

const PRUNE_USAGE: &str = "DELETE FROM usage_records WHERE id IN (SELECT id FROM usage_records \
     WHERE period_end < $1 ORDER BY period_end LIMIT $2)";
