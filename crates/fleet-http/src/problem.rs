//! RFC 9457 problem details: the one shape of every error this API returns.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use fleet_domain::SelectorError;
use fleet_ops::ratelimit::Limited;
use paperclip::actix::Apiv2Schema;
use serde::{Deserialize, Serialize};

use crate::dto::{Action, Role, ServerState};

/// The media type of a problem body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Seconds a client should wait before retrying when the store is unavailable.
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// An error response (RFC 9457 problem details).
// Deserialize: a recorded answer is read back to be replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Apiv2Schema)]
pub struct Problem {
    /// A URI naming the kind of problem, e.g. "urn:fleet:problem:not-found".
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, in words.
    pub detail: String,
    /// The request id, as echoed in the `X-Request-Id` header.
    pub request_id: String,
    /// For a conflict: the state the server is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<ServerState>,
    /// For a conflict: the actions the server's state accepts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_actions: Option<Vec<Action>>,
    /// For a request refused for its key's role (403): the least role that may do it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_role: Option<Role>,
    /// For a quota exceeded (403): the quota, `servers` or `vcpus`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<String>,
    /// For a quota exceeded: its limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// For a quota exceeded: the project's use of it before the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used: Option<u64>,
    /// For a quota exceeded: what the request would have added to the use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<u64>,
    /// For an invalid label selector (400): the character, counted from 0, where it went
    /// wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
    /// For a failed precondition (412): the server's current `ETag`, to read it again by
    /// or to condition the next change on once it has been read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// For a bulk action that matches too many servers (422): how many match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<u64>,
    /// The internal cause of a 5xx, for the log only; never sent.
    #[serde(skip)]
    pub cause: Option<String>,
    /// For a 401: the `WWW-Authenticate` challenge sent with it.
    #[serde(skip)]
    pub challenge: Option<&'static str>,
    /// For a 429: the seconds of its `Retry-After`.
    #[serde(skip)]
    pub retry_after_secs: Option<u64>,
}

impl Problem {
    /// A problem of kind `slug` (the last part of its type URI) with this status and detail.
    pub fn new(status: StatusCode, slug: &str, detail: impl Into<String>) -> Self {
        Self {
            problem_type: format!("urn:fleet:problem:{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            request_id: String::new(),
            state: None,
            allowed_actions: None,
            required_role: None,
            quota: None,
            limit: None,
            used: None,
            requested: None,
            position: None,
            etag: None,
            matched: None,
            cause: None,
            challenge: None,
            retry_after_secs: None,
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(slug: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, slug, detail)
    }

    /// 400: a label selector that does not parse or breaks a bound (`GET /servers`,
    /// `GET /events`, the stream), with the character where it went wrong.
    pub fn invalid_label_selector(error: &SelectorError, detail: impl Into<String>) -> Self {
        let mut problem = Self::bad_request("invalid-label-selector", detail);
        problem.position = error.position().and_then(|at| u64::try_from(at).ok());
        problem
    }

    /// 404: no such resource.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    /// 422: a well-formed body whose content cannot be accepted.
    pub fn unprocessable(slug: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, slug, detail)
    }

    /// 401: no usable API key. One detail whatever failed (no key, not a key, an unknown,
    /// wrong or revoked one), so a client probing keys learns nothing from it; the challenge
    /// says `invalid_token` when a key was presented (RFC 6750).
    pub fn unauthorized(key_presented: bool) -> Self {
        let mut problem = Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this request needs a valid API key, sent as `Authorization: Bearer <key>`",
        );
        problem.challenge = Some(if key_presented {
            r#"Bearer error="invalid_token""#
        } else {
            "Bearer"
        });
        problem
    }

    /// 403: a change made with the console's session cookie but without the session's
    /// CSRF token, as a page of another site would make it.
    pub fn csrf_token_invalid() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            fleet_ops::session::CSRF_PROBLEM,
            fleet_ops::session::CSRF_DETAIL,
        )
    }

    /// 429: the caller is over its rate limit; `Retry-After` says when one more request is
    /// allowed.
    pub fn rate_limited(limited: Limited) -> Self {
        let mut problem = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            format!(
                "more than {} requests a minute; retry after {} s",
                limited.limit, limited.retry_after_secs
            ),
        );
        problem.retry_after_secs = Some(limited.retry_after_secs);
        problem
    }

    /// 503: the store cannot be reached; retry later.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the store is unavailable; retry later",
        )
    }

    /// 500: a fault of the service; its cause is logged, never shown to the client.
    pub fn internal(cause: impl fmt::Display) -> Self {
        let mut problem = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the service failed to handle the request; the failure is logged with its request id",
        );
        problem.cause = Some(cause.to_string());
        problem
    }

    /// The same problem, with an internal cause for the log.
    pub fn with_cause(mut self, cause: impl fmt::Display) -> Self {
        self.cause = Some(cause.to_string());
        self
    }

    /// The same problem, stamped with the request id.
    pub fn with_request_id(mut self, request_id: &str) -> Self {
        request_id.clone_into(&mut self.request_id);
        self
    }

    /// The HTTP status.
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.title, self.detail)
    }
}

impl std::error::Error for Problem {}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        Problem::status_code(self)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if let Some(secs) = self.retry_after_secs {
            response.insert_header((header::RETRY_AFTER, secs));
        } else if self.status_code() == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS));
        }
        if let Some(challenge) = self.challenge {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            ));
        }
        let mut response = match serde_json::to_string(self) {
            Ok(body) => response.body(body),
            Err(_) => response.finish(),
        };
        // The request-id middleware finds the problem here to stamp the id into the body.
        response.extensions_mut().insert(self.clone());
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    #[actix_web::test]
    async fn a_problem_renders_as_problem_json_with_its_request_id() {
        let problem = Problem::not_found("server x not found").with_request_id("req-1");
        let response = problem.error_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE),
            Some(&HeaderValue::from_static(PROBLEM_JSON))
        );
        let body = to_bytes(response.into_body()).await.expect("body");
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "type": "urn:fleet:problem:not-found",
                "title": "Not Found",
                "status": 404,
                "detail": "server x not found",
                "request_id": "req-1",
            })
        );
    }

    #[test]
    fn unauthorized_challenges_for_a_bearer_token() {
        for (presented, challenge) in [(false, "Bearer"), (true, r#"Bearer error="invalid_token""#)]
        {
            let response = Problem::unauthorized(presented).error_response();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(
                response.headers().get(header::WWW_AUTHENTICATE),
                Some(&HeaderValue::from_static(challenge))
            );
        }
        assert_eq!(
            Problem::unauthorized(false).detail,
            Problem::unauthorized(true).detail,
            "one detail, whatever failed"
        );
    }

    #[test]
    fn rate_limited_says_when_to_retry() {
        let limited = Limited {
            limit: std::num::NonZeroU32::new(60).expect("non-zero"),
            retry_after_secs: 3,
        };
        let problem = Problem::rate_limited(limited);
        assert_eq!(problem.problem_type, "urn:fleet:problem:rate-limited");
        let response = problem.error_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            response.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from(3u64))
        );
    }

    #[test]
    fn unavailable_asks_the_client_to_retry_later() {
        let response = Problem::unavailable().error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from(RETRY_AFTER_SECONDS))
        );
    }
}
