//! The `BudgetStore` port of [`PgStore`]: budgets, and announcing a crossing with a
//! compare-and-set on the budget's mark in the transaction that appends its events.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use fleet_domain::Labels;
use fleet_domain::budgets::{Budget, Crossed, StoredBudget};
use fleet_domain::error::StoreError;
use fleet_domain::event::NewEvent;
use fleet_domain::ids::{BudgetId, ProjectId};
use fleet_domain::ports::{BadRow, BudgetStore};
use uuid::Uuid;

use crate::errors::TxError;
use crate::mapping;
use crate::schema::{budgets, events, projects};
use crate::store::PgStore;

/// A row of `budgets`, read and inserted whole.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = budgets, check_for_backend(diesel::pg::Pg))]
struct BudgetRow {
    id: Uuid,
    project_id: Uuid,
    name: String,
    amount_micros: i64,
    label_selector: Option<String>,
    basis: String,
    crossed_month: i32,
    crossed_percent: i32,
    created_at: DateTime<Utc>,
}

impl BudgetRow {
    fn from_domain(budget: &Budget) -> Self {
        let stored = StoredBudget::of(budget);
        Self {
            id: stored.id.as_uuid(),
            project_id: stored.project.as_uuid(),
            name: stored.name,
            amount_micros: stored.amount_micros,
            label_selector: stored.label_selector,
            basis: stored.basis,
            crossed_month: stored.crossed_month,
            crossed_percent: i32::from(budget.crossed.percent),
            created_at: stored.created_at,
        }
    }

    fn into_domain(self) -> Result<Budget, BadRow> {
        StoredBudget {
            id: self.id.into(),
            project: self.project_id.into(),
            name: self.name,
            amount_micros: self.amount_micros,
            label_selector: self.label_selector,
            basis: self.basis,
            crossed_month: self.crossed_month,
            crossed_percent: i64::from(self.crossed_percent),
            created_at: self.created_at,
        }
        .into_budget()
    }
}

#[async_trait::async_trait]
impl BudgetStore for PgStore {
    async fn create_budget(&self, budget: &Budget, at_most: usize) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let row = BudgetRow::from_domain(budget);
        let limit = i64::try_from(at_most).unwrap_or(i64::MAX);
        Ok(conn
            .transaction::<_, TxError, _>(async |conn| create(conn, row, limit).await)
            .await?)
    }

    async fn budget(&self, id: BudgetId) -> Result<Option<Budget>, StoreError> {
        let mut conn = self.conn().await?;
        let row: Option<BudgetRow> = budgets::table
            .find(id.as_uuid())
            .select(BudgetRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(TxError::from)?;
        Ok(row.map(BudgetRow::into_domain).transpose()?)
    }

    async fn budgets(&self, project: Option<ProjectId>) -> Result<Vec<Budget>, StoreError> {
        let mut conn = self.conn().await?;
        let mut query = budgets::table
            .select(BudgetRow::as_select())
            .order((budgets::project_id, budgets::created_at, budgets::id))
            .into_boxed();
        if let Some(project) = project {
            query = query.filter(budgets::project_id.eq(project.as_uuid()));
        }
        let rows: Vec<BudgetRow> = query.load(&mut conn).await.map_err(TxError::from)?;
        Ok(rows
            .into_iter()
            .map(BudgetRow::into_domain)
            .collect::<Result<_, _>>()?)
    }

    async fn delete_budget(&self, id: BudgetId) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let deleted = diesel::delete(budgets::table.find(id.as_uuid()))
            .execute(&mut conn)
            .await
            .map_err(TxError::from)?;
        Ok(deleted == 1)
    }

    async fn record_crossing(
        &self,
        id: BudgetId,
        from: Crossed,
        to: Crossed,
        events: &[NewEvent],
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        let recorded = conn
            .transaction::<_, TxError, _>(async |conn| cross(conn, id, from, to, events).await)
            .await?;
        if recorded {
            self.events_committed();
        }
        Ok(recorded)
    }
}

/// Inserts `row` unless its project has `limit` budgets. The project's row is locked first
/// (`FOR NO KEY UPDATE`: creates of one project queue on it, while inserts of its servers,
/// which only take a key share, do not), so two creates never both count below the limit.
/// A project deleted meanwhile fails the insert's foreign key, as a create would.
async fn create(conn: &mut AsyncPgConnection, row: BudgetRow, limit: i64) -> Result<bool, TxError> {
    projects::table
        .find(row.project_id)
        .select(projects::id)
        .for_no_key_update()
        .first::<Uuid>(conn)
        .await
        .optional()?;
    let count: i64 = budgets::table
        .filter(budgets::project_id.eq(row.project_id))
        .count()
        .get_result(conn)
        .await?;
    if count >= limit {
        return Ok(false);
    }
    diesel::insert_into(budgets::table)
        .values(row)
        .execute(conn)
        .await?;
    Ok(true)
}

/// Moves the mark from `from` to `to` if it is still `from`, then appends the events in
/// the budget's project; whether it moved.
async fn cross(
    conn: &mut AsyncPgConnection,
    id: BudgetId,
    from: Crossed,
    to: Crossed,
    events: &[NewEvent],
) -> Result<bool, TxError> {
    let project: Option<Uuid> = diesel::update(budgets::table.find(id.as_uuid()))
        .filter(budgets::crossed_month.eq(from.month))
        .filter(budgets::crossed_percent.eq(i32::from(from.percent)))
        .set((
            budgets::crossed_month.eq(to.month),
            budgets::crossed_percent.eq(i32::from(to.percent)),
        ))
        .returning(budgets::project_id)
        .get_result(conn)
        .await
        .optional()?;
    let Some(project) = project else {
        return Ok(false);
    };
    let rows: Vec<_> = events
        .iter()
        .map(|event| mapping::event_row(event, project.into(), &Labels::default()))
        .collect();
    diesel::insert_into(events::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(true)
}
