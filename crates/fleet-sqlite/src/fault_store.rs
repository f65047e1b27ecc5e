//! The `FaultStore` port of [`SqliteStore`]: fault rules, and their firing counted in one
//! guarded statement, in the write transaction that appends the event it records.

use chrono::{DateTime, Utc};
use diesel::SqliteConnection;
use diesel::prelude::*;
use fleet_domain::ServerState;
use fleet_domain::error::StoreError;
use fleet_domain::event::NewEvent;
use fleet_domain::faults::{FaultRule, PendingFault, StoredFault};
use fleet_domain::ids::{FaultRuleId, ProjectId};
use fleet_domain::ports::{BadRow, FaultListing, FaultStore};

use crate::errors::TxError;
use crate::mapping::{micros, project_text};
use crate::ops::{reads, sequence};
use crate::rows::NewEventRow;
use crate::schema::{events, fault_rules, servers};
use crate::store::SqliteStore;

/// A row of `fault_rules`, read and inserted whole.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = fault_rules, check_for_backend(diesel::sqlite::Sqlite))]
struct FaultRow {
    id: String,
    project_id: Option<String>,
    spec: String,
    max_count: Option<i64>,
    fired: i64,
    created_at: i64,
}

impl FaultRow {
    fn from_domain(rule: &FaultRule) -> Self {
        let stored = StoredFault::from_rule(rule);
        Self {
            id: stored.id.to_string(),
            project_id: stored.project.map(project_text),
            spec: stored.spec,
            max_count: stored.max_count,
            fired: stored.fired,
            created_at: micros(stored.created_at),
        }
    }

    fn into_domain(self) -> Result<FaultRule, BadRow> {
        let bad = |column: &'static str, value: &str| BadRow::new(column, value);
        StoredFault {
            id: self
                .id
                .parse()
                .map_err(|_| bad("fault_rules.id", &self.id))?,
            project: self
                .project_id
                .as_deref()
                .map(|p| p.parse().map_err(|_| bad("fault_rules.project_id", p)))
                .transpose()?,
            created_at: chrono::DateTime::from_timestamp_micros(self.created_at)
                .ok_or_else(|| BadRow::new("fault_rules.created_at", self.created_at))?,
            spec: self.spec,
            max_count: self.max_count,
            fired: self.fired,
        }
        .into_rule()
    }
}

#[async_trait::async_trait]
impl FaultStore for SqliteStore {
    async fn create_fault(&self, rule: &FaultRule) -> Result<(), StoreError> {
        let row = FaultRow::from_domain(rule);
        self.run(move |conn| {
            diesel::insert_into(fault_rules::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
        .await
    }

    async fn fault(&self, id: FaultRuleId) -> Result<Option<FaultRule>, StoreError> {
        self.read(move |conn| {
            let row: Option<FaultRow> = fault_rules::table
                .find(id.to_string())
                .select(FaultRow::as_select())
                .get_result(conn)
                .optional()?;
            Ok(row.map(FaultRow::into_domain).transpose()?)
        })
        .await
    }

    async fn faults(&self, listing: &FaultListing) -> Result<Vec<FaultRule>, StoreError> {
        let listing = *listing;
        self.scan(move |conn| {
            let mut query = fault_rules::table
                .select(FaultRow::as_select())
                .order((fault_rules::created_at, fault_rules::id))
                .limit(i64::from(listing.limit))
                .into_boxed();
            if let Some(project) = listing.visible_to {
                query = query.filter(
                    fault_rules::project_id
                        .is_null()
                        .or(fault_rules::project_id.eq(project_text(project))),
                );
            }
            if let Some((created_at, id)) = listing.after {
                let created_at = micros(created_at);
                query = query.filter(
                    fault_rules::created_at
                        .gt(created_at)
                        .or(fault_rules::created_at
                            .eq(created_at)
                            .and(fault_rules::id.gt(id.to_string()))),
                );
            }
            let rows: Vec<FaultRow> = query.load(conn)?;
            Ok(rows
                .into_iter()
                .map(FaultRow::into_domain)
                .collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn delete_fault(&self, id: FaultRuleId) -> Result<bool, StoreError> {
        self.run(move |conn| {
            let deleted = diesel::delete(fault_rules::table.find(id.to_string())).execute(conn)?;
            Ok(deleted == 1)
        })
        .await
    }

    async fn fire_fault(
        &self,
        id: FaultRuleId,
        record: Option<NewEvent>,
    ) -> Result<bool, StoreError> {
        let (fired, seq) = self
            .write(move |conn| fire(conn, id, record.as_ref()))
            .await?;
        if let Some(seq) = seq {
            self.horizon_watch().reached(seq);
        }
        Ok(fired)
    }

    async fn count_holding(
        &self,
        project: Option<ProjectId>,
        regions: &[String],
        server_types: &[String],
    ) -> Result<u64, StoreError> {
        let (regions, server_types) = (regions.to_vec(), server_types.to_vec());
        self.scan(move |conn| {
            let holding: Vec<&str> = ServerState::HOLDING_VCPUS
                .iter()
                .map(|s| s.as_str())
                .collect();
            let mut query = servers::table
                .filter(servers::state.eq_any(holding))
                .into_boxed();
            if let Some(project) = project {
                query = query.filter(servers::project_id.eq(project_text(project)));
            }
            if !regions.is_empty() {
                query = query.filter(servers::region.eq_any(regions));
            }
            if !server_types.is_empty() {
                query = query.filter(servers::server_type.eq_any(server_types));
            }
            let count: i64 = query.count().get_result(conn)?;
            Ok(u64::try_from(count).unwrap_or(0))
        })
        .await
    }

    async fn release_stuck(&self, id: FaultRuleId, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.run(move |conn| {
            let released = diesel::update(
                servers::table.filter(servers::chaos_pending.eq(PendingFault::Stuck(id).encode())),
            )
            .set((
                servers::transition_due_at.eq(micros(now)),
                servers::chaos_pending.eq(None::<String>),
                servers::chaos_due_at.eq(None::<i64>),
                servers::generation.eq(servers::generation + 1),
            ))
            .execute(conn)?;
            Ok(released as u64)
        })
        .await
    }
}

/// Counts a firing while the rule is below its maximum, then appends the event of its
/// server, if it still exists. Whether it fired, and the event's number if one was
/// appended. Call inside a write transaction.
fn fire(
    conn: &mut SqliteConnection,
    id: FaultRuleId,
    record: Option<&NewEvent>,
) -> Result<(bool, Option<i64>), TxError> {
    let counted = diesel::update(fault_rules::table.find(id.to_string()))
        .filter(
            fault_rules::max_count
                .is_null()
                .or(fault_rules::fired.lt(fault_rules::max_count.assume_not_null())),
        )
        .set(fault_rules::fired.eq(fault_rules::fired + 1))
        .execute(conn)?;
    if counted == 0 {
        return Ok((false, None));
    }
    let Some(event) = record else {
        return Ok((true, None));
    };
    let Some(server_id) = event.server_id() else {
        return Ok((true, None));
    };
    let Some(server) = reads::get(conn, server_id)? else {
        return Ok((true, None));
    };
    let seq = sequence::take(conn, 1)?;
    diesel::insert_into(events::table)
        .values(NewEventRow::from_domain(event, &server, seq))
        .execute(conn)?;
    Ok((true, Some(seq)))
}
