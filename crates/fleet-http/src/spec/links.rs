//! OpenAPI links: how the answer to provisioning a server, or to an action on one, leads to
//! what can be done next, so tools that follow links (and readers) need not guess that its
//! `id` is the `id` of the server routes, or that `action.id` is the action's.

use serde_json::{Map, Value, json};

/// One link: (name, operationId, the runtime expression of its `id`, what it does).
pub(crate) type Link = (&'static str, &'static str, &'static str, &'static str);

/// The server's (or budget's) id in a response that is the server (or budget).
const SERVER_ID: &str = "$response.body#/id";
/// The id of the action record a response carries.
const ACTION_ID: &str = "$response.body#/action/id";

/// The operations that provision a server.
const PROVISIONING: [&str; 2] = ["provisionServer", "provisionServerAlias"];

/// What a new server leads to (its 201 always carries the provisioning's action record).
pub(crate) const FROM_A_NEW_SERVER: [Link; 7] = [
    (
        "GetServer",
        "getServer",
        SERVER_ID,
        "Read the new server, e.g. until it is `running`.",
    ),
    (
        "WaitForServer",
        "waitForServer",
        SERVER_ID,
        "Wait until the new server is `running` (or another state).",
    ),
    (
        "GetAction",
        "getAction",
        ACTION_ID,
        "Follow the provisioning until it succeeds or fails.",
    ),
    (
        "ActOnServer",
        "actOnServer",
        SERVER_ID,
        "Start, stop, reboot or terminate the new server.",
    ),
    (
        "GetServerEvents",
        "getServerEvents",
        SERVER_ID,
        "The new server's lifecycle events.",
    ),
    (
        "GetServerBilling",
        "getServerBilling",
        SERVER_ID,
        "What the new server has cost so far.",
    ),
    (
        "UpdateServer",
        "updateServer",
        SERVER_ID,
        "Rename or relabel the new server.",
    ),
];

/// What an accepted action (202, which always carries its action record) leads to.
pub(crate) const FROM_AN_ACCEPTED_ACTION: [Link; 2] = [
    (
        "WaitForServer",
        "waitForServer",
        SERVER_ID,
        "Wait until the action's transition completes (e.g. `stopped` after `stop`).",
    ),
    (
        "GetAction",
        "getAction",
        ACTION_ID,
        "Follow the action until it succeeds or fails.",
    ),
];

/// What a new budget leads to.
pub(crate) const FROM_A_NEW_BUDGET: [Link; 2] = [
    (
        "GetBudget",
        "getBudget",
        SERVER_ID,
        "Read the new budget and what its month has cost so far.",
    ),
    (
        "DeleteBudget",
        "deleteBudget",
        SERVER_ID,
        "Delete the new budget.",
    ),
];

/// Adds the links to the 201 of every provisioning operation and of a budget, and to the
/// 202 of an action.
pub(crate) fn add(v3: &mut Value) {
    let created = links(&FROM_A_NEW_SERVER);
    let accepted = links(&FROM_AN_ACCEPTED_ACTION);
    let budget = links(&FROM_A_NEW_BUDGET);
    for operation in super::operations_mut(v3) {
        let Some(id) = operation["operationId"].as_str() else {
            continue;
        };
        let (status, links) = if PROVISIONING.contains(&id) {
            ("201", &created)
        } else if id == "actOnServer" {
            ("202", &accepted)
        } else if id == "createBudget" {
            ("201", &budget)
        } else {
            continue;
        };
        if let Some(response) = operation
            .pointer_mut(&format!("/responses/{status}"))
            .and_then(Value::as_object_mut)
        {
            response.insert("links".to_owned(), Value::Object(links.clone()));
        }
    }
}

fn links(links: &[Link]) -> Map<String, Value> {
    links
        .iter()
        .map(|(name, operation_id, id, description)| {
            let link = json!({
                "operationId": operation_id,
                "parameters": { "id": id },
                "description": description,
            });
            ((*name).to_owned(), link)
        })
        .collect()
}
