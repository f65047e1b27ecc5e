//! Project quotas, checked under the project's row lock.
//!
//! Every change a quota limits (a provision or a start of a project with limits) first
//! locks the project's row (`FOR UPDATE`) in its transaction, and only then counts the
//! project's use, in a statement of its own: at READ COMMITTED each statement sees what
//! had committed when it began, so a count run after the lock is granted sees every change
//! of the transactions that held the lock before. (A single statement that locked and
//! counted would count from a snapshot taken before it waited.) Changes of one project
//! therefore check and write one at a time, on every replica; other projects never wait.

use diesel::sql_types::{BigInt, Integer, Nullable, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use fleet_domain::ProjectId;
use fleet_domain::ports::BadRow;
use fleet_domain::quota::{ProjectQuotas, QuotaUse, Quotas};

use crate::errors::TxError;

/// A project's limits and use, in one statement. `$1` is the project; the states that hold
/// vCPUs are those of [`ServerState::holds_vcpus`] (checked by a test below).
const READ: &str = "\
SELECT q.max_servers, q.max_vcpus,
    (SELECT count(*) FROM servers
        WHERE project_id = p.id AND state <> 'terminated') AS servers,
    (SELECT coalesce(sum(vcpus), 0)::int8 FROM servers
        WHERE project_id = p.id
        AND state IN ('provisioning', 'starting', 'running', 'rebooting')) AS vcpus
FROM projects p LEFT JOIN project_quotas q ON q.project_id = p.id
WHERE p.id = $1";

#[derive(QueryableByName)]
struct QuotaRow {
    #[diesel(sql_type = Nullable<Integer>)]
    max_servers: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    max_vcpus: Option<i32>,
    #[diesel(sql_type = BigInt)]
    servers: i64,
    #[diesel(sql_type = BigInt)]
    vcpus: i64,
}

#[derive(QueryableByName)]
struct LimitRow {
    #[diesel(sql_type = Nullable<Integer>)]
    max_servers: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    max_vcpus: Option<i32>,
}

/// A project's limits and use; `None` when there is no such project.
pub(crate) async fn read(
    conn: &mut AsyncPgConnection,
    id: ProjectId,
) -> Result<Option<ProjectQuotas>, TxError> {
    let row: Option<QuotaRow> = diesel::sql_query(READ)
        .bind::<SqlUuid, _>(id.as_uuid())
        .get_result(conn)
        .await
        .optional()?;
    row.map(|row| {
        Ok(ProjectQuotas {
            limits: limits(row.max_servers, row.max_vcpus)?,
            used: QuotaUse {
                servers: count("servers", row.servers)?,
                vcpus: count("servers.vcpus", row.vcpus)?,
            },
        })
    })
    .transpose()
}

/// A project's limits, without its use or a lock: what decides whether a change needs the
/// locked check. No row is no limit.
pub(crate) async fn limits_of(
    conn: &mut AsyncPgConnection,
    id: ProjectId,
) -> Result<Quotas, TxError> {
    let row: Option<LimitRow> = diesel::sql_query(
        "SELECT max_servers, max_vcpus FROM project_quotas WHERE project_id = $1",
    )
    .bind::<SqlUuid, _>(id.as_uuid())
    .get_result(conn)
    .await
    .optional()?;
    match row {
        Some(row) => limits(row.max_servers, row.max_vcpus),
        None => Ok(Quotas::NONE),
    }
}

/// Locks the project's row until the transaction ends, then reads its limits and use;
/// `None` when there is no such project. Call inside a transaction.
pub(crate) async fn lock_and_read(
    conn: &mut AsyncPgConnection,
    id: ProjectId,
) -> Result<Option<ProjectQuotas>, TxError> {
    // Postgres counts the rows a SELECT returned as the ones it affected.
    let locked = diesel::sql_query("SELECT id FROM projects WHERE id = $1 FOR UPDATE")
        .bind::<SqlUuid, _>(id.as_uuid())
        .execute(conn)
        .await?;
    if locked == 0 {
        return Ok(None);
    }
    read(conn, id).await
}

/// Sets a project's limits under its lock; `None` when there is no such project. Call
/// inside a transaction.
pub(crate) async fn set(
    conn: &mut AsyncPgConnection,
    id: ProjectId,
    limits: &Quotas,
) -> Result<Option<ProjectQuotas>, TxError> {
    if lock_and_read(conn, id).await?.is_none() {
        return Ok(None);
    }
    diesel::sql_query(
        "INSERT INTO project_quotas (project_id, max_servers, max_vcpus) VALUES ($1, $2, $3) \
         ON CONFLICT (project_id) DO UPDATE \
         SET max_servers = EXCLUDED.max_servers, max_vcpus = EXCLUDED.max_vcpus",
    )
    .bind::<SqlUuid, _>(id.as_uuid())
    .bind::<Nullable<Integer>, _>(limits.max_servers.map(stored))
    .bind::<Nullable<Integer>, _>(limits.max_vcpus.map(stored))
    .execute(conn)
    .await?;
    read(conn, id).await
}

/// A limit as stored: the domain bounds limits far below `i32::MAX`.
fn stored(limit: u32) -> i32 {
    i32::try_from(limit).unwrap_or(i32::MAX)
}

fn limits(max_servers: Option<i32>, max_vcpus: Option<i32>) -> Result<Quotas, TxError> {
    let limit = |column, stored: Option<i32>| {
        stored
            .map(|v| u32::try_from(v).map_err(|_| TxError::Corrupt(BadRow::new(column, v))))
            .transpose()
    };
    Ok(Quotas {
        max_servers: limit("project_quotas.max_servers", max_servers)?,
        max_vcpus: limit("project_quotas.max_vcpus", max_vcpus)?,
    })
}

fn count(column: &'static str, stored: i64) -> Result<u64, TxError> {
    u64::try_from(stored).map_err(|_| TxError::Corrupt(BadRow::new(column, stored)))
}

#[cfg(test)]
mod tests {
    use fleet_domain::ServerState;

    use super::*;

    #[test]
    fn the_vcpu_count_names_exactly_the_states_that_hold_vcpus() {
        for state in ServerState::ALL {
            let named = READ.contains(&format!("'{}'", state.as_str()));
            let in_list = named && state != ServerState::Terminated;
            assert_eq!(in_list, state.holds_vcpus(), "{state}");
        }
    }
}
