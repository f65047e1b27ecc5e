//! OpenAPI links: how the answer to provisioning a server leads to what can be done with it
//! next, so tools that follow links (and readers) need not guess that its `id` is the `id`
//! of the server routes.

use serde_json::{Map, Value, json};

/// The operations that provision a server.
const PROVISIONING: [&str; 2] = ["provisionServer", "provisionServerAlias"];

/// What a new server's id leads to: (link name, operationId, what it does).
pub(crate) const FROM_A_NEW_SERVER: [(&str, &str, &str); 4] = [
    (
        "GetServer",
        "getServer",
        "Read the new server, e.g. until it is `running`.",
    ),
    (
        "ActOnServer",
        "actOnServer",
        "Start, stop, reboot or terminate the new server.",
    ),
    (
        "GetServerEvents",
        "getServerEvents",
        "The new server's lifecycle events.",
    ),
    (
        "GetServerBilling",
        "getServerBilling",
        "What the new server has cost so far.",
    ),
];

/// Adds the links to the 201 of every provisioning operation.
pub(crate) fn add(v3: &mut Value) {
    let links: Map<String, Value> = FROM_A_NEW_SERVER
        .iter()
        .map(|(name, operation_id, description)| {
            let link = json!({
                "operationId": operation_id,
                "parameters": { "id": "$response.body#/id" },
                "description": description,
            });
            ((*name).to_owned(), link)
        })
        .collect();
    let created = super::operations_mut(v3)
        .filter(|operation| {
            operation["operationId"]
                .as_str()
                .is_some_and(|id| PROVISIONING.contains(&id))
        })
        .filter_map(|operation| operation.pointer_mut("/responses/201"))
        .filter_map(Value::as_object_mut);
    for response in created {
        response.insert("links".to_owned(), Value::Object(links.clone()));
    }
}
