//! The `FaultStore` port of [`PgStore`]: fault rules, and their firing counted in one
//! guarded statement with the event it records.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use fleet_domain::ServerState;
use fleet_domain::error::StoreError;
use fleet_domain::event::NewEvent;
use fleet_domain::faults::{FaultRule, PendingFault, StoredFault};
use fleet_domain::ids::{FaultRuleId, ProjectId};
use fleet_domain::ports::{FaultListing, FaultStore};
use uuid::Uuid;

use crate::errors::TxError;
use crate::mapping;
use crate::reads;
use crate::schema::{events, fault_rules, servers};
use crate::store::PgStore;

/// A row of `fault_rules`, read and inserted whole.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = fault_rules, check_for_backend(diesel::pg::Pg))]
struct FaultRow {
    id: Uuid,
    project_id: Option<Uuid>,
    spec: String,
    max_count: Option<i64>,
    fired: i64,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl FaultRow {
    fn from_domain(rule: &FaultRule) -> Self {
        let stored = StoredFault::from_rule(rule);
        Self {
            id: stored.id.as_uuid(),
            project_id: stored.project.map(|p| p.as_uuid()),
            spec: stored.spec,
            max_count: stored.max_count,
            fired: stored.fired,
            created_at: stored.created_at,
        }
    }

    fn into_domain(self) -> Result<FaultRule, TxError> {
        Ok(StoredFault {
            id: self.id.into(),
            project: self.project_id.map(Into::into),
            spec: self.spec,
            max_count: self.max_count,
            fired: self.fired,
            created_at: self.created_at,
        }
        .into_rule()?)
    }
}

#[async_trait::async_trait]
impl FaultStore for PgStore {
    async fn create_fault(&self, rule: &FaultRule) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        diesel::insert_into(fault_rules::table)
            .values(FaultRow::from_domain(rule))
            .execute(&mut conn)
            .await
            .map_err(TxError::from)?;
        Ok(())
    }

    async fn fault(&self, id: FaultRuleId) -> Result<Option<FaultRule>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<FaultRow> = fault_rules::table
            .find(id.as_uuid())
            .select(FaultRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(TxError::from)?;
        Ok(row.map(FaultRow::into_domain).transpose()?)
    }

    async fn faults(&self, listing: &FaultListing) -> Result<Vec<FaultRule>, StoreError> {
        let mut conn = self.conn().await?;
        let mut query = fault_rules::table
            .select(FaultRow::as_select())
            .order((fault_rules::created_at, fault_rules::id))
            .limit(i64::from(listing.limit))
            .into_boxed();
        if let Some(project) = listing.visible_to {
            query = query.filter(
                fault_rules::project_id
                    .is_null()
                    .or(fault_rules::project_id.eq(project.as_uuid())),
            );
        }
        if let Some((created_at, id)) = listing.after {
            query = query.filter(
                fault_rules::created_at
                    .gt(created_at)
                    .or(fault_rules::created_at
                        .eq(created_at)
                        .and(fault_rules::id.gt(id.as_uuid()))),
            );
        }
        let rows: Vec<FaultRow> = query.load(&mut conn).await.map_err(TxError::from)?;
        Ok(rows
            .into_iter()
            .map(FaultRow::into_domain)
            .collect::<Result<_, _>>()?)
    }

    async fn delete_fault(&self, id: FaultRuleId) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let deleted = diesel::delete(fault_rules::table.find(id.as_uuid()))
            .execute(&mut conn)
            .await
            .map_err(TxError::from)?;
        Ok(deleted == 1)
    }

    async fn fire_fault(
        &self,
        id: FaultRuleId,
        record: Option<NewEvent>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let (fired, recorded) = conn
            .transaction::<_, TxError, _>(async |conn| fire(conn, id, record.as_ref()).await)
            .await?;
        if recorded {
            self.events_committed();
        }
        Ok(fired)
    }

    async fn count_holding(
        &self,
        project: Option<ProjectId>,
        regions: &[String],
        server_types: &[String],
    ) -> Result<u64, StoreError> {
        let mut conn = self.conn().await?;
        let holding: Vec<&str> = ServerState::HOLDING_VCPUS
            .iter()
            .map(|s| s.as_str())
            .collect();
        let mut query = servers::table
            .filter(servers::state.eq_any(holding))
            .into_boxed();
        if let Some(project) = project {
            query = query.filter(servers::project_id.eq(project.as_uuid()));
        }
        if !regions.is_empty() {
            query = query.filter(servers::region.eq_any(regions));
        }
        if !server_types.is_empty() {
            query = query.filter(servers::server_type.eq_any(server_types));
        }
        let count: i64 = query
            .count()
            .get_result(&mut conn)
            .await
            .map_err(TxError::from)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn release_stuck(&self, id: FaultRuleId, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut conn = self.conn().await?;
        let released = diesel::update(
            servers::table.filter(servers::chaos_pending.eq(PendingFault::Stuck(id).encode())),
        )
        .set((
            servers::transition_due_at.eq(now),
            servers::chaos_pending.eq(None::<String>),
            servers::chaos_due_at.eq(None::<DateTime<Utc>>),
            servers::generation.eq(servers::generation + 1),
        ))
        .execute(&mut conn)
        .await
        .map_err(TxError::from)?;
        Ok(released as u64)
    }
}

/// Counts a firing while the rule is below its maximum (one guarded statement, so
/// concurrent firings on any number of processes never pass it), then appends the event of
/// its server, if it still exists. Whether it fired, and whether an event was appended.
async fn fire(
    conn: &mut AsyncPgConnection,
    id: FaultRuleId,
    record: Option<&NewEvent>,
) -> Result<(bool, bool), TxError> {
    let counted = diesel::update(fault_rules::table.find(id.as_uuid()))
        .filter(
            fault_rules::max_count
                .is_null()
                .or(fault_rules::fired.lt(fault_rules::max_count.assume_not_null())),
        )
        .set(fault_rules::fired.eq(fault_rules::fired + 1))
        .execute(conn)
        .await?;
    if counted == 0 {
        return Ok((false, false));
    }
    let Some(event) = record else {
        return Ok((true, false));
    };
    let Some(server_id) = event.server_id() else {
        return Ok((true, false));
    };
    let Some(server) = reads::get(conn, server_id).await? else {
        return Ok((true, false));
    };
    diesel::insert_into(events::table)
        .values(mapping::new_event_row(event, &server))
        .execute(conn)
        .await?;
    Ok((true, true))
}
