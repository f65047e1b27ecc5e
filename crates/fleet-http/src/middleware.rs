//! The middleware every request passes through: it gives the request its id and logger,
//! stamps the id on problem bodies and the response, turns any bare error response into a
//! problem, writes the access-log line and records the HTTP metrics.

use std::time::Instant;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, ResponseError, web};

use crate::metrics;
use crate::problem::Problem;
use crate::request::{REQUEST_ID_HEADER, RequestScope};
use crate::state::AppState;

/// The route label of requests that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The outermost middleware of the app (see the module documentation).
pub async fn observe(
    state: web::Data<AppState>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static, BoxBody>>, Error> {
    let started = Instant::now();
    let incoming = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok());
    let scope = RequestScope::new(incoming, &state.logger);
    req.extensions_mut().insert(scope.clone());
    let method = req.method().to_string();

    let response = next.call(req).await?;

    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| UNMATCHED_ROUTE.to_owned());
    let (mut response, cause) = finish_problem(response, scope.id());
    response.headers_mut().insert(
        HeaderName::from_static(REQUEST_ID_HEADER),
        HeaderValue::from_str(scope.id()).unwrap_or_else(|_| HeaderValue::from_static("invalid")),
    );

    let status = response.status();
    let elapsed = started.elapsed();
    metrics::record_request(&method, &route, status.as_u16(), elapsed);
    let log = scope.logger();
    let latency_ms = elapsed.as_secs_f64() * 1_000.0;
    if status.is_server_error() {
        slog::error!(log, "request failed";
            "method" => &method, "route" => &route, "status" => status.as_u16(),
            "latency_ms" => latency_ms, "cause" => cause.unwrap_or_default());
    } else {
        slog::info!(log, "request";
            "method" => &method, "route" => &route, "status" => status.as_u16(),
            "latency_ms" => latency_ms);
    }
    Ok(response)
}

/// Makes every error response a problem carrying the request id; returns the response and
/// the internal cause of the failure, if one was recorded.
fn finish_problem<B: MessageBody + 'static>(
    response: ServiceResponse<B>,
    request_id: &str,
) -> (ServiceResponse<EitherBody<B, BoxBody>>, Option<String>) {
    let status = response.status();
    if !status.is_client_error() && !status.is_server_error() {
        return (response.map_into_left_body(), None);
    }
    let problem = response
        .response()
        .extensions()
        .get::<Problem>()
        .cloned()
        .unwrap_or_else(|| bare_problem(&response, status));
    let cause = problem.cause.clone();
    let (request, old) = response.into_parts();
    let mut new = problem.with_request_id(request_id).error_response();
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE
            && name != header::CONTENT_LENGTH
            && !new.headers().contains_key(name)
        {
            new.headers_mut().append(name.clone(), value.clone());
        }
    }
    (
        ServiceResponse::new(request, new).map_into_right_body(),
        cause,
    )
}

/// A problem for an error response that was not made from one: actix's own 404 and 405,
/// or an error type this crate does not know.
fn bare_problem<B>(response: &ServiceResponse<B>, status: StatusCode) -> Problem {
    let error = response.response().error().map(ToString::to_string);
    match status {
        StatusCode::NOT_FOUND => Problem::new(status, "route-not-found", "no such route"),
        StatusCode::METHOD_NOT_ALLOWED => Problem::new(
            status,
            "method-not-allowed",
            format!(
                "{} is not allowed on this route",
                response.request().method()
            ),
        ),
        s if s.is_server_error() => {
            Problem::internal(error.unwrap_or_else(|| "an error response without a cause".into()))
        }
        s => Problem::new(
            s,
            "bad-request",
            error.unwrap_or_else(|| s.canonical_reason().unwrap_or("bad request").to_owned()),
        ),
    }
}
