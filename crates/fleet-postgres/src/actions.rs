//! Action records: ended and opened by the changes that `changes` writes, read one by one or
//! as a server's history.

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{Array, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use fleet_domain::action::{ActionEnd, ActionRecord};
use fleet_domain::{ActionId, PageRequest, ServerId};
use uuid::Uuid;

use crate::errors::TxError;
use crate::fixed;
use crate::mapping;
use crate::rows::ActionRow;
use crate::schema::actions;

/// Ends the running action of each server named, in one statement whatever their number. A
/// server without one (created before action records existed) is left as it is.
const END_RUNNING: &str = "\
UPDATE actions AS a SET status = e.status, finished_at = e.at, error = e.error
FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[])
    AS e(server_id, status, at, error)
WHERE a.server_id = e.server_id AND a.status = 'running'";

/// Stores action records, one array per column, in one statement whatever their number.
///
/// Public so that the benchmark's database limit of an action sends exactly this statement.
pub const INSERT: &str = "\
INSERT INTO actions (id, project_id, server_id, command, status, started_at, finished_at,
    error, request_id)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[],
    $6::timestamptz[], $7::timestamptz[], $8::text[], $9::text[])";

/// Ends the running action of each server as its change says, then stores the records the
/// changes open (in that order: a server runs one action at a time, which a unique index
/// keeps). Runs inside the caller's transaction.
pub(crate) async fn write<'a>(
    conn: &mut AsyncPgConnection,
    ended: impl Iterator<Item = (ServerId, &'a ActionEnd)>,
    opened: impl Iterator<Item = &'a ActionRecord>,
) -> Result<(), TxError> {
    let ends = EndRunning::new(ended);
    if !ends.servers.is_empty() {
        ends.execute(conn).await?;
    }
    let rows = InsertActions::new(opened);
    if !rows.ids.is_empty() {
        rows.execute(conn).await?;
    }
    Ok(())
}

/// The action with this id.
pub(crate) async fn get(
    conn: &mut AsyncPgConnection,
    id: ActionId,
) -> Result<Option<ActionRecord>, TxError> {
    let row: Option<ActionRow> = actions::table
        .find(id.as_uuid())
        .select(ActionRow::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(mapping::action).transpose()?)
}

/// A server's actions, newest first (by start, then id), after the page's cursor: the
/// cursor holds the start and the id of the last action of the previous page.
pub(crate) async fn of_server(
    conn: &mut AsyncPgConnection,
    server: ServerId,
    page: &PageRequest,
) -> Result<Vec<ActionRecord>, TxError> {
    let mut query = actions::table
        .filter(actions::server_id.eq(server.as_uuid()))
        .order((actions::started_at.desc(), actions::id.desc()))
        .limit(i64::from(page.limit))
        .offset(i64::try_from(page.offset).unwrap_or(i64::MAX))
        .select(ActionRow::as_select())
        .into_boxed();
    if let Some(cursor) = page.after {
        // A row comparison, so the (server_id, started_at DESC, id DESC) index serves it.
        query = query.filter(
            sql::<Bool>("(actions.started_at, actions.id) < (")
                .bind::<Timestamptz, _>(cursor.created_at)
                .sql(", ")
                .bind::<SqlUuid, _>(cursor.id.as_uuid())
                .sql(")"),
        );
    }
    let rows = query.load(conn).await?;
    rows.into_iter()
        .map(|row| mapping::action(row).map_err(TxError::Corrupt))
        .collect()
}

/// [`END_RUNNING`] with its parameters, one array per column, prepared once per connection.
struct EndRunning {
    servers: Vec<Uuid>,
    statuses: Vec<&'static str>,
    at: Vec<DateTime<Utc>>,
    errors: Vec<Option<String>>,
}

impl EndRunning {
    fn new<'a>(ended: impl Iterator<Item = (ServerId, &'a ActionEnd)>) -> Self {
        let mut ends = EndRunning {
            servers: Vec::new(),
            statuses: Vec::new(),
            at: Vec::new(),
            errors: Vec::new(),
        };
        for (server, end) in ended {
            ends.servers.push(server.as_uuid());
            ends.statuses.push(end.status.as_str());
            ends.at.push(end.at);
            ends.errors.push(end.error.clone());
        }
        ends
    }
}

fixed::prepared_once!(EndRunning);

impl QueryFragment<Pg> for EndRunning {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        fixed::walk(END_RUNNING, &mut out, |n, out| match n {
            "1" => out.push_bind_param::<Array<SqlUuid>, _>(&self.servers),
            "2" => out.push_bind_param::<Array<Text>, _>(&self.statuses),
            "3" => out.push_bind_param::<Array<Timestamptz>, _>(&self.at),
            "4" => out.push_bind_param::<Array<Nullable<Text>>, _>(&self.errors),
            other => Err(fixed::unknown_parameter("action end", other)),
        })
    }
}

/// [`INSERT`] with its parameters, prepared once per connection.
struct InsertActions {
    ids: Vec<Uuid>,
    projects: Vec<Uuid>,
    servers: Vec<Uuid>,
    commands: Vec<&'static str>,
    statuses: Vec<&'static str>,
    started_at: Vec<DateTime<Utc>>,
    finished_at: Vec<Option<DateTime<Utc>>>,
    errors: Vec<Option<String>>,
    request_ids: Vec<Option<String>>,
}

impl InsertActions {
    fn new<'a>(records: impl Iterator<Item = &'a ActionRecord>) -> Self {
        let mut rows = InsertActions {
            ids: Vec::new(),
            projects: Vec::new(),
            servers: Vec::new(),
            commands: Vec::new(),
            statuses: Vec::new(),
            started_at: Vec::new(),
            finished_at: Vec::new(),
            errors: Vec::new(),
            request_ids: Vec::new(),
        };
        for record in records {
            rows.ids.push(record.id.as_uuid());
            rows.projects.push(record.project.as_uuid());
            rows.servers.push(record.server_id.as_uuid());
            rows.commands.push(record.command.as_str());
            rows.statuses.push(record.status.as_str());
            rows.started_at.push(record.started_at);
            rows.finished_at.push(record.finished_at);
            rows.errors.push(record.error.clone());
            rows.request_ids.push(record.request_id.clone());
        }
        rows
    }
}

fixed::prepared_once!(InsertActions);

impl QueryFragment<Pg> for InsertActions {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        type Texts = Array<Nullable<Text>>;
        fixed::walk(INSERT, &mut out, |n, out| match n {
            "1" => out.push_bind_param::<Array<SqlUuid>, _>(&self.ids),
            "2" => out.push_bind_param::<Array<SqlUuid>, _>(&self.projects),
            "3" => out.push_bind_param::<Array<SqlUuid>, _>(&self.servers),
            "4" => out.push_bind_param::<Array<Text>, _>(&self.commands),
            "5" => out.push_bind_param::<Array<Text>, _>(&self.statuses),
            "6" => out.push_bind_param::<Array<Timestamptz>, _>(&self.started_at),
            "7" => out.push_bind_param::<Array<Nullable<Timestamptz>>, _>(&self.finished_at),
            "8" => out.push_bind_param::<Texts, _>(&self.errors),
            "9" => out.push_bind_param::<Texts, _>(&self.request_ids),
            other => Err(fixed::unknown_parameter("action insert", other)),
        })
    }
}
