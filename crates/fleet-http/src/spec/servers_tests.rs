//! Conditional requests and bulk actions as the document states them.

use fleet_domain::service::MAX_BULK_SERVERS;
use serde_json::Value;

use super::generate;
use crate::conditional::tags;

fn operation<'a>(v3: &'a Value, path: &str, method: &str) -> &'a Value {
    &v3["paths"][path][method]
}

fn header_parameter<'a>(operation: &'a Value, name: &str) -> &'a Value {
    operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|parameter| parameter["in"] == "header" && parameter["name"] == name)
        .unwrap_or_else(|| panic!("no {name} header in {}", operation["operationId"]))
}

#[test]
fn every_response_with_a_server_carries_its_etag() {
    let v3 = generate(true).v3;
    for (path, method, statuses) in [
        ("/servers", "post", &["201"][..]),
        ("/server", "post", &["201"]),
        ("/servers/{id}", "get", &["200", "304"]),
        ("/servers/{id}", "patch", &["200"]),
        ("/servers/{id}/action", "post", &["200", "202"]),
    ] {
        for status in statuses {
            let response = &operation(&v3, path, method)["responses"][status];
            assert_eq!(
                response["headers"]["ETag"]["schema"]["type"], "string",
                "{method} {path} {status}"
            );
        }
    }
}

#[test]
fn a_read_is_conditional_and_not_modified_has_no_body() {
    let v3 = generate(true).v3;
    let get = operation(&v3, "/servers/{id}", "get");
    let not_modified = &get["responses"]["304"];
    assert!(not_modified.is_object());
    assert!(not_modified.get("content").is_none());
    let condition = header_parameter(get, "If-None-Match");
    assert_eq!(condition["schema"]["pattern"], tags::PATTERN);
}

#[test]
fn changes_are_conditional_and_a_failed_condition_is_a_412_problem() {
    let v3 = generate(true).v3;
    for (path, method) in [("/servers/{id}", "patch"), ("/servers/{id}/action", "post")] {
        let change = operation(&v3, path, method);
        let condition = header_parameter(change, "If-Match");
        assert_eq!(condition["schema"]["pattern"], tags::PATTERN, "{path}");
        assert_eq!(
            change["responses"]["412"]["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem",
            "{path}"
        );
    }
}

#[test]
fn the_bulk_action_states_its_cap_and_requires_a_selector() {
    let v3 = generate(true).v3;
    let bulk = operation(&v3, "/servers/actions", "post");
    assert_eq!(bulk["operationId"], "actOnServers");
    let cap = format!(
        "{},{:03}",
        MAX_BULK_SERVERS / 1_000,
        MAX_BULK_SERVERS % 1_000
    );
    let description = bulk["description"].as_str().expect("a description");
    assert!(
        description.contains(&format!("At most {cap} servers")),
        "{description}"
    );
    let request = &v3["components"]["schemas"]["BulkActionRequest"];
    let required: Vec<&str> = request["required"]
        .as_array()
        .expect("required fields")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(required, ["action", "label_selector"]);
    assert!(request["properties"]["label_selector"]["pattern"].is_string());
}
