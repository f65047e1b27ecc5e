//! `/events` and `/events/stream`: the global event sequence, a page at a time or as
//! Server-Sent Events.

use fleet_domain::ServerId;
use fleet_domain::service::EventsRequest;
use paperclip::actix::{api_v2_operation, web};

use crate::auth::ApiCaller;
use crate::dto;
use crate::errors::{EventsFailure, StreamFailure};
use crate::extract::truncate;
use crate::problem::Problem;
use crate::query::MultiQuery;
use crate::request::ApiScope;
use crate::responses::EventStream;
use crate::resume::LastEventId;
use crate::state::AppState;

/// List events
///
/// The events of your project's servers (an admin's: every project's) after the cursor
/// `after`, oldest first, optionally filtered by server and type. Follow the sequence by
/// passing `next_after` back as `after`: no event is ever skipped, also under concurrent
/// writers. A cursor older than the retention window is 410 Gone.
#[api_v2_operation(
    operation_id = "listEvents",
    tags(Events),
    produces = "application/json, application/problem+json"
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: ApiCaller,
    query: MultiQuery<dto::EventsParams, dto::EventsQuery>,
) -> Result<web::Json<dto::EventPage>, EventsFailure> {
    let params = query.into_inner();
    let limit = params.limit.as_deref().map(parse_limit).transpose()?;
    let request = events_request::<EventsFailure>(params)?;
    let page = state.watch.events(&caller, request, limit).await?;
    Ok(web::Json(page.into()))
}

/// Stream events
///
/// The events of `GET /events` as Server-Sent Events (`text/event-stream`), from the cursor
/// on (`Last-Event-ID`, else `after`, else from now), as they happen. Each message has
/// `id:` the event's `seq`, `event:` its type and `data:` the event as JSON. A client that
/// reconnects with `Last-Event-ID` receives exactly what it missed, in order, without
/// duplicates. The stream ends when the service shuts down; reconnect after the `retry:`
/// hint.
#[api_v2_operation(
    operation_id = "streamEvents",
    tags(Events),
    produces = "text/event-stream, application/problem+json"
)]
pub async fn stream(
    state: web::Data<AppState>,
    caller: ApiCaller,
    scope: ApiScope,
    query: MultiQuery<dto::EventsParams, dto::StreamQuery>,
    last_event_id: LastEventId,
) -> Result<EventStream, StreamFailure> {
    let mut request = events_request::<StreamFailure>(query.into_inner())?;
    request.last_event_id = last_event_id.0;
    let follower = state.watch.follow(&caller, request).await?;
    Ok(EventStream {
        follower,
        shutdown: state.shutdown.clone(),
        logger: scope.logger().clone(),
    })
}

fn events_request<F: From<Problem>>(params: dto::EventsParams) -> Result<EventsRequest, F> {
    let server = params
        .server_id
        .map(|text| {
            text.parse::<ServerId>().map_err(|_| {
                F::from(Problem::bad_request(
                    "invalid-query",
                    format!(
                        "server_id: '{}' is not a server id (a UUID)",
                        truncate(&text)
                    ),
                ))
            })
        })
        .transpose()?;
    Ok(EventsRequest {
        after: params.after,
        server,
        types: params.types,
        label_selector: params.label_selector,
        last_event_id: None,
    })
}

fn parse_limit(text: &str) -> Result<i64, EventsFailure> {
    text.parse().map_err(|_| {
        EventsFailure::from(Problem::bad_request(
            "invalid-query",
            format!(
                "limit must be a whole number from 1 to 100, got '{}'",
                truncate(text)
            ),
        ))
    })
}
