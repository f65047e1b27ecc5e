//! How the operational routes refuse, and how any route hands the access log the cause of
//! its failure.
//!
//! The routes here answer with RFC 9457 problem details, the shape of the REST API's
//! errors: people and probes read them whichever adapters are mounted, and one shape of
//! error across the service is what they expect.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use serde_json::json;

/// The media type of a problem body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Seconds a client should wait before asking a service that is not ready again.
const RETRY_AFTER_SECONDS: u32 = 5;

/// The internal cause of a failed response, for the access log only (the response never
/// shows it): whoever renders an error response puts it in the response's extensions, and
/// [`crate::observe`] logs it with the request's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureCause(pub String);

/// A problem response of kind `slug`, carrying the request id, with its cause for the log.
pub fn problem(
    status: StatusCode,
    slug: &str,
    detail: &str,
    request_id: &str,
    cause: Option<String>,
) -> HttpResponse {
    let body = json!({
        "type": format!("urn:fleet:problem:{slug}"),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
        "request_id": request_id,
    });
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS));
    }
    let mut response = response.body(body.to_string());
    if let Some(cause) = cause {
        response.extensions_mut().insert(FailureCause(cause));
    }
    response
}
