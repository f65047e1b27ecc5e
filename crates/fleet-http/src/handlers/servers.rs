//! `/servers`: provision, list, read and act on servers.

use std::time::Instant;

use fleet_domain::service::{ListRequest, ProvisionRequest};
use paperclip::actix::{api_v2_operation, web};

use crate::auth::ApiCaller;
use crate::body::JsonBody;
use crate::conditional::{IfMatch, IfNoneMatch};
use crate::dto;
use crate::errors::{
    ActFailure, CountFailure, GetFailure, ListFailure, ProvisionFailure, UpdateFailure,
};
use crate::idempotency::{IdempotencyKeyHeader, Idempotent};
use crate::metrics;
use crate::query::Query;
use crate::request::ApiScope;
use crate::responses::{ActionTaken, Created, ServerRead, TaggedServer, Updated};
use crate::server_key::ServerKey;
use crate::state::AppState;

/// Provision a server
///
/// Creates a server in `provisioning` with an address from its region's pool. It becomes
/// `running` on its own after the provisioning delay.
#[api_v2_operation(
    operation_id = "provisionServer",
    tags(Servers),
    consumes = "application/json",
    produces = "application/json, application/problem+json"
)]
pub async fn provision(
    state: web::Data<AppState>,
    caller: ApiCaller,
    scope: ApiScope,
    key: IdempotencyKeyHeader,
    body: JsonBody<dto::ProvisionRequest>,
) -> Idempotent<Created, ProvisionFailure> {
    let request = body.fingerprint(PROVISION, "");
    let work = provision_server(&state, &caller, &scope, body.into_inner());
    key.once(&state, &caller, request, work).await
}

/// Provision a server (alias)
///
/// The same as `POST /servers`, kept for clients of the original service.
#[api_v2_operation(
    operation_id = "provisionServerAlias",
    tags(Servers),
    consumes = "application/json",
    produces = "application/json, application/problem+json"
)]
pub async fn provision_alias(
    state: web::Data<AppState>,
    caller: ApiCaller,
    scope: ApiScope,
    key: IdempotencyKeyHeader,
    body: JsonBody<dto::ProvisionRequest>,
) -> Idempotent<Created, ProvisionFailure> {
    let request = body.fingerprint(PROVISION, "");
    let work = provision_server(&state, &caller, &scope, body.into_inner());
    key.once(&state, &caller, request, work).await
}

/// What both provisioning routes are to an `Idempotency-Key`: one operation.
const PROVISION: &str = "provisionServer";

async fn provision_server(
    state: &AppState,
    caller: &ApiCaller,
    scope: &ApiScope,
    body: dto::ProvisionRequest,
) -> Result<Created, ProvisionFailure> {
    let started = Instant::now();
    let request = ProvisionRequest {
        region: body.region,
        server_type: body.server_type,
        name: body.name,
        labels: body.labels.unwrap_or_default().0,
    };
    let result = state
        .servers
        .provision(caller, request, &scope.context(caller))
        .await;
    let outcome = if result.is_ok() { "ok" } else { "refused" };
    metrics::record_provision(outcome, started.elapsed());
    Ok(Created(result?.into()))
}

/// List servers
///
/// A page of servers, oldest first, optionally filtered. Pass `next_cursor` back as `cursor`
/// for the next page. A server terminated more than an hour ago (the service's
/// `FLEET_TERMINATED_LISTED_S`) is listed only when asked for by `state=terminated`, as EC2
/// stops listing a terminated instance; it can still be read by its id.
#[api_v2_operation(
    operation_id = "listServers",
    tags(Servers),
    produces = "application/json, application/problem+json"
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: ApiCaller,
    query: Query<dto::ListQuery>,
) -> Result<web::Json<dto::ServerList>, ListFailure> {
    let query = query.into_inner();
    // `state` wins over its alias: refusing the pair when they differ would be a rule
    // between parameters, which the spec cannot state.
    let request = ListRequest {
        region: query.region,
        server_type: query.server_type,
        state: query.state.or(query.status).map(Into::into),
        label_selector: query.label_selector,
        limit: query.limit,
        cursor: query.cursor,
        offset: query.offset,
    };
    let page = state.servers.list(&caller, request).await?;
    Ok(web::Json(page.into()))
}

