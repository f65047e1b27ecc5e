//! Guarded single changes, each one transaction.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use fleet_domain::ports::{Applied, BadRow};
use fleet_domain::quota::{self, QuotaExceeded};
use fleet_domain::{ServerState, StateChange};

use crate::changes;
use crate::errors::TxError;
use crate::mapping;
use crate::quotas;
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
    if let Some(exceeded) = exceeds_quota(conn, &current, change).await? {
        return Ok(Applied::QuotaExceeded(exceeded));
    }
    let written = changes::write(conn, vec![(current, change.clone())]).await?;
    match written.into_iter().next() {
        Some(row) => Ok(Applied::Done(Box::new(
            mapping::server(row).map_err(TxError::Corrupt)?,
        ))),
        None => Ok(Applied::Stale),
    }
}

/// Whether applying `change` to the locked server `current` would take its project past its
/// vCPU quota. Only a change from a state that holds no vCPUs to one that does (a start) of
/// a server still at the planned generation is checked, and only when the project limits
/// vCPUs: then under the project's lock, counting after it is granted (see `quotas`).
async fn exceeds_quota(
    conn: &mut AsyncPgConnection,
    current: &ServerRow,
    change: &StateChange,
) -> Result<Option<QuotaExceeded>, TxError> {
    let stored: ServerState = mapping::state("servers.state", &current.state)?;
    if current.generation != change.expected_generation
        || !stored.takes_vcpus_to(change.server.state)
    {
        return Ok(None);
    }
    let project = change.server.project;
    if quotas::limits_of(conn, project).await?.max_vcpus.is_none() {
        return Ok(None);
    }
    let Some(quotas) = quotas::lock_and_read(conn, project).await? else {
        return Ok(None);
    };
    let vcpus: i32 = servers::table
        .find(current.id)
        .select(servers::vcpus)
        .first(conn)
        .await?;
    let vcpus = u64::try_from(vcpus).map_err(|_| BadRow::new("servers.vcpus", vcpus))?;
    Ok(quota::check(&quotas.limits, quotas.used, 0, vcpus).err())
}
