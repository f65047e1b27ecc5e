//! Request bodies: closed to unknown fields, as the DTOs are (`deny_unknown_fields`), and
//! each with an example a reader can send as it is.

use serde_json::{Value, json};

/// The request bodies, each with an example that the service accepts (against the
/// built-in catalog).
pub(crate) fn examples() -> [(&'static str, Value); 7] {
    [
        (
            "ProvisionRequest",
            json!({ "region": "us-east-1", "type": "t2.micro", "name": "web-1" }),
        ),
        ("ActionRequest", json!({ "action": "stop" })),
        ("AdvanceRequest", json!({ "seconds": 3600 })),
        ("CreateProjectRequest", json!({ "name": "team-a" })),
        (
            "UpdateProjectRequest",
            json!({ "name": "team-b", "rate_limit_per_minute": 600 }),
        ),
        (
            "CreateKeyRequest",
            json!({ "role": "member", "description": "CI deploys" }),
        ),
        (
            "SetQuotasRequest",
            json!({ "max_servers": 10, "max_vcpus": 32 }),
        ),
    ]
}

/// Closes every request body's schema, in either version of the document (`schemas`:
/// `definitions` or `components/schemas`).
pub(crate) fn close(schemas: Option<&mut Value>) {
    let Some(schemas) = schemas.and_then(Value::as_object_mut) else {
        return;
    };
    for (name, _) in examples() {
        if let Some(schema) = schemas.get_mut(name).and_then(Value::as_object_mut) {
            schema.insert("additionalProperties".to_owned(), Value::Bool(false));
        }
    }
}

/// Puts each body's example on the operations that take it.
pub(crate) fn add_examples(v3: &mut Value) {
    let examples = examples();
    let media = super::operations_mut(v3)
        .filter_map(|operation| operation.pointer_mut("/requestBody/content/application~1json"))
        .filter_map(Value::as_object_mut);
    for media in media {
        let body = media
            .get("schema")
            .and_then(|schema| schema["$ref"].as_str())
            .and_then(|reference| reference.rsplit('/').next())
            .map(str::to_owned);
        let example = examples
            .iter()
            .find(|(name, _)| Some(*name) == body.as_deref());
        if let Some((_, example)) = example {
            media.insert("example".to_owned(), example.clone());
        }
    }
}