/// Count servers
///
/// How many servers the caller sees (its project's; an admin's: every project's), by state
/// and by region (every state and region, zeros included) and by both, optionally only
/// those a label selector picks: what a dashboard shows without listing every server.
/// Terminated servers count for as long as `GET /servers` lists them.
#[api_v2_operation(
    operation_id = "countServers",
    tags(Servers),
    produces = "application/json, application/problem+json"
)]
pub async fn counts(
    state: web::Data<AppState>,
    caller: ApiCaller,
    query: Query<dto::CountsQuery>,
) -> Result<web::Json<dto::ServerCounts>, CountFailure> {
    let label_selector = query.into_inner().label_selector;
    let counts = state
        .servers
        .counts(&caller, label_selector.as_deref())
        .await?;
    Ok(web::Json(counts.into()))
}

/// Get a server
///
/// The server with its timestamps and what it has cost so far, and its `ETag`. With
/// `If-None-Match` naming its current `ETag`, a 304 without a body.
#[api_v2_operation(
    operation_id = "getServer",
    tags(Servers),
    produces = "application/json, application/problem+json"
)]
pub async fn get(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<ServerKey>,
    if_none_match: IfNoneMatch,
) -> Result<ServerRead, GetFailure> {
    let id = id.into_inner().resolve(&state.servers, &caller).await?;
    let view = state.servers.get(&caller, id).await?;
    let server = TaggedServer::from(view);
    Ok(if if_none_match.holds_current(server.etag) {
        ServerRead::NotModified(server.etag)
    } else {
        ServerRead::Changed(Box::new(server))
    })
}

/// Update a server
///
/// Renames and relabels a server with a JSON merge patch (RFC 7396): `name` replaces its
/// name; in `labels`, a value sets that label and `null` removes it, and labels not named
/// stay. Fields left out stay as they are; other fields cannot be patched (422). The change
/// is recorded as a `server.updated` event; a patch that changes nothing records nothing.
/// Sent as `application/merge-patch+json`, or as `application/json`, which means the same.
/// With `If-Match`, only if the server is still at that `ETag` (else 412).
#[api_v2_operation(
    operation_id = "updateServer",
    tags(Servers),
    consumes = "application/merge-patch+json",
    produces = "application/json, application/problem+json"
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: ApiCaller,
    scope: ApiScope,
    key: IdempotencyKeyHeader,
    id: web::Path<ServerKey>,
    if_match: IfMatch,
    body: JsonBody<dto::UpdateServerRequest>,
) -> Idempotent<Updated, UpdateFailure> {
    let id = id.into_inner();
    let request = body.fingerprint("updateServer", &id.to_string());
    let work = update_server(&state, &caller, &scope, id, body.into_inner(), &if_match);
    key.once(&state, &caller, request, work).await
}

async fn update_server(
    state: &AppState,
    caller: &ApiCaller,
    scope: &ApiScope,
    id: ServerKey,
    body: dto::UpdateServerRequest,
    if_match: &IfMatch,
) -> Result<Updated, UpdateFailure> {
    let id = id.resolve(&state.servers, caller).await?;
    let view = state
        .servers
        .update(
            caller,
            id,
            body.into(),
            if_match.condition(),
            &scope.context(caller),
        )
        .await?;
    Ok(Updated(view.into()))
}

/// Act on a server
///
/// Start, stop, reboot or terminate. 202 when the server moved into the action's
/// transitional state; 200 when it already was in, or heading to, that state (retrying is
/// safe); 409 when its state does not allow the action. With `If-Match`, only if the server
/// is still at that `ETag` (else 412).
#[api_v2_operation(
    operation_id = "actOnServer",
    tags(Servers),
    consumes = "application/json",
    produces = "application/json, application/problem+json"
)]
pub async fn act(
    state: web::Data<AppState>,
    caller: ApiCaller,
    scope: ApiScope,
    key: IdempotencyKeyHeader,
    id: web::Path<ServerKey>,
    if_match: IfMatch,
    body: JsonBody<dto::ActionRequest>,
) -> Idempotent<ActionTaken, ActFailure> {
    let id = id.into_inner();
    let request = body.fingerprint("actOnServer", &id.to_string());
    let work = act_on_server(&state, &caller, &scope, id, body.action.into(), &if_match);
    key.once(&state, &caller, request, work).await
}

async fn act_on_server(
    state: &AppState,
    caller: &ApiCaller,
    scope: &ApiScope,
    id: ServerKey,
    action: fleet_domain::Action,
    if_match: &IfMatch,
) -> Result<ActionTaken, ActFailure> {
    let id = id.resolve(&state.servers, caller).await?;
    let result = state
        .servers
        .act(
            caller,
            id,
            action,
            if_match.condition(),
            &scope.context(caller),
        )
        .await;
    metrics::record_acted(action, &result);
    let outcome = result?;
    Ok(ActionTaken {
        server: outcome.view.into(),
        changed: outcome.changed,
    })
}
