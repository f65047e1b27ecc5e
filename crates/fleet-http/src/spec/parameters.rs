//! Parameters whose schema paperclip states wrongly.

use serde_json::Value;

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
