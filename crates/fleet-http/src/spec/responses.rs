//! The responses of every operation as the service sends them: successes as
//! `application/json` (or Server-Sent Events), errors as the one `Problem` in both media
//! types the service negotiates ([`crate::negotiate`]), and response headers OpenAPI 3
//! accepts.

use serde_json::{Map, Value, json};

use crate::problem::PROBLEM_JSON;

const JSON: &str = "application/json";
/// The media type of a CSV export (`GET /costs`), offered beside JSON.
const CSV: &str = "text/csv";
/// The media type of Server-Sent Events (`GET /events/stream`).
pub(crate) const EVENT_STREAM: &str = "text/event-stream";

/// Every response of every operation of `v3`.
fn responses(v3: &mut Value) -> impl Iterator<Item = (&String, &mut Map<String, Value>)> {
    super::operations_mut(v3)
        .filter_map(|operation| {
            operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
        })
        .flat_map(|responses| responses.iter_mut())
        .filter_map(|(status, response)| Some((status, response.as_object_mut()?)))
}

/// paperclip gives every response every media type its operation produces: a success
/// keeps its own schema as `application/json` (as `text/event-stream` for the one stream
/// of Server-Sent Events); an error is the `Problem`, as
/// `application/problem+json` or, for a client that does not accept that, as
/// `application/json` (what generated clients such as progenitor's decode).
pub(crate) fn media_types(v3: &mut Value) {
    let problem = json!({ "schema": { "$ref": "#/components/schemas/Problem" } });
    for (status, response) in responses(v3) {
        let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) else {
            continue;
        };
        let is_error = status.starts_with('4') || status.starts_with('5');
        if is_error {
            content.clear();
            content.insert(PROBLEM_JSON.to_owned(), problem.clone());
            content.insert(JSON.to_owned(), problem.clone());
        } else if let Some(media) = content.values().next().cloned() {
            let media_type = if content.contains_key(EVENT_STREAM) {
                EVENT_STREAM
            } else {
                JSON
            };
            let csv = content.contains_key(CSV);
            content.clear();
            content.insert(media_type.to_owned(), media);
            if csv {
                content.insert(CSV.to_owned(), json!({ "schema": { "type": "string" } }));
            }
        }
    }
}

/// paperclip's v3 conversion drops a response header's type and leaves an empty `content`,
/// which OpenAPI 3 forbids; every header this API documents is a string (`Retry-After`
/// included: its integer type is lost with the rest).
pub(crate) fn headers(v3: &mut Value) {
    let headers = responses(v3)
        .filter_map(|(_, response)| response.get_mut("headers").and_then(Value::as_object_mut))
        .flat_map(|headers| headers.values_mut())
        .filter_map(Value::as_object_mut);
    for header in headers {
        header.remove("content");
        header.remove("style");
        header
            .entry("schema")
            .or_insert_with(|| json!({ "type": "string" }));
    }
}
