//! The generation-guarded update of a whole batch of servers in one statement, whatever its
//! size: the batch is bound as one JSON text parameter and read back with `json_each`.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

use diesel::SqliteConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use fleet_domain::StateChange;
use serde::Serialize;

use crate::errors::TxError;
use crate::mapping::{id_text, ip};
use crate::rows::{HeldAddress, ServerRow, ServerUpdate};

/// The bound batch as a table `c`: one row per change, a column per field of [`Guarded`].
macro_rules! changes_table {
    () => {
        "FROM (SELECT value ->> 'id' AS id,
             value ->> 'expected' AS expected,
             value ->> 'release_address' AS release_address,
             value ->> 'name' AS name,
             value ->> 'labels' AS labels,
             value ->> 'state' AS state,
             value ->> 'state_reason' AS state_reason,
             value ->> 'generation' AS generation,
             value ->> 'updated_at' AS updated_at,
             value ->> 'started_at' AS started_at,
             value ->> 'stopped_at' AS stopped_at,
             value ->> 'terminated_at' AS terminated_at,
             value ->> 'transition_due_at' AS transition_due_at,
             value ->> 'billed_until' AS billed_until,
             value ->> 'billed_seconds' AS billed_seconds,
             value ->> 'billed_amount_micros' AS billed_amount_micros,
             value ->> 'chaos_pending' AS chaos_pending,
             value ->> 'chaos_due_at' AS chaos_due_at,
             value ->> 'chaos_epoch' AS chaos_epoch,
             value ->> 'billed_stopped_seconds' AS billed_stopped_seconds,
             value ->> 'month_index' AS month_index,
             value ->> 'month_billed_micros' AS month_billed_micros
      FROM json_each(?)) AS c
"
    };
}

/// Moves every server whose stored generation is still the one its change expects to what
/// the change makes of it, releasing its address if the change says so. Columns no change
/// alters (identity, placement, price, creation time) are kept as stored.
const UPDATE_SERVERS: &str = concat!(
    "\
UPDATE servers SET
    name = c.name,
    labels = c.labels,
    state = c.state,
    state_reason = c.state_reason,
    generation = c.generation,
    updated_at = c.updated_at,
    started_at = c.started_at,
    stopped_at = c.stopped_at,
    terminated_at = c.terminated_at,
    transition_due_at = c.transition_due_at,
    billed_until = c.billed_until,
    billed_seconds = c.billed_seconds,
    billed_amount_micros = c.billed_amount_micros,
    ip = CASE WHEN c.release_address THEN NULL ELSE servers.ip END,
    chaos_pending = c.chaos_pending,
    chaos_due_at = c.chaos_due_at,
    chaos_epoch = c.chaos_epoch,
    billed_stopped_seconds = c.billed_stopped_seconds,
    month_index = c.month_index,
    month_billed_micros = c.month_billed_micros
",
    changes_table!(),
    "WHERE servers.id = c.id AND servers.generation = c.expected
RETURNING *"
);

/// The same update for the changes that move only a server's generation and billing (an
/// accrual): it sets those columns only where every other column already holds what the
/// change writes and no address is released, so what it writes is what [`UPDATE_SERVERS`]
/// would. SQLite rewrites the entry of every index on a column an UPDATE sets, whatever
/// its value, and the full statement sets the columns of eleven indexes; this one, of one.
/// A server it wrote is past its expected generation, so the full statement after it
/// leaves it alone.
const UPDATE_BILLING: &str = concat!(
    "\
UPDATE servers SET
    generation = c.generation,
    updated_at = c.updated_at,
    billed_until = c.billed_until,
    billed_seconds = c.billed_seconds,
    billed_amount_micros = c.billed_amount_micros,
    billed_stopped_seconds = c.billed_stopped_seconds,
    month_index = c.month_index,
    month_billed_micros = c.month_billed_micros
",
    changes_table!(),
    "WHERE servers.id = c.id AND servers.generation = c.expected AND NOT c.release_address
  AND servers.name = c.name AND servers.labels = c.labels AND servers.state = c.state
  AND servers.state_reason IS c.state_reason AND servers.started_at IS c.started_at
  AND servers.stopped_at IS c.stopped_at AND servers.terminated_at IS c.terminated_at
  AND servers.transition_due_at IS c.transition_due_at
  AND servers.chaos_pending IS c.chaos_pending AND servers.chaos_due_at IS c.chaos_due_at
  AND servers.chaos_epoch = c.chaos_epoch
RETURNING *"
);

/// The addresses held by the servers whose changes release them, read before the update
/// (`RETURNING` sees the row after it, without its address).
const HELD_ADDRESSES: &str = "\
SELECT id, ip FROM servers
WHERE ip IS NOT NULL
  AND id IN (SELECT value ->> 'id' FROM json_each(?) WHERE value ->> 'release_address')";

/// One element of the bound JSON array: a change's guard and what it writes.
#[derive(Serialize)]
struct Guarded {
    id: String,
    expected: i64,
    release_address: bool,
    #[serde(flatten)]
    set: ServerUpdate,
}

/// What the update did to one server: the row as written and the address it gave up.
pub(crate) struct Written {
    /// The server's row after the change.
    pub row: ServerRow,
    /// The address the change released, if it released one.
    pub released: Option<Ipv4Addr>,
}

/// Applies each change whose server is still at its expected generation, in at most three
/// statements (a read of the addresses to release, if any is, the billing-only update and
/// the full one). A batch holds
/// one change per server: a later change to a server already in it is stale, as it would be
/// after the first. Returns what each change wrote, in order, `None` where stale. Call
/// inside a write transaction, which keeps the addresses read equal to those released.
pub(crate) fn update_all(
    conn: &mut SqliteConnection,
    changes: &[StateChange],
) -> Result<Vec<Option<Written>>, TxError> {
    let mut seen = HashSet::with_capacity(changes.len());
    let guarded: Vec<Guarded> = changes
        .iter()
        .filter(|change| seen.insert(change.server.id))
        .map(|change| Guarded {
            id: id_text(change.server.id),
            expected: change.expected_generation,
            release_address: change.release_address,
            set: ServerUpdate::from_change(change),
        })
        .collect();
    if guarded.is_empty() {
        return Ok(Vec::new());
    }
    let batch = serde_json::to_string(&guarded)
        .map_err(|e| diesel::result::Error::SerializationError(e.into()))?;
    let mut held: HashMap<String, Option<String>> = if guarded.iter().any(|g| g.release_address) {
        diesel::sql_query(HELD_ADDRESSES)
            .bind::<Text, _>(&batch)
            .load::<HeldAddress>(conn)?
            .into_iter()
            .map(|held| (held.id, held.ip))
            .collect()
    } else {
        HashMap::new()
    };
    let mut written: HashMap<String, ServerRow> = HashMap::with_capacity(guarded.len());
    for statement in [UPDATE_BILLING, UPDATE_SERVERS] {
        let rows = diesel::sql_query(statement)
            .bind::<Text, _>(&batch)
            .load::<ServerRow>(conn)?;
        written.extend(rows.into_iter().map(|row| (row.id.clone(), row)));
    }
    changes
        .iter()
        .map(|change| {
            let Some(row) = written.remove(&id_text(change.server.id)) else {
                return Ok(None);
            };
            let released = held.remove(&row.id).flatten();
            let released = released.as_deref().map(ip).transpose()?;
            Ok(Some(Written { row, released }))
        })
        .collect()
}
