//! Parameters whose schema paperclip states wrongly or incompletely.

use serde_json::{Value, json};

use super::limits::Version;
use crate::handlers::events::LAST_EVENT_ID;

/// `X-Request-Id` is not a bound: an id the service does not keep (empty, longer than 128,
/// other characters than its description lists) is replaced by a generated one, never
/// refused, so its schema accepts any text and its description says which ids are kept.
/// `schema_of` finds a parameter's schema in the document's version (Swagger 2: the
/// parameter itself).
pub(crate) fn request_id_accepts_any_text(
    spec: &mut Value,
    schema_of: fn(&mut Value) -> Option<&mut Value>,
) {
    let parameters = super::parameters_mut(spec)
        .filter(|parameter| parameter["in"] == "header" && parameter["name"] == "X-Request-Id")
        .filter_map(schema_of)
        .filter_map(Value::as_object_mut);
    for schema in parameters {
        for bound in ["minLength", "maxLength", "pattern"] {
            schema.remove(bound);
        }
    }
}

/// A query parameter that takes several values takes them as the parameter repeated
/// (`?state=running&state=stopped`): Swagger 2 says so with `collectionFormat: multi` (its
/// default is comma-separated); OpenAPI 3's default for query parameters (`form`,
/// exploded) already means it.
pub(crate) fn repeat_arrays_in_swagger2(v2: &mut Value) {
    let arrays = super::parameters_mut(v2)
        .filter(|parameter| parameter["in"] == "query" && parameter["type"] == "array")
        .filter_map(Value::as_object_mut);
    for parameter in arrays {
        parameter.insert("collectionFormat".to_owned(), Value::from("multi"));
    }
}

/// `streamEvents` reads `Last-Event-ID` (what an `EventSource` sends when it reconnects)
/// itself, so paperclip does not know it; `version`'s parameter keeps its type in a
/// `schema` (OpenAPI 3) or on itself (Swagger 2). Its bound is in the limits table.
pub(crate) fn last_event_id(spec: &mut Value, version: Version) {
    let description = "The `seq` of the last event received: the stream starts after it, in \
                       place of `after`. What an `EventSource` sends when it reconnects.";
    let parameter = match version {
        Version::Swagger2 => json!({
            "in": "header",
            "name": LAST_EVENT_ID,
            "description": description,
            "type": "integer",
            "format": "int64",
        }),
        Version::OpenApi3 => json!({
            "in": "header",
            "name": LAST_EVENT_ID,
            "description": description,
            "schema": { "type": "integer", "format": "int64" },
            "style": "simple",
        }),
    };
    let parameters = super::operations_mut(spec)
        .filter(|operation| operation["operationId"] == "streamEvents")
        .filter_map(|operation| operation.get_mut("parameters"))
        .filter_map(Value::as_array_mut);
    for parameters in parameters {
        parameters.push(parameter.clone());
    }
}
