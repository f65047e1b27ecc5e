//! Action records: ended and opened by the changes `changes` applies, read one by one or as
//! a server's history.

use diesel::SqliteConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use fleet_domain::action::{ActionEnd, ActionRecord};
use fleet_domain::ids::{ActionId, ServerId};
use fleet_domain::page::PageRequest;
use serde::Serialize;

use crate::errors::TxError;
use crate::mapping::{action_text, id_text, micros};
use crate::ops::INSERT_CHUNK;
use crate::rows::ActionRow;
use crate::schema::actions;

type Result<T> = std::result::Result<T, TxError>;

/// Ends the running action of each server of the bound JSON array of [`Ended`], in one
/// statement whatever their number.
const END_RUNNING: &str = "\
UPDATE actions SET status = e.status, finished_at = e.at, error = e.error
FROM (SELECT value ->> 'server_id' AS server_id,
             value ->> 'status' AS status,
             value ->> 'at' AS at,
             value ->> 'error' AS error
      FROM json_each(?)) AS e
WHERE actions.server_id = e.server_id AND actions.status = 'running'";

/// One element of the bound JSON array: how a server's running action ends.
#[derive(Serialize)]
struct Ended {
    server_id: String,
    status: &'static str,
    at: i64,
    error: Option<String>,
}

/// Ends the running action of each server as its change says (a server without one, from
/// before action records, is left alone), then stores the records the changes open: in
/// that order, since a server runs one action at a time (a unique index keeps it). Call
/// inside the write transaction of the changes.
pub(crate) fn write<'a>(
    conn: &mut SqliteConnection,
    ended: impl Iterator<Item = (ServerId, &'a ActionEnd)>,
    opened: impl Iterator<Item = &'a ActionRecord>,
) -> Result<()> {
    let ends: Vec<Ended> = ended
        .map(|(server, end)| Ended {
            server_id: id_text(server),
            status: end.status.as_str(),
            at: micros(end.at),
            error: end.error.clone(),
        })
        .collect();
    if !ends.is_empty() {
        let batch = serde_json::to_string(&ends)
            .map_err(|e| diesel::result::Error::SerializationError(e.into()))?;
        diesel::sql_query(END_RUNNING)
            .bind::<Text, _>(&batch)
            .execute(conn)?;
    }
    let rows: Vec<ActionRow> = opened.map(ActionRow::from_domain).collect();
    for chunk in rows.chunks(INSERT_CHUNK) {
        diesel::insert_into(actions::table)
            .values(chunk)
            .execute(conn)?;
    }
    Ok(())
}

/// The action with this id.
pub(crate) fn get(conn: &mut SqliteConnection, id: ActionId) -> Result<Option<ActionRecord>> {
    let row: Option<ActionRow> = actions::table
        .find(action_text(id))
        .select(ActionRow::as_select())
        .get_result(conn)
        .optional()?;
    Ok(row.map(ActionRow::into_domain).transpose()?)
}

/// A server's actions, newest first (by start, then id), after the page's cursor: the
/// cursor holds the start and the id of the last action of the previous page.
pub(crate) fn of_server(
    conn: &mut SqliteConnection,
    server: ServerId,
    page: &PageRequest,
) -> Result<Vec<ActionRecord>> {
    let mut query = actions::table
        .filter(actions::server_id.eq(id_text(server)))
        .select(ActionRow::as_select())
        .into_boxed();
    if let Some(after) = page.after {
        let at = micros(after.created_at);
        let id = after.id.to_string();
        query = query.filter(
            actions::started_at
                .lt(at)
                .or(actions::started_at.eq(at).and(actions::id.lt(id))),
        );
    }
    query
        .order((actions::started_at.desc(), actions::id.desc()))
        .offset(i64::try_from(page.offset).unwrap_or(i64::MAX))
        .limit(i64::from(page.limit))
        .load(conn)?
        .into_iter()
        .map(|row: ActionRow| Ok(row.into_domain()?))
        .collect()
}
