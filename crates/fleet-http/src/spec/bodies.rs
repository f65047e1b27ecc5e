//! Request bodies: closed to unknown fields, as the DTOs are (`deny_unknown_fields`), each
//! with an example a reader can send as it is, and each in its media type.

use serde_json::{Value, json};

/// The request bodies, each with an example that the service accepts (against the
/// built-in catalog).
pub(crate) fn examples() -> [(&'static str, Value); 13] {
    [
        (
            "ProvisionRequest",
            json!({
                "region": "us-east-1",
                "type": "t2.micro",
                "name": "web-1",
                "labels": { "env": "prod", "app.kubernetes.io/name": "shop" }
            }),
        ),
        (
            "UpdateServerRequest",
            json!({ "name": "web-2", "labels": { "env": "staging", "canary": "" , "tier": null } }),
        ),
        ("ActionRequest", json!({ "action": "stop" })),
        (
            "BulkActionRequest",
            json!({ "label_selector": "env=dev,tier in (web,cache)", "action": "stop" }),
        ),
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
        (
            "CreateFaultRuleRequest",
            json!({
                "operations": ["provision", "action:start"],
                "regions": ["us-east-1"],
                "label_selector": "env=staging",
                "probability": 0.25,
                "max_count": 100,
                "effect": { "kind": "error", "status": 503, "retry_after_seconds": 5 }
            }),
        ),
        (
            "CreateWebhookRequest",
            json!({
                "url": "https://hooks.example.com/fleet",
                "description": "chat-ops bot",
                "event_types": ["server.state_changed", "server.fault_injected"],
                "label_selector": "env=prod"
            }),
        ),
        (
            "UpdateWebhookRequest",
            json!({ "enabled": false, "label_selector": null }),
        ),
        (
            "CreateBudgetRequest",
            json!({ "name": "team a", "amount": "100", "label_selector": "team=a" }),
        ),
    ]
}

/// Objects nested in request bodies, closed as the bodies are.
const NESTED_BODIES: [&str; 1] = ["FaultEffect"];

/// Closes every request body's schema, in either version of the document (`schemas`:
/// `definitions` or `components/schemas`).
pub(crate) fn close(schemas: Option<&mut Value>) {
    let Some(schemas) = schemas.and_then(Value::as_object_mut) else {
        return;
    };
    let names = examples().map(|(name, _)| name);
    for name in names.into_iter().chain(NESTED_BODIES) {
        if let Some(schema) = schemas.get_mut(name).and_then(Value::as_object_mut) {
            schema.insert("additionalProperties".to_owned(), Value::Bool(false));
        }
    }
}

/// The media type of a JSON merge patch (RFC 7396).
pub(crate) const MERGE_PATCH: &str = "application/merge-patch+json";

/// The operations whose body is a JSON merge patch. paperclip's OpenAPI 3 conversion gives
/// every body `application/json`, whatever the operation consumes; the service also takes
/// a patch sent as `application/json`, as the operation says, but a request body of the
/// document has one media type (progenitor generates no client for more).
const MERGE_PATCHES: [&str; 1] = ["updateServer"];

/// Gives each merge patch its media type.
pub(crate) fn merge_patch_media_type(v3: &mut Value) {
    let contents = super::operations_mut(v3)
        .filter(|operation| {
            operation["operationId"]
                .as_str()
                .is_some_and(|id| MERGE_PATCHES.contains(&id))
        })
        .filter_map(|operation| operation.pointer_mut("/requestBody/content"))
        .filter_map(Value::as_object_mut);
    for content in contents {
        if let Some(media) = content.remove("application/json") {
            content.insert(MERGE_PATCH.to_owned(), media);
        }
    }
}

/// Puts each body's example on the operations that take it.
pub(crate) fn add_examples(v3: &mut Value) {
    let examples = examples();
    let media = super::operations_mut(v3)
        .filter_map(|operation| operation.pointer_mut("/requestBody/content"))
        .filter_map(Value::as_object_mut)
        .flat_map(|content| content.values_mut())
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
