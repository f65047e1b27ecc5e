//! The REST adapter's middleware: every error response of its routes leaves as a problem
//! stamped with the request id, in the media type the request accepts
//! ([`crate::negotiate`]), its internal cause handed to the access log. The request id
//! itself, the access log and the HTTP metrics are `fleet_ops::observe`'s, around every
//! adapter.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError};
use fleet_ops::{FailureCause, RequestScope, labels};

use crate::negotiate;
use crate::problem::Problem;

/// Makes every error response a problem carrying the request id (see the module
/// documentation).
pub async fn problems(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static, BoxBody>>, Error> {
    let response = next.call(req).await?;
    let scope = RequestScope::of(response.request());
    Ok(finish_problem(response, scope.id()))
}

/// The response, or for an error response a problem with the request id, its cause (if
/// one was recorded) in the response's extensions for the access log.
fn finish_problem<B: MessageBody + 'static>(
    response: ServiceResponse<B>,
    request_id: &str,
) -> ServiceResponse<EitherBody<B, BoxBody>> {
    let status = response.status();
    if !status.is_client_error() && !status.is_server_error() {
        return response.map_into_left_body();
    }
    let problem = response
        .response()
        .extensions()
        .get::<Problem>()
        .cloned()
        .unwrap_or_else(|| bare_problem(&response, status))
        .with_request_id(request_id);
    let media_type = negotiate::problem_media_type(response.request());
    let (request, old) = response.into_parts();
    let mut new = problem.error_response();
    new.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE
            && name != header::CONTENT_LENGTH
            && !new.headers().contains_key(name)
        {
            new.headers_mut().append(name.clone(), value.clone());
        }
    }
    // The body's media type depends on `Accept`.
    new.headers_mut()
        .append(header::VARY, HeaderValue::from_static("accept"));
    if let Some(cause) = problem.cause {
        new.extensions_mut().insert(FailureCause(cause));
    }
    ServiceResponse::new(request, new).map_into_right_body()
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
                labels::shown_method(response.request().method())
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
