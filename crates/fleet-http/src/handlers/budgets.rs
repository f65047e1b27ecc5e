//! `/budgets`: monthly amounts for the caller's project's servers, whose 50, 80 and 100 %
//! are announced by `budget.threshold_crossed` events.

use fleet_domain::BudgetId;
use fleet_domain::budgets::NewBudget;
use fleet_domain::money::Money;
use paperclip::actix::{api_v2_operation, web};
use uuid::Uuid;

use crate::auth::ApiCaller;
use crate::body::JsonBody;
use crate::dto;
use crate::errors::{BudgetFailure, BudgetsFailure, CreateBudgetFailure, DeleteBudgetFailure};
use crate::problem::Problem;
use crate::responses::{BudgetCreated, CreatedAt, Deleted};
use crate::state::AppState;

/// Create a budget
///
/// An amount per calendar month (UTC) for the caller's project's servers, or those a label
/// selector picks. When what the month has cost (or, with `basis: forecast`, what it is
/// forecast to cost by its end) reaches 50, 80 and 100 % of the amount, fleet records a
/// `budget.threshold_crossed` event for each, once per month, which reaches `GET /events`,
/// the stream and webhooks. Budgets are checked every minute, and on a virtual clock after
/// every advance.
#[api_v2_operation(
    operation_id = "createBudget",
    tags(Costs),
    consumes = "application/json",
    produces = "application/json, application/problem+json"
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: ApiCaller,
    body: JsonBody<dto::CreateBudgetRequest>,
) -> Result<BudgetCreated, CreateBudgetFailure> {
    let request = body.into_inner();
    let amount = Money::parse_decimal(&request.amount).ok_or_else(|| {
        Problem::unprocessable(
            "invalid-amount",
            format!(
                "amount must be a decimal number of USD with at most six places, e.g. \"100\" \
                 or \"12.50\"; got {:?}",
                request.amount
            ),
        )
    })?;
    let budget = state
        .budgets
        .create(
            &caller,
            NewBudget {
                name: request.name,
                amount_micros: amount.micros(),
                selector: request.label_selector,
                basis: request.basis.map(Into::into),
            },
        )
        .await?;
    Ok(CreatedAt(budget.into()))
}

/// List budgets
///
/// The caller's project's budgets (an admin's: every project's), each with its month so
/// far.
#[api_v2_operation(
    operation_id = "listBudgets",
    tags(Costs),
    produces = "application/json, application/problem+json"
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: ApiCaller,
) -> Result<web::Json<dto::BudgetList>, BudgetsFailure> {
    let budgets = state.budgets.list(&caller).await?;
    Ok(web::Json(dto::BudgetList {
        items: budgets.into_iter().map(Into::into).collect(),
    }))
}

/// Get a budget
///
/// The budget, with what its month has cost so far, its forecast and the highest
/// threshold announced this month.
#[api_v2_operation(
    operation_id = "getBudget",
    tags(Costs),
    produces = "application/json, application/problem+json"
)]
pub async fn get(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<Uuid>,
) -> Result<web::Json<dto::Budget>, BudgetFailure> {
    let budget = state
        .budgets
        .get(&caller, BudgetId::from(id.into_inner()))
        .await?;
    Ok(web::Json(budget.into()))
}

/// Delete a budget
///
/// Deletes the budget; the events it caused stay.
#[api_v2_operation(
    operation_id = "deleteBudget",
    tags(Costs),
    produces = "application/json, application/problem+json"
)]
pub async fn delete(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<Uuid>,
) -> Result<Deleted, DeleteBudgetFailure> {
    state
        .budgets
        .delete(&caller, BudgetId::from(id.into_inner()))
        .await?;
    Ok(Deleted)
}
