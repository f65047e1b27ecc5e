//! The `BudgetStore` port of [`SqliteStore`]: budgets, and announcing a crossing with a
//! compare-and-set on the budget's mark in the transaction that appends its events.

use diesel::SqliteConnection;
use diesel::prelude::*;
use diesel::sqlite::Sqlite;
use fleet_domain::Labels;
use fleet_domain::budgets::{Budget, Crossed, StoredBudget};
use fleet_domain::error::StoreError;
use fleet_domain::event::NewEvent;
use fleet_domain::ids::{BudgetId, ProjectId};
use fleet_domain::ports::{BadRow, BudgetStore};

use crate::errors::TxError;
use crate::mapping::{instant, micros, project_text};
use crate::ops::sequence;
use crate::rows::NewEventRow;
use crate::schema::{budgets, events};
use crate::store::SqliteStore;

/// A row of `budgets`, read and inserted whole.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = budgets, check_for_backend(Sqlite))]
struct BudgetRow {
    id: String,
    project_id: String,
    name: String,
    amount_micros: i64,
    label_selector: Option<String>,
    basis: String,
    crossed_month: i32,
    crossed_percent: i64,
    created_at: i64,
}

impl BudgetRow {
    fn from_domain(budget: &Budget) -> Self {
        let stored = StoredBudget::of(budget);
        Self {
            id: stored.id.to_string(),
            project_id: project_text(stored.project),
            name: stored.name,
            amount_micros: stored.amount_micros,
            label_selector: stored.label_selector,
            basis: stored.basis,
            crossed_month: stored.crossed_month,
            crossed_percent: stored.crossed_percent,
            created_at: micros(stored.created_at),
        }
    }

    fn into_domain(self) -> Result<Budget, BadRow> {
        let id = self
            .id
            .parse()
            .map_err(|_| BadRow::new("budgets.id", &self.id))?;
        let project = self
            .project_id
            .parse()
            .map_err(|_| BadRow::new("budgets.project_id", &self.project_id))?;
        StoredBudget {
            id,
            project,
            name: self.name,
            amount_micros: self.amount_micros,
            label_selector: self.label_selector,
            basis: self.basis,
            crossed_month: self.crossed_month,
            crossed_percent: self.crossed_percent,
            created_at: instant("budgets.created_at", self.created_at)?,
        }
        .into_budget()
    }
}

#[async_trait::async_trait]
impl BudgetStore for SqliteStore {
    async fn create_budget(&self, budget: &Budget, at_most: usize) -> Result<bool, StoreError> {
        let row = BudgetRow::from_domain(budget);
        let limit = i64::try_from(at_most).unwrap_or(i64::MAX);
        self.write(move |conn| {
            let count: i64 = budgets::table
                .filter(budgets::project_id.eq(&row.project_id))
                .count()
                .get_result(conn)?;
            if count >= limit {
                return Ok(false);
            }
            diesel::insert_into(budgets::table)
                .values(&row)
                .execute(conn)?;
            Ok(true)
        })
        .await
    }

    async fn budget(&self, id: BudgetId) -> Result<Option<Budget>, StoreError> {
        self.read(move |conn| {
            let row: Option<BudgetRow> = budgets::table
                .find(id.to_string())
                .select(BudgetRow::as_select())
                .get_result(conn)
                .optional()?;
            Ok(row.map(BudgetRow::into_domain).transpose()?)
        })
        .await
    }

    async fn budgets(&self, project: Option<ProjectId>) -> Result<Vec<Budget>, StoreError> {
        self.scan(move |conn| {
            let mut query = budgets::table
                .select(BudgetRow::as_select())
                .order((budgets::project_id, budgets::created_at, budgets::id))
                .into_boxed();
            if let Some(project) = project {
                query = query.filter(budgets::project_id.eq(project_text(project)));
            }
            let rows: Vec<BudgetRow> = query.load(conn)?;
            Ok(rows
                .into_iter()
                .map(BudgetRow::into_domain)
                .collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn delete_budget(&self, id: BudgetId) -> Result<bool, StoreError> {
        self.run(move |conn| {
            let deleted = diesel::delete(budgets::table.find(id.to_string())).execute(conn)?;
            Ok(deleted == 1)
        })
        .await
    }

    async fn record_crossing(
        &self,
        id: BudgetId,
        from: Crossed,
        to: Crossed,
        events: &[NewEvent],
    ) -> Result<bool, StoreError> {
        let events = events.to_vec();
        let latest = self
            .write(move |conn| cross(conn, id, from, to, &events))
            .await?;
        if let Some(latest) = latest {
            self.horizon_watch().reached(latest);
        }
        Ok(latest.is_some())
    }
}

/// Moves the mark from `from` to `to` if it is still `from`, then appends the events in
/// the budget's project; the last event's number when it moved. Call inside a write
/// transaction.
fn cross(
    conn: &mut SqliteConnection,
    id: BudgetId,
    from: Crossed,
    to: Crossed,
    events: &[NewEvent],
) -> Result<Option<i64>, TxError> {
    let project: Option<String> = diesel::update(budgets::table.find(id.to_string()))
        .filter(budgets::crossed_month.eq(from.month))
        .filter(budgets::crossed_percent.eq(i64::from(from.percent)))
        .set((
            budgets::crossed_month.eq(to.month),
            budgets::crossed_percent.eq(i64::from(to.percent)),
        ))
        .returning(budgets::project_id)
        .get_result(conn)
        .optional()?;
    let Some(project) = project else {
        return Ok(None);
    };
    let project: ProjectId = project
        .parse()
        .map_err(|_| TxError::from(BadRow::new("budgets.project_id", &project)))?;
    let first = sequence::take(conn, events.len())?;
    let rows: Vec<NewEventRow> = events
        .iter()
        .zip(first..)
        .map(|(event, seq)| NewEventRow::in_project(event, project, &Labels::default(), seq))
        .collect();
    diesel::insert_into(events::table)
        .values(&rows)
        .execute(conn)?;
    Ok(Some(first + events.len() as i64 - 1))
}
