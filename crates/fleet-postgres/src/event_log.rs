//! The global event sequence as readers see it: events after a cursor, the horizon, and
//! pruning. Numbers are given by the `sequencer`.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use fleet_domain::event::{Event, EventHorizon, EventQuery, EventType};

use crate::errors::TxError;
use crate::mapping;
use crate::rows::EventRow;
use crate::schema::{event_sequence, events};
use crate::selector;

/// Deletes the oldest prunable events (sequenced, recorded before `$1`, not among the newest
/// `$2` of their server as the server's history orders them (an event about a budget has
/// no server to keep it), not after the cursor of an
/// enabled webhook subscription, which has yet to take them) up to `$3` of them, and moves
/// `pruned_through` past the highest number deleted, in one statement.
const PRUNE: &str = "\
WITH doomed AS (
    SELECT e.id FROM events AS e
    WHERE e.seq IS NOT NULL AND e.at < $1
      AND e.seq <= (SELECT coalesce(min(cursor), 9223372036854775807)
                    FROM webhook_subscriptions WHERE enabled)
      AND (e.server_id IS NULL OR (e.at, e.id) <= (
          SELECT k.at, k.id FROM events AS k WHERE k.server_id = e.server_id
          ORDER BY k.at DESC, k.id DESC OFFSET $2 LIMIT 1))
    ORDER BY e.seq
    LIMIT $3
), deleted AS (
    DELETE FROM events WHERE id IN (SELECT id FROM doomed) RETURNING seq
), moved AS (
    UPDATE event_sequence SET pruned_through = greatest(pruned_through, (SELECT max(seq) FROM deleted))
    WHERE EXISTS (SELECT FROM deleted)
)
SELECT count(*) AS n FROM deleted";

/// Sequenced events matching `query` after its cursor, oldest first (walking the sequence
/// from the cursor and filtering each event on the way: type and labels by no index of
/// their own), and the horizon read after them: when it says events after the cursor were pruned, the caller must not trust
/// the events (a prune may have run before they were read).
pub(crate) async fn after(
    conn: &mut AsyncPgConnection,
    query: &EventQuery,
) -> Result<(Vec<Event>, EventHorizon), TxError> {
    let mut select = events::table
        .filter(events::seq.gt(query.after))
        .order(events::seq.asc())
        .limit(i64::from(query.limit))
        .select(EventRow::as_select())
        .into_boxed();
    if let Some(project) = query.project {
        select = select.filter(events::project_id.eq(project.as_uuid()));
    }
    if let Some(server) = query.server {
        select = select.filter(events::server_id.eq(server.as_uuid()));
    }
    if !query.types.is_empty() {
        let types: Vec<&str> = query.types.iter().map(|t| EventType::as_str(*t)).collect();
        select = select.filter(events::event_type.eq_any(types));
    }
    for condition in query.selector.iter().flat_map(selector::conditions) {
        select = select.filter(condition);
    }
    let rows = select.load(conn).await?;
    let events = rows
        .into_iter()
        .map(mapping::event)
        .collect::<Result<_, _>>()
        .map_err(TxError::Corrupt)?;
    Ok((events, horizon(conn).await?))
}

/// How far the sequence goes.
pub(crate) async fn horizon(conn: &mut AsyncPgConnection) -> Result<EventHorizon, TxError> {
    let (latest, pruned_through) = event_sequence::table
        .select((event_sequence::latest, event_sequence::pruned_through))
        .first::<(i64, i64)>(conn)
        .await?;
    Ok(EventHorizon {
        latest,
        pruned_through,
    })
}

#[derive(QueryableByName)]
struct Deleted {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Runs one batch of [`PRUNE`]; returns how many events it deleted.
pub(crate) async fn prune(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
    keep_per_server: u32,
    limit: u32,
) -> Result<u32, TxError> {
    let deleted: Deleted = diesel::sql_query(PRUNE)
        .bind::<Timestamptz, _>(before)
        .bind::<BigInt, _>(i64::from(keep_per_server))
        .bind::<BigInt, _>(i64::from(limit))
        .get_result(conn)
        .await?;
    Ok(u32::try_from(deleted.n).unwrap_or(u32::MAX))
}
