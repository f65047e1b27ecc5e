//! Parameters whose schema paperclip states wrongly or incompletely.

use serde_json::{Value, json};

use crate::idempotency::KEY_HEADER;

/// The component of an `Idempotency-Key`, which every operation that takes one refers to.
pub(crate) const KEY_COMPONENT: &str = "IdempotencyKey";

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

/// Every `Idempotency-Key` header refers to one `IdempotencyKey` component (its bounds are
/// the limits table's), so a generated client has one type for it rather than one per
/// operation.
pub(crate) fn idempotency_key_is_a_component(v3: &mut Value) {
    let mut used = false;
    let schemas = super::parameters_mut(v3)
        .filter(|parameter| parameter["in"] == "header" && parameter["name"] == KEY_HEADER)
        .filter_map(|parameter| parameter.get_mut("schema"));
    for schema in schemas {
        *schema = json!({ "$ref": format!("#/components/schemas/{KEY_COMPONENT}") });
        used = true;
    }
    let schemas = v3
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut);
    if let (true, Some(schemas)) = (used, schemas) {
        schemas.insert(
            KEY_COMPONENT.to_owned(),
            json!({
                "type": "string",
                "description": "A client's name for one request (draft-ietf-httpapi-idempotency-key-header): \
                    bare or in double quotes, which name the same key.",
            }),
        );
    }
}
