//! `POST /servers/actions`: one action on every server a label selector picks.

use paperclip::actix::{api_v2_operation, web};

use crate::auth::ApiCaller;
use crate::body::JsonBody;
use crate::dto::{self, BulkActionReport, BulkActionResult};
use crate::errors::BulkActionFailure;
use crate::idempotency::{IdempotencyKeyHeader, Idempotent};
use crate::metrics;
use crate::request::ApiScope;
use crate::state::AppState;

/// Act on servers by label
///
/// Starts, stops, reboots or terminates every server of your project (an admin's too)
/// whose labels match `label_selector` and that passes the other filters, terminated
/// servers left out: each as its own action, as `POST /servers/{id}/action` would, so one
/// server's conflict or failure stops none of the others. The answer lists each server's
/// outcome (`accepted` with the action's record, `noop`, `conflict`, `failed` with the
/// problem) and counts them. At most 1,000 servers: when more match, the request is a 422
/// `too-many-servers` problem saying how many, and nothing changes. The selector must have
/// a requirement. With an `Idempotency-Key`, a retry is answered with the first report
/// and acts on nothing again.
#[api_v2_operation(
    operation_id = "actOnServers",
    tags(Servers),
    consumes = "application/json",
    produces = "application/json, application/problem+json"
)]
pub async fn act(
    state: web::Data<AppState>,
    caller: ApiCaller,
    scope: ApiScope,
    key: IdempotencyKeyHeader,
    body: JsonBody<dto::BulkActionRequest>,
) -> Idempotent<web::Json<BulkActionReport>, BulkActionFailure> {
    let request = body.fingerprint("actOnServers", "");
    let work = act_on_selected(&state, &caller, &scope, body.into_inner());
    key.once(&state, &caller, request, work).await
}

async fn act_on_selected(
    state: &AppState,
    caller: &ApiCaller,
    scope: &ApiScope,
    request: dto::BulkActionRequest,
) -> Result<web::Json<BulkActionReport>, BulkActionFailure> {
    let action = request.action;
    let results = state
        .servers
        .act_on_selected(caller, request.into(), &scope.context(caller))
        .await?;
    let results = results
        .into_iter()
        .map(|result| {
            metrics::record_acted(action.into(), &result.outcome);
            BulkActionResult::new(result, scope.0.id())
        })
        .collect();
    Ok(web::Json(BulkActionReport::new(action, results)))
}
