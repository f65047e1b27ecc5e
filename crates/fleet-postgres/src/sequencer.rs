//! Numbering committed events: one pass of the sequencer.
//!
//! Writers insert events with `seq` NULL, so a number is never taken by a transaction that
//! has not committed. A pass, in one short transaction:
//!
//! 1. locks the one row of `event_sequence` (`SELECT … FOR UPDATE`), waiting for a pass
//!    running elsewhere (another fleetd) to commit;
//! 2. in a *new* statement, so with a snapshot taken after the lock was granted, numbers the
//!    committed unsequenced events oldest id first from `latest + 1`, and moves `latest`;
//! 3. notifies the new horizon on [`HORIZON_CHANNEL`] (delivered at commit).
//!
//! Why a reader following `seq > cursor` never skips an event: a pass's numbers are all above
//! every earlier pass's, and a pass commits only after every earlier pass has (it waited for
//! the row lock, which Postgres releases only once the holder's commit is visible to new
//! snapshots). So a snapshot that shows a number N shows every number below N it will ever
//! show; an event whose transaction commits late simply gets a number in a later pass.

use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::errors::TxError;
use crate::fixed;
use crate::schema::{event_sequence, events};

/// The channel a pass notifies with the new `latest` as its payload.
pub(crate) const HORIZON_CHANNEL: &str = "fleet_event_horizon";

/// The most events one pass numbers; a longer backlog takes several passes.
pub(crate) const PASS_SIZE: i64 = 5_000;

/// Numbers up to `$2` committed unsequenced events, oldest id first, from `$1 + 1`, and
/// moves `latest` to the highest number given. Returns nothing when there was nothing to
/// number. Run only by a transaction holding the lock on `event_sequence`'s row, whose
/// `latest` is `$1`.
const NUMBER: &str = "\
WITH batch AS (
    SELECT id, $1::bigint + row_number() OVER (ORDER BY id) AS seq
    FROM events WHERE seq IS NULL ORDER BY id LIMIT $2
), numbered AS (
    UPDATE events AS e SET seq = b.seq FROM batch AS b WHERE e.id = b.id RETURNING e.seq
)
UPDATE event_sequence SET latest = n.top
FROM (SELECT max(seq) AS top FROM numbered) AS n
WHERE n.top IS NOT NULL
RETURNING latest";

/// What a pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pass {
    /// Nothing was waiting to be numbered.
    Idle,
    /// Events were numbered up to `latest`; `more` when the pass was full and more may wait.
    Numbered { latest: i64, more: bool },
}

/// Runs one pass on `conn`.
pub(crate) async fn pass(conn: &mut AsyncPgConnection) -> Result<Pass, TxError> {
    let waiting: bool = diesel::select(diesel::dsl::exists(
        events::table.filter(events::seq.is_null()),
    ))
    .get_result(conn)
    .await?;
    if !waiting {
        return Ok(Pass::Idle);
    }
    conn.transaction::<_, TxError, _>(async |conn| {
        let latest: i64 = event_sequence::table
            .select(event_sequence::latest)
            .for_update()
            .first(conn)
            .await?;
        let numbered: Option<Latest> = Number { latest }.get_result(conn).await.optional()?;
        let Some(Latest { latest: new }) = numbered else {
            return Ok(Pass::Idle);
        };
        Notify {
            latest: new.to_string(),
        }
        .execute(conn)
        .await?;
        Ok(Pass::Numbered {
            latest: new,
            more: new - latest >= PASS_SIZE,
        })
    })
    .await
}

#[derive(QueryableByName)]
struct Latest {
    #[diesel(sql_type = BigInt)]
    latest: i64,
}

/// [`NUMBER`] with its parameters, prepared once per connection.
struct Number {
    latest: i64,
}

fixed::prepared_once!(Number);

impl QueryFragment<Pg> for Number {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        fixed::walk(NUMBER, &mut out, |n, out| match n {
            "1" => out.push_bind_param::<BigInt, _>(&self.latest),
            "2" => out.push_bind_param::<BigInt, _>(&PASS_SIZE),
            other => Err(fixed::unknown_parameter("numbering", other)),
        })
    }
}

/// `pg_notify` of the horizon channel, prepared once per connection.
struct Notify {
    latest: String,
}

fixed::prepared_once!(Notify);

impl QueryFragment<Pg> for Notify {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        fixed::walk("SELECT pg_notify($1, $2)", &mut out, |n, out| match n {
            "1" => out.push_bind_param::<Text, _>(&HORIZON_CHANNEL),
            "2" => out.push_bind_param::<Text, _>(&self.latest),
            other => Err(fixed::unknown_parameter("notify", other)),
        })
    }
}
