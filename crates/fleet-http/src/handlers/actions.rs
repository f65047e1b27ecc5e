//! `/actions/{id}` and `/servers/{id}/actions`: action records.

use fleet_domain::ActionId;
use paperclip::actix::{api_v2_operation, web};
use uuid::Uuid;

use crate::auth::ApiCaller;
use crate::dto;
use crate::errors::{ActionFailure, ServerActionsFailure};
use crate::query::Query;
use crate::server_key::ServerKey;
use crate::state::AppState;

/// Get an action
///
/// One provisioning or action and what became of it: `running` until its transition
/// completes, then `success`, or `error` with the reason when the server was terminated
/// or failed first.
#[api_v2_operation(
    operation_id = "getAction",
    tags(Actions),
    produces = "application/json, application/problem+json"
)]
pub async fn get(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<Uuid>,
) -> Result<web::Json<dto::ActionRecord>, ActionFailure> {
    let action = state
        .watch
        .action(&caller, ActionId::from(id.into_inner()))
        .await?;
    Ok(web::Json(action.into()))
}

/// List a server's actions
///
/// A page of the server's provisioning and actions, newest first. Pass `next_cursor` back
/// as `cursor` for the next page.
#[api_v2_operation(
    operation_id = "listServerActions",
    tags(Actions),
    produces = "application/json, application/problem+json"
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<ServerKey>,
    query: Query<dto::ActionListQuery>,
) -> Result<web::Json<dto::ActionList>, ServerActionsFailure> {
    let query = query.into_inner();
    let id = id.into_inner().resolve(&state.servers, &caller).await?;
    let page = state
        .watch
        .server_actions(&caller, id, query.limit, query.cursor.as_deref())
        .await?;
    Ok(web::Json(page.into()))
}
