//! The global event sequence: numbers taken in the write transaction that appends the
//! events, events after a cursor, the horizon, and pruning.
//!
//! Every write is a `BEGIN IMMEDIATE` transaction, so one runs at a time, in this process or
//! any other sharing the file: the numbers a transaction takes become visible together, at
//! its commit, after those of every transaction before it. A reader never sees a gap that
//! fills later.

use diesel::SqliteConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use fleet_domain::event::{Event, EventHorizon, EventQuery, EventType};

use crate::errors::TxError;
use crate::mapping::{id_text, micros, project_text};
use crate::ops::event_selector;
use crate::rows::EventRow;
use crate::schema::{event_sequence, events};

type Result<T> = std::result::Result<T, TxError>;

/// Deletes the oldest prunable events (recorded before `?1`, not among the newest `?2` of
/// their server as its history orders them, by id (an event about a budget has no server
/// to keep it), not after the cursor of an enabled
/// webhook subscription, which has yet to take them) up to `?3` of them, returning their
/// numbers.
const PRUNE: &str = "\
WITH doomed AS (
    SELECT e.id FROM events AS e
    WHERE e.at < ?1
      AND e.seq <= (SELECT coalesce(min(cursor), 9223372036854775807)
                    FROM webhook_subscriptions WHERE enabled = 1)
      AND (e.server_id IS NULL OR e.id <= (SELECT k.id FROM events AS k
                   WHERE k.server_id = e.server_id ORDER BY k.id DESC LIMIT 1 OFFSET ?2))
    ORDER BY e.seq
    LIMIT ?3
)
DELETE FROM events WHERE id IN (SELECT id FROM doomed) RETURNING seq";

/// Takes `count` numbers for events about to be appended; the first of them. Call inside
/// the write transaction that appends them.
pub(crate) fn take(conn: &mut SqliteConnection, count: usize) -> Result<i64> {
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    let latest: i64 = diesel::update(event_sequence::table)
        .set(event_sequence::latest.eq(event_sequence::latest + count))
        .returning(event_sequence::latest)
        .get_result(conn)?;
    Ok(latest - count + 1)
}

/// Events matching `query` after its cursor, oldest first (walking the sequence from the
/// cursor and testing each event on the way: type and labels have no index of their own),
/// and the horizon read after them:
/// when it says events after the cursor were pruned, the caller must not trust the events.
pub(crate) fn after(
    conn: &mut SqliteConnection,
    query: &EventQuery,
) -> Result<(Vec<Event>, EventHorizon)> {
    let mut select = events::table
        .filter(events::seq.gt(query.after))
        .order(events::seq.asc())
        .limit(i64::from(query.limit))
        .select(EventRow::as_select())
        .into_boxed();
    if let Some(project) = query.project {
        select = select.filter(events::project_id.eq(project_text(project)));
    }
    if let Some(server) = query.server {
        select = select.filter(events::server_id.eq(id_text(server)));
    }
    if !query.types.is_empty() {
        let types: Vec<&str> = query.types.iter().map(|t| EventType::as_str(*t)).collect();
        select = select.filter(events::event_type.eq_any(types));
    }
    for requirement in query.selector.iter().flat_map(|s| s.requirements()) {
        select = select.filter(event_selector::condition(requirement));
    }
    let events = select
        .load(conn)?
        .into_iter()
        .map(|row: EventRow| Ok(row.into_domain()?))
        .collect::<Result<_>>()?;
    Ok((events, horizon(conn)?))
}

/// How far the sequence goes.
pub(crate) fn horizon(conn: &mut SqliteConnection) -> Result<EventHorizon> {
    let (latest, pruned_through) = event_sequence::table
        .select((event_sequence::latest, event_sequence::pruned_through))
        .first::<(i64, i64)>(conn)?;
    Ok(EventHorizon {
        latest,
        pruned_through,
    })
}

#[derive(QueryableByName)]
struct Deleted {
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

/// Runs one batch of [`PRUNE`] and moves `pruned_through` past the numbers it deleted;
/// returns how many. Call inside a write transaction.
pub(crate) fn prune(
    conn: &mut SqliteConnection,
    before: chrono::DateTime<chrono::Utc>,
    keep_per_server: u32,
    limit: u32,
) -> Result<u32> {
    let deleted: Vec<Deleted> = diesel::sql_query(PRUNE)
        .bind::<BigInt, _>(micros(before))
        .bind::<BigInt, _>(i64::from(keep_per_server))
        .bind::<BigInt, _>(i64::from(limit))
        .load(conn)?;
    if let Some(highest) = deleted.iter().map(|d| d.seq).max() {
        diesel::update(event_sequence::table)
            .filter(event_sequence::pruned_through.lt(highest))
            .set(event_sequence::pruned_through.eq(highest))
            .execute(conn)?;
    }
    Ok(u32::try_from(deleted.len()).unwrap_or(u32::MAX))
}
