//! Background work: which servers have work due, and when the next work falls due.

use chrono::{DateTime, Utc};
use diesel::SqliteConnection;
use diesel::dsl::min;
use diesel::prelude::*;
use fleet_domain::ports::{BadRow, DueWork, EarliestDue};
use fleet_domain::server::Server;
use fleet_domain::state::ServerState;

use crate::errors::TxError;
use crate::mapping::micros;
use crate::rows::ServerRow;
use crate::schema::servers;

type Result<T> = std::result::Result<T, TxError>;

/// Up to `limit` servers with `work` due, most overdue first. Call inside the claiming
/// (`BEGIN IMMEDIATE`) transaction.
pub(crate) fn load(conn: &mut SqliteConnection, work: DueWork, limit: u32) -> Result<Vec<Server>> {
    let query = servers::table.select(ServerRow::as_select()).into_boxed();
    let query = match work {
        DueWork::Transitions { due_by } => query
            .filter(servers::transition_due_at.le(micros(due_by)))
            .order((servers::transition_due_at.asc(), servers::id.asc())),
        DueWork::Accruals { watermark_before } => query
            .filter(servers::billed_until.lt(micros(watermark_before)))
            .order((servers::billed_until.asc(), servers::id.asc())),
        DueWork::Faults { due_by } => query
            .filter(servers::chaos_due_at.le(micros(due_by)))
            .order((servers::chaos_due_at.asc(), servers::id.asc())),
        DueWork::Unscheduled { epoch } => query
            .filter(servers::state.eq(ServerState::Running.as_str()))
            .filter(servers::chaos_epoch.ne(epoch))
            .order((servers::created_at.asc(), servers::id.asc())),
        DueWork::Idle { stopped_by } => query
            .filter(servers::state.eq(ServerState::Stopped.as_str()))
            .filter(servers::stopped_at.le(micros(stopped_by)))
            .order((servers::stopped_at.asc(), servers::id.asc())),
    };
    query
        .limit(i64::from(limit))
        .load(conn)?
        .into_iter()
        .map(|row: ServerRow| Ok(row.into_domain()?))
        .collect()
}

/// The earliest due transition, the oldest stop and the earliest pending fault.
pub(crate) fn earliest(conn: &mut SqliteConnection) -> Result<EarliestDue> {
    let transition: Option<i64> = servers::table
        .select(min(servers::transition_due_at))
        .first(conn)?;
    let stopped: Option<i64> = servers::table
        .filter(servers::state.eq(ServerState::Stopped.as_str()))
        .select(min(servers::stopped_at))
        .first(conn)?;
    let fault: Option<i64> = servers::table
        .select(min(servers::chaos_due_at))
        .first(conn)?;
    Ok(EarliestDue {
        transition: instant(transition)?,
        stopped: instant(stopped)?,
        fault: instant(fault)?,
    })
}

fn instant(micros: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    micros
        .map(|m| DateTime::from_timestamp_micros(m).ok_or_else(|| BadRow::new("instant", m).into()))
        .transpose()
}
