//! Background work: claiming due servers with `FOR UPDATE SKIP LOCKED`, so replicas never
//! claim the same server, and when work is next due.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use fleet_domain::ports::{DueWork, EarliestDue, Planner};

use crate::changes;
use crate::errors::TxError;
use crate::mapping;
use crate::rows::ServerRow;

/// Claims up to `limit` servers with `work` due (earliest first), plans each, and writes the
/// changes as one batch. Runs inside the caller's transaction; returns how many changed.
pub(crate) async fn process(
    conn: &mut AsyncPgConnection,
    work: DueWork,
    limit: i64,
    plan: &Planner,
) -> Result<u32, TxError> {
    let rows = claim(conn, work, limit).await?;
    let mut batch = Vec::with_capacity(rows.len());
    for row in rows {
        let server = mapping::server(row.clone()).map_err(TxError::Corrupt)?;
        if let Some(change) = plan(&server) {
            batch.push((row, change));
        }
    }
    let written = changes::write(conn, batch).await?;
    Ok(u32::try_from(written.len()).unwrap_or(u32::MAX))
}

async fn claim(
    conn: &mut AsyncPgConnection,
    work: DueWork,
    limit: i64,
) -> Result<Vec<ServerRow>, TxError> {
    use crate::schema::servers::dsl as s;
    let rows = match work {
        DueWork::Transitions { due_by } => {
            s::servers
                .filter(s::transition_due_at.le(due_by))
                .order((s::transition_due_at, s::id))
                .limit(limit)
                .select(ServerRow::as_select())
                .for_update()
                .skip_locked()
                .load(conn)
                .await?
        }
        DueWork::Accruals { watermark_before } => {
            s::servers
                .filter(s::billed_until.lt(watermark_before))
                .order((s::billed_until, s::id))
                .limit(limit)
                .select(ServerRow::as_select())
                .for_update()
                .skip_locked()
                .load(conn)
                .await?
        }
        DueWork::Faults { due_by } => {
            s::servers
                .filter(s::chaos_due_at.le(due_by))
                .order((s::chaos_due_at, s::id))
                .limit(limit)
                .select(ServerRow::as_select())
                .for_update()
                .skip_locked()
                .load(conn)
                .await?
        }
        DueWork::Unscheduled { epoch } => {
            s::servers
                .filter(s::state.eq(fleet_domain::ServerState::Running.as_str()))
                .filter(s::chaos_epoch.ne(epoch))
                .order((s::chaos_epoch, s::id))
                .limit(limit)
                .select(ServerRow::as_select())
                .for_update()
                .skip_locked()
                .load(conn)
                .await?
        }
        DueWork::Idle { stopped_by } => {
            s::servers
                .filter(s::state.eq(fleet_domain::ServerState::Stopped.as_str()))
                .filter(s::stopped_at.le(stopped_by))
                .order((s::stopped_at, s::id))
                .limit(limit)
                .select(ServerRow::as_select())
                .for_update()
                .skip_locked()
                .load(conn)
                .await?
        }
    };
    Ok(rows)
}

#[derive(QueryableByName)]
struct Earliest {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    transition: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    stopped: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    fault: Option<DateTime<Utc>>,
}

/// The earliest instant of each kind of work, each read from its partial index.
pub(crate) async fn earliest(conn: &mut AsyncPgConnection) -> Result<EarliestDue, TxError> {
    let row = diesel::sql_query(
        "SELECT (SELECT min(transition_due_at) FROM servers) AS transition, \
                (SELECT min(stopped_at) FROM servers WHERE state = 'stopped') AS stopped, \
                (SELECT min(chaos_due_at) FROM servers) AS fault",
    )
    .get_result::<Earliest>(conn)
    .await?;
    Ok(EarliestDue {
        transition: row.transition,
        stopped: row.stopped,
        fault: row.fault,
    })
}
