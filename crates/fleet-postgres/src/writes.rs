//! Provisioning and guarded single changes, each one transaction.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use fleet_domain::ports::Applied;
use fleet_domain::{NewServer, Server, StateChange};

use crate::allocate::allocate;
use crate::changes;
use crate::errors::TxError;
use crate::mapping;
use crate::rows::ServerRow;
use crate::schema::{events, servers};

/// Allocates an address, inserts the server with it and appends its event.
pub(crate) async fn provision(
    conn: &mut AsyncPgConnection,
    new: &NewServer,
) -> Result<Server, TxError> {
    let (ip, offset) = allocate(conn, &new.server.region).await?;
    let row = mapping::new_server_row(&new.server, ip, offset);
    let inserted = diesel::insert_into(servers::table)
        .values(&row)
        .returning(ServerRow::as_returning())
        .get_result(conn)
        .await?;
    diesel::insert_into(events::table)
        .values(&mapping::new_event_row(&new.event))
        .execute(conn)
        .await?;
    mapping::server(inserted).map_err(TxError::Corrupt)
}

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
        return Ok(Applied::Stale);
    };
    let written = changes::write(conn, vec![(current, change.clone())]).await?;
    match written.into_iter().next() {
        Some(row) => Ok(Applied::Done(Box::new(
            mapping::server(row).map_err(TxError::Corrupt)?,
        ))),
        None => Ok(Applied::Stale),
    }
}
