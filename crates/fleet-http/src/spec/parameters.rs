//! Parameters whose schema paperclip states wrongly or incompletely, or whose description
//! several operations share.

use fleet_domain::selector::{MAX_REQUIREMENTS, MAX_SET_VALUES};
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

/// What every `label_selector` query parameter says after its own first sentence (what it
/// selects): the grammar, its bounds and the refusal, the same for every operation.
pub(crate) fn label_selector_grammar() -> String {
    format!(
        "The Kubernetes grammar: requirements separated by commas, all of which must hold, \
         each `key=value` (or `==`), `key!=value`, `key in (v1,v2)`, `key notin (v1,v2)`, \
         `key` (the label is present) or `!key` (it is absent); `!=` and `notin` also match \
         when the key is absent. At most {MAX_REQUIREMENTS} requirements and {MAX_SET_VALUES} \
         values per set; keys and values follow the label rules. A malformed selector is a \
         400 `invalid-label-selector` problem whose `position` is the character where it \
         went wrong."
    )
}

/// Completes the description of every `label_selector` query parameter (its field's doc
/// comment says what it selects) with [`label_selector_grammar`], written once.
pub(crate) fn label_selectors_share_their_grammar(spec: &mut Value) {
    let grammar = label_selector_grammar();
    let selectors = super::parameters_mut(spec)
        .filter(|parameter| parameter["in"] == "query" && parameter["name"] == "label_selector");
    for parameter in selectors {
        let own = parameter["description"].as_str().unwrap_or_default().trim();
        let description = format!("{own} {grammar}");
        parameter["description"] = Value::from(description.trim_start());
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
