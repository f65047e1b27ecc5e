//! Guarded single changes, each one transaction.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use fleet_domain::StateChange;
use fleet_domain::ports::Applied;

use crate::changes;
use crate::errors::TxError;
use crate::mapping;
use crate::rows::ServerRow;
use crate::schema::servers;

/// Locks the server and applies the change if it is still at the expected generation.
pub(crate) async fn apply(
    conn: &mut AsyncPgConnection,
    change: &StateChange,
) -> Result<Applied, TxError> {
    let current = servers::table
        .find(change.server.id.as_uuid())
        .select(ServerRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let Some(current) = current else {
        return Ok(Applied::Missing);
    };
    let written = changes::write(conn, vec![(current, change.clone())]).await?;
    match written.into_iter().next() {
        Some(row) => Ok(Applied::Done(Box::new(
            mapping::server(row).map_err(TxError::Corrupt)?,
        ))),
        None => Ok(Applied::Stale),
    }
}
