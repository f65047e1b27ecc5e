//! Project quotas. Every write runs in a `BEGIN IMMEDIATE` transaction, which no other
//! writer (in this process or another) runs beside, so a count read inside the transaction
//! that inserts or starts a server is still the count when it commits.

use diesel::SqliteConnection;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use fleet_domain::ids::ProjectId;
use fleet_domain::ports::BadRow;
use fleet_domain::quota::{self, ProjectQuotas, QuotaExceeded, QuotaUse, Quotas};
use fleet_domain::state::ServerState;

use crate::errors::TxError;
use crate::mapping::project_text;
use crate::schema::{project_quotas, projects, servers};

type Result<T> = std::result::Result<T, TxError>;

/// A project's limits and use; `None` when there is no such project.
pub(crate) fn read(conn: &mut SqliteConnection, id: ProjectId) -> Result<Option<ProjectQuotas>> {
    let project = project_text(id);
    let exists: i64 = projects::table
        .filter(projects::id.eq(&project))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        return Ok(None);
    }
    let limits = limits(conn, &project)?;
    let used = usage(conn, &project)?;
    Ok(Some(ProjectQuotas { limits, used }))
}

/// Sets a project's limits; `None` when there is no such project. Call inside a write
/// transaction.
pub(crate) fn set(
    conn: &mut SqliteConnection,
    id: ProjectId,
    limits: &Quotas,
) -> Result<Option<ProjectQuotas>> {
    if read(conn, id)?.is_none() {
        return Ok(None);
    }
    let row = (
        project_quotas::project_id.eq(project_text(id)),
        project_quotas::max_servers.eq(limits.max_servers.map(i64::from)),
        project_quotas::max_vcpus.eq(limits.max_vcpus.map(i64::from)),
    );
    diesel::replace_into(project_quotas::table)
        .values(row)
        .execute(conn)?;
    read(conn, id)
}

/// Whether adding `servers` servers and `vcpus` vCPUs to the project stays within its
/// quotas. Call inside the write transaction that adds them.
pub(crate) fn check(
    conn: &mut SqliteConnection,
    id: ProjectId,
    servers: u64,
    vcpus: u64,
) -> Result<std::result::Result<(), QuotaExceeded>> {
    let project = project_text(id);
    let limits = limits(conn, &project)?;
    if limits.is_unlimited() {
        return Ok(Ok(()));
    }
    Ok(quota::check(
        &limits,
        usage(conn, &project)?,
        servers,
        vcpus,
    ))
}

/// The vCPUs a server holds, as stored.
pub(crate) fn vcpus_of(conn: &mut SqliteConnection, server: &str) -> Result<u64> {
    let stored: i64 = servers::table
        .find(server)
        .select(servers::vcpus)
        .get_result(conn)?;
    count("servers.vcpus", stored)
}

fn limits(conn: &mut SqliteConnection, project: &str) -> Result<Quotas> {
    let row: Option<(Option<i64>, Option<i64>)> = project_quotas::table
        .find(project)
        .select((project_quotas::max_servers, project_quotas::max_vcpus))
        .get_result(conn)
        .optional()?;
    let Some((max_servers, max_vcpus)) = row else {
        return Ok(Quotas::NONE);
    };
    Ok(Quotas {
        max_servers: max_servers
            .map(|v| limit("project_quotas.max_servers", v))
            .transpose()?,
        max_vcpus: max_vcpus
            .map(|v| limit("project_quotas.max_vcpus", v))
            .transpose()?,
    })
}

fn usage(conn: &mut SqliteConnection, project: &str) -> Result<QuotaUse> {
    let live: i64 = servers::table
        .filter(servers::project_id.eq(project))
        .filter(servers::state.ne(ServerState::Terminated.as_str()))
        .count()
        .get_result(conn)?;
    // SQLite sums integers as an integer; diesel types every `sum` as a decimal.
    let vcpus: i64 = servers::table
        .filter(servers::project_id.eq(project))
        .filter(servers::state.eq_any(ServerState::HOLDING_VCPUS.map(ServerState::as_str)))
        .select(sql::<BigInt>("coalesce(sum(vcpus), 0)"))
        .get_result(conn)?;
    Ok(QuotaUse {
        servers: count("servers", live)?,
        vcpus: count("servers.vcpus", vcpus)?,
    })
}

fn limit(column: &'static str, stored: i64) -> Result<u32> {
    u32::try_from(stored).map_err(|_| TxError::Corrupt(BadRow::new(column, stored)))
}

fn count(column: &'static str, stored: i64) -> Result<u64> {
    u64::try_from(stored).map_err(|_| TxError::Corrupt(BadRow::new(column, stored)))
}
