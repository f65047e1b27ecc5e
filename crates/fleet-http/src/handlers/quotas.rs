//! `/projects/{id}/quotas`: a project's limits, set by an admin.

use fleet_domain::error::ProjectError;
use fleet_domain::{ProjectId, quota};
use paperclip::actix::{api_v2_operation, web};
use uuid::Uuid;

use crate::auth::ApiCaller;
use crate::body::JsonBody;
use crate::dto;
use crate::errors::{QuotasFailure, SetQuotasFailure};
use crate::state::AppState;

/// Get a project's quotas
///
/// Its limits and its current use: servers that are not terminated, and vCPUs of servers
/// provisioning, starting, running or rebooting. Admin only.
#[api_v2_operation(
    operation_id = "getProjectQuotas",
    tags(Projects),
    produces = "application/json, application/problem+json"
)]
pub async fn get(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<Uuid>,
) -> Result<web::Json<dto::ProjectQuotas>, QuotasFailure> {
    let id = ProjectId::from(id.into_inner());
    let quotas = state.projects.quotas(&caller, id).await?;
    Ok(web::Json(quotas.into()))
}

/// Set a project's quotas
///
/// Replaces both limits; an absent or null one is no limit. A limit below the current use
/// is accepted: it refuses further provisions and starts, and changes no server. Checked
/// in the same transaction as each provision and start, on every replica. Admin only.
#[api_v2_operation(
    operation_id = "setProjectQuotas",
    tags(Projects),
    consumes = "application/json",
    produces = "application/json, application/problem+json"
)]
pub async fn set(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<Uuid>,
    body: JsonBody<dto::SetQuotasRequest>,
) -> Result<web::Json<dto::ProjectQuotas>, SetQuotasFailure> {
    let id = ProjectId::from(id.into_inner());
    let limits = quota::limits(body.max_servers, body.max_vcpus).map_err(ProjectError::from)?;
    let quotas = state.projects.set_quotas(&caller, id, limits).await?;
    Ok(web::Json(quotas.into()))
}
