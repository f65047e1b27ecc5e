//! `/servers/{id}/logs` and `/servers/{id}/billing`: a server's history.

use paperclip::actix::{api_v2_operation, web};

use crate::auth::ApiCaller;
use crate::dto;
use crate::errors::HistoryFailure;
use crate::query::Query;
use crate::server_key::ServerKey;
use crate::state::AppState;

/// Get a server's events
///
/// Its newest lifecycle events, newest first: at most `limit`, and at most 100.
#[api_v2_operation(
    operation_id = "getServerEvents",
    tags(Servers),
    produces = "application/json, application/problem+json"
)]
pub async fn events(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<ServerKey>,
    query: Query<dto::HistoryQuery>,
) -> Result<web::Json<dto::EventList>, HistoryFailure> {
    let id = id.into_inner().resolve(&state.servers, &caller).await?;
    let events = state.servers.events(&caller, id, query.limit).await?;
    Ok(web::Json(dto::EventList {
        server_id: id.as_uuid(),
        items: events.into_iter().map(Into::into).collect(),
    }))
}

/// Get a server's billing
///
/// Its totals counting the open run, and a page of its usage ledger, oldest first: at most
/// `limit` records (1 to 100, 100 when left out), after the `cursor` of the previous page.
#[api_v2_operation(
    operation_id = "getServerBilling",
    tags(Servers),
    produces = "application/json, application/problem+json"
)]
pub async fn billing(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<ServerKey>,
    query: Query<dto::BillingQuery>,
) -> Result<web::Json<dto::BillingReport>, HistoryFailure> {
    let query = query.into_inner();
    let id = id.into_inner().resolve(&state.servers, &caller).await?;
    let report = state
        .servers
        .usage(&caller, id, query.limit, query.cursor.as_deref())
        .await?;
    Ok(web::Json(report.into()))
}
