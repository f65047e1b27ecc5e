//! How malformed input is refused: the extractor configurations that turn bad ids and
//! bodies into problem responses instead of actix's defaults (query strings: [`crate::query`]).

use actix_web::error::{JsonPayloadError, PathError};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};

use crate::problem::Problem;

/// The largest request body accepted, in bytes. Every body of this API is a few fields.
pub const MAX_BODY_BYTES: usize = 8 * 1024;

/// JSON bodies: at most [`MAX_BODY_BYTES`], `application/json` only, valid JSON (the shape
/// is checked by [`crate::body::JsonBody`]).
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .error_handler(|error, _| json_problem(&error).into())
}

/// Path parameters: a malformed id is a 400, not actix's 404.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|error, req| path_problem(&error, req).into())
}

fn json_problem(error: &JsonPayloadError) -> Problem {
    match error {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                format!("the body must be at most {MAX_BODY_BYTES} bytes"),
            )
        }
        JsonPayloadError::ContentType => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "the body must be JSON, sent with Content-Type: application/json",
        ),
        JsonPayloadError::Deserialize(e) => {
            Problem::bad_request("malformed-body", format!("the body is not valid JSON: {e}"))
        }
        other => Problem::bad_request("malformed-body", other.to_string()),
    }
}

fn path_problem(error: &PathError, req: &HttpRequest) -> Problem {
    let id = req.match_info().get("id").unwrap_or_default();
    let PathError::Deserialize(e) = error else {
        return Problem::bad_request("invalid-id", error.to_string());
    };
    let resource = resource_of(req.match_pattern().as_deref().unwrap_or_default());
    Problem::bad_request(
        "invalid-id",
        format!("'{}' is not a {resource} id (a UUID): {e}", truncate(id)),
    )
}

/// What the `{id}` of a route pattern names, from the collection it follows.
fn resource_of(pattern: &str) -> &'static str {
    match pattern.split('/').nth(1) {
        Some("projects") => "project",
        Some("keys") => "key",
        Some("actions") => "action",
        _ => "server",
    }
}

/// At most 64 characters of client input echoed back.
pub(crate) fn truncate(text: &str) -> String {
    text.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_errors_map_to_their_statuses() {
        assert_eq!(
            json_problem(&JsonPayloadError::Overflow { limit: 1 }).status,
            413
        );
        assert_eq!(json_problem(&JsonPayloadError::ContentType).status, 415);
        let syntax = serde_json::from_str::<serde_json::Value>("{").expect_err("eof");
        assert_eq!(
            json_problem(&JsonPayloadError::Deserialize(syntax)).status,
            400
        );
    }

    #[test]
    fn a_bad_id_is_named_after_its_resource() {
        assert_eq!(resource_of("/servers/{id}/logs"), "server");
        assert_eq!(resource_of("/projects/{id}/keys"), "project");
        assert_eq!(resource_of("/keys/{id}"), "key");
        assert_eq!(resource_of("/actions/{id}"), "action");
    }

    #[test]
    fn echoed_input_is_bounded() {
        assert_eq!(truncate(&"é".repeat(100)).chars().count(), 64);
    }
}
