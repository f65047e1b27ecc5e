//! `/faults`: fault rules. An admin makes and deletes them; every caller reads those that
//! apply to its own project (`fleet_domain::service::FaultService` says why).

use fleet_domain::FaultRuleId;
use paperclip::actix::{api_v2_operation, web};
use uuid::Uuid;

use crate::auth::ApiCaller;
use crate::body::JsonBody;
use crate::dto;
use crate::errors::{CreateFaultFailure, DeleteFaultFailure, FaultFailure, FaultsFailure};
use crate::query::Query;
use crate::responses::{CreatedAt, Deleted, FaultRuleCreated};
use crate::state::AppState;

/// Create a fault rule
///
/// A rule that hits matching requests before they run (an error or a capacity refusal,
/// which change nothing, or added latency), or the lifecycle of matching servers (failed
/// launches, slow or stuck transitions, interruptions, host failures); in force on this
/// replica at once and on the others within a second. Admin only.
#[api_v2_operation(
    operation_id = "createFaultRule",
    tags(Faults),
    consumes = "application/json",
    produces = "application/json, application/problem+json"
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: ApiCaller,
    body: JsonBody<dto::CreateFaultRuleRequest>,
) -> Result<FaultRuleCreated, CreateFaultFailure> {
    let request = body.into_inner().into_domain()?;
    let rule = state.faults.create(&caller, request).await?;
    Ok(CreatedAt(rule.into()))
}

/// List fault rules
///
/// The rules that apply to the caller's project (its own and those for every project; an
/// admin's, every rule), oldest first, with how often each fired.
#[api_v2_operation(
    operation_id = "listFaultRules",
    tags(Faults),
    produces = "application/json, application/problem+json"
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: ApiCaller,
    query: Query<dto::FaultListQuery>,
) -> Result<web::Json<dto::FaultRuleList>, FaultsFailure> {
    let query = query.0;
    let page = state
        .faults
        .list(&caller, query.limit, query.cursor.as_deref())
        .await?;
    Ok(web::Json(page.into()))
}

/// Get a fault rule
///
/// The rule, if it applies to the caller's project (an admin reads every rule).
#[api_v2_operation(
    operation_id = "getFaultRule",
    tags(Faults),
    produces = "application/json, application/problem+json"
)]
pub async fn get(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<Uuid>,
) -> Result<web::Json<dto::FaultRule>, FaultFailure> {
    let rule = state
        .faults
        .get(&caller, FaultRuleId::from(id.into_inner()))
        .await?;
    Ok(web::Json(rule.into()))
}

/// Delete a fault rule
///
/// It stops firing on this replica at once and on the others within a second. Admin only.
#[api_v2_operation(
    operation_id = "deleteFaultRule",
    tags(Faults),
    produces = "application/json, application/problem+json"
)]
pub async fn delete(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<Uuid>,
) -> Result<Deleted, DeleteFaultFailure> {
    state
        .faults
        .delete(&caller, FaultRuleId::from(id.into_inner()))
        .await?;
    Ok(Deleted)
}
