//! The guarantees of the OpenAPI 3 pass, checked on both documents (with and without the
//! admin routes).

use std::collections::{BTreeSet, HashSet};

use serde_json::Value;

use super::components::{named_types, references_in};
use super::limits::{self, Place};
use super::{Specs, generate, paperclip_documents};

fn documents() -> [Value; 2] {
    [generate(false).v3, generate(true).v3]
}

fn operations(v3: &Value) -> impl Iterator<Item = (&String, &String, &Value)> {
    v3["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flatten()
                .map(move |(method, operation)| (path, method, operation))
        })
}

/// Every schema of `value` that is not the root of a component, with where it is.
fn inline_schemas<'a>(value: &'a Value, at: String, found: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(map) => {
            for (key, nested) in map {
                let here = format!("{at}/{key}");
                let is_schema_map = key == "properties" && nested.is_object();
                if is_schema_map {
                    for (property, schema) in nested.as_object().into_iter().flatten() {
                        found.push((format!("{here}/{property}"), schema));
                    }
                } else if matches!(key.as_str(), "schema" | "items" | "additionalProperties") {
                    found.push((here.clone(), nested));
                } else if key == "allOf" {
                    for schema in nested.as_array().into_iter().flatten() {
                        found.push((here.clone(), schema));
                    }
                }
                inline_schemas(nested, here, found);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                inline_schemas(item, format!("{at}/{index}"), found);
            }
        }
        _ => {}
    }
}

/// Where `v3` has an object or an enumeration inline, outside the root of a component.
fn inline_types(v3: &Value) -> Vec<String> {
    let mut found = Vec::new();
    inline_schemas(&v3["paths"], "paths".into(), &mut found);
    for (name, schema) in v3["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
    {
        // The component's root is its own definition; what it holds must refer.
        inline_schemas(schema, format!("components/schemas/{name}"), &mut found);
    }
    assert!(
        found.len() > 50,
        "the walk finds the schemas: {}",
        found.len()
    );
    found
        .into_iter()
        .filter(|(_, schema)| schema.get("properties").is_some() || schema.get("enum").is_some())
        .map(|(at, _)| at)
        .collect()
}

#[test]
fn no_object_or_enumeration_is_inline_outside_its_component() {
    for v3 in documents() {
        assert_eq!(inline_types(&v3), Vec::<String>::new());
    }
}

#[test]
fn paperclip_alone_inlines_what_the_pass_refers_to() {
    let (_, paperclip_v3) = paperclip_documents(false);
    let inline = inline_types(&paperclip_v3);
    for at in [
        "components/schemas/Server/properties/billing",
        "components/schemas/Server/properties/state",
        "components/schemas/ServerList/properties/items/items",
    ] {
        assert!(inline.iter().any(|found| found == at), "{at}: {inline:?}");
    }
}

#[test]
fn each_enumeration_is_one_component() {
    for v3 in documents() {
        let schemas = v3["components"]["schemas"].as_object().expect("schemas");
        let enums: Vec<&Value> = schemas.values().filter_map(|s| s.get("enum")).collect();
        let distinct: HashSet<String> = enums.iter().map(ToString::to_string).collect();
        assert_eq!(distinct.len(), enums.len(), "an enumeration defined twice");
        assert_eq!(
            schemas["ServerState"]["enum"].as_array().map(Vec::len),
            Some(9)
        );
        for name in [
            "Money",
            "ServerState",
            "Action",
            "Role",
            "Billing",
            "Problem",
            "WatchEvent",
            "WatchEventType",
            "EventPage",
            "ActionRecord",
            "ActionCommand",
            "ActionStatus",
            "ActionList",
        ] {
            assert!(schemas.contains_key(name), "{name}");
        }
        let text = v3.to_string();
        assert_eq!(
            text.matches("\"provisioning\"").count(),
            1,
            "one ServerState"
        );
        assert_eq!(text.matches("\"micros\":{").count(), 1, "one Money");
        assert!(
            text.matches("#/components/schemas/ServerState").count() >= 5,
            "states refer to it"
        );
    }
}

#[test]
fn every_reference_resolves_and_every_component_is_used() {
    for v3 in documents() {
        let schemas = v3["components"]["schemas"].as_object().expect("schemas");
        let mut referred = Vec::new();
        references_in(&v3, &mut referred);
        for name in &referred {
            assert!(
                schemas.contains_key(name),
                "$ref to {name}, which is not defined"
            );
        }
        let text = v3.to_string();
        assert_eq!(
            text.matches("\"$ref\":\"").count(),
            referred.len(),
            "every $ref points into components/schemas"
        );
        let referred: BTreeSet<&String> = referred.iter().collect();
        for name in schemas.keys() {
            assert!(referred.contains(name), "{name} is defined but never used");
        }
    }
}

#[test]
fn every_named_type_paperclip_knows_is_a_component() {
    let known: BTreeSet<String> = named_types().into_iter().map(|t| t.name).collect();
    for with_admin in [false, true] {
        let (_, paperclip_v3) = paperclip_documents(with_admin);
        for name in paperclip_v3["components"]["schemas"]
            .as_object()
            .expect("schemas")
            .keys()
        {
            assert!(known.contains(name), "{name} is missing from named_types()");
        }
    }
    assert_eq!(known.len(), named_types().len(), "two types of one name");
}

#[test]
fn a_field_that_holds_a_named_type_keeps_its_own_description() {
    let v3 = generate(false).v3;
    let state = &v3["components"]["schemas"]["Server"]["properties"]["state"];
    assert_eq!(
        state["allOf"],
        serde_json::json!([{ "$ref": "#/components/schemas/ServerState" }])
    );
    assert_eq!(state["description"], "Where it is in its lifecycle.");
    assert_eq!(
        v3["components"]["schemas"]["ServerList"]["properties"]["items"]["items"],
        serde_json::json!({ "$ref": "#/components/schemas/Server" })
    );
}

#[test]
fn every_error_response_is_the_problem_in_both_media_types() {
    for v3 in documents() {
        let mut errors = 0;
        for (path, method, operation) in operations(&v3) {
            let responses = operation["responses"].as_object().expect("responses");
            for (status, response) in responses {
                let content = response["content"].as_object();
                if status.starts_with('2') {
                    if let Some(content) = content {
                        let types: Vec<&String> = content.keys().collect();
                        let expected: &[&str] = match path.as_str() {
                            "/events/stream" => &["text/event-stream"],
                            "/costs" => &["application/json", "text/csv"],
                            _ => &["application/json"],
                        };
                        assert_eq!(types, expected, "{method} {path} {status}");
                    }
                    continue;
                }
                if status.starts_with('3') {
                    assert!(content.is_none(), "{method} {path} {status} has no body");
                    continue;
                }
                errors += 1;
                let content = content.expect("an error has a body");
                let types: Vec<&String> = content.keys().collect();
                assert_eq!(
                    types,
                    ["application/json", "application/problem+json"],
                    "{method} {path} {status}"
                );
                for media in content.values() {
                    assert_eq!(
                        media["schema"],
                        serde_json::json!({ "$ref": "#/components/schemas/Problem" }),
                        "{method} {path} {status}"
                    );
                }
            }
        }
        assert!(errors > 100, "{errors}");
    }
}

#[test]
fn operation_ids_are_unique() {
    for v3 in documents() {
        let mut ids = HashSet::new();
        for (path, method, operation) in operations(&v3) {
            let id = operation["operationId"].as_str().expect("an operationId");
            assert!(ids.insert(id), "{method} {path}: {id} twice");
        }
    }
}

#[test]
fn every_bound_of_the_table_is_in_both_documents() {
    let Specs { v2, v3 } = generate(true);
    for (spec, version) in [
        (&v3, limits::Version::OpenApi3),
        (&v2, limits::Version::Swagger2),
    ] {
        let mut copy = spec.clone();
        assert_eq!(
            limits::apply(&mut copy, version),
            Vec::<Place>::new(),
            "every place exists"
        );
        assert_eq!(&copy, spec, "the bounds are already there ({version:?})");
    }
    let schemas = &v3["components"]["schemas"];
    assert_eq!(
        schemas["AdvanceRequest"]["properties"]["seconds"]["maximum"],
        31_536_000
    );
    assert_eq!(
        schemas["AdvanceRequest"]["properties"]["seconds"]["minimum"],
        0
    );
    assert!(schemas["ProvisionRequest"]["properties"]["name"]["pattern"].is_string());
    let without_admin = generate(false).v3;
    assert_eq!(
        limits::apply(&mut without_admin.clone(), limits::Version::OpenApi3),
        vec![Place::Field("AdvanceRequest", "seconds")],
    );
}

#[test]
fn provisioning_and_actions_link_to_what_they_lead_to() {
    for v3 in documents() {
        let ids: HashSet<&str> = operations(&v3)
            .filter_map(|(_, _, operation)| operation["operationId"].as_str())
            .collect();
        let responses = [
            (
                "/servers",
                "post",
                "201",
                &super::links::FROM_A_NEW_SERVER[..],
            ),
            (
                "/server",
                "post",
                "201",
                &super::links::FROM_A_NEW_SERVER[..],
            ),
            (
                "/servers/{id}/action",
                "post",
                "202",
                &super::links::FROM_AN_ACCEPTED_ACTION[..],
            ),
        ];
        for (path, method, status, expected) in responses {
            let links = &v3["paths"][path][method]["responses"][status]["links"];
            assert_eq!(
                links.as_object().map(serde_json::Map::len),
                Some(expected.len()),
                "{path} {status}"
            );
            for (name, operation_id, id, _) in expected {
                let link = &links[name];
                assert_eq!(link["operationId"], *operation_id, "{path} {name}");
                assert!(ids.contains(operation_id), "{operation_id}");
                assert_eq!(link["parameters"], serde_json::json!({ "id": id }));
            }
        }
        let new_server = &v3["paths"]["/servers"]["post"]["responses"]["201"]["links"];
        assert_eq!(
            new_server["GetAction"]["parameters"]["id"],
            "$response.body#/action/id"
        );
        assert_eq!(
            new_server["WaitForServer"]["parameters"]["id"],
            "$response.body#/id"
        );
    }
}

#[test]
fn the_event_stream_is_documented_as_server_sent_events() {
    for v3 in documents() {
        let stream = &v3["paths"]["/events/stream"]["get"];
        let types: Vec<&String> = stream["responses"]["200"]["content"]
            .as_object()
            .expect("a body")
            .keys()
            .collect();
        assert_eq!(types, ["text/event-stream"]);
    }
}

#[test]
fn repeated_parameters_refer_to_their_enumeration() {
    let Specs { v2, v3 } = generate(false);
    for (path, name, component) in [
        ("/servers/{id}/wait", "state", "ServerState"),
        ("/events", "type", "WatchEventType"),
        ("/events/stream", "type", "WatchEventType"),
    ] {
        let find = |spec: &Value| -> Value {
            spec["paths"][path]["get"]["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|parameter| parameter["name"] == name)
                .cloned()
                .unwrap_or_else(|| panic!("{path} has {name}"))
        };
        let parameter = find(&v3);
        assert_eq!(parameter["schema"]["type"], "array", "{path} {name}");
        assert_eq!(
            parameter["schema"]["items"],
            serde_json::json!({ "$ref": format!("#/components/schemas/{component}") })
        );
        assert_eq!(find(&v2)["collectionFormat"], "multi", "{path} {name}");
    }
}

#[test]
fn every_problem_of_watching_is_documented_on_its_operation() {
    let v3 = generate(false).v3;
    for (path, status) in [
        ("/events", "410"),
        ("/events/stream", "410"),
        ("/servers/{id}/wait", "408"),
        ("/servers/{id}/wait", "409"),
        ("/servers/{id}/wait", "503"),
        ("/actions/{id}", "404"),
    ] {
        let response = &v3["paths"][path]["get"]["responses"][status];
        assert!(
            response["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{path} {status}"
        );
        assert_eq!(
            response["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem",
            "{path} {status}"
        );
    }
}

#[test]
fn the_document_says_where_it_is_served_and_what_it_is() {
    let v3 = generate(false).v3;
    assert_eq!(v3["servers"][0]["url"], "/");
    assert_eq!(v3["servers"][1]["url"], super::LOCAL_SERVER);
    let description = v3["info"]["description"].as_str().expect("a description");
    assert!(description.contains("application/problem+json"));
    assert!(!description.contains("\n "), "tidied: {description}");
}

#[test]
fn every_label_selector_is_one_parameter_but_for_what_it_selects() {
    let grammar = super::parameters::label_selector_grammar();
    for v3 in documents() {
        let selectors: Vec<(&str, &Value)> = operations(&v3)
            .filter_map(|(_, _, operation)| {
                let parameter = operation["parameters"]
                    .as_array()?
                    .iter()
                    .find(|p| p["in"] == "query" && p["name"] == "label_selector")?;
                Some((operation["operationId"].as_str()?, parameter))
            })
            .collect();
        let mut ids: Vec<&str> = selectors.iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        assert_eq!(
            ids,
            ["countServers", "listEvents", "listServers", "streamEvents"]
        );
        let (_, first) = selectors[0];
        for (id, parameter) in &selectors {
            assert_eq!(
                parameter["schema"], first["schema"],
                "{id}: the same bounds"
            );
            let description = parameter["description"].as_str().unwrap_or_default();
            let own = description
                .strip_suffix(grammar.as_str())
                .unwrap_or_else(|| panic!("{id}: the shared grammar ends {description:?}"));
            assert!(
                own.starts_with("Only ") && own.ends_with("match this selector. "),
                "{id}: says what it selects first: {own:?}"
            );
        }
        assert!(
            first["schema"]["pattern"].is_string() && first["schema"]["maxLength"].is_number(),
            "{first}"
        );
    }
}

#[test]
fn the_operations_that_take_an_idempotency_key_say_so_and_say_when_they_replay() {
    let Specs { v2, v3 } = generate(false);
    let keyed: BTreeSet<&str> = operations(&v3)
        .filter(|(_, _, operation)| {
            operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|parameter| {
                    parameter["name"] == "Idempotency-Key"
                        && parameter["in"] == "header"
                        && parameter["required"] != true
                        && parameter["schema"]["$ref"] == "#/components/schemas/IdempotencyKey"
                })
        })
        .filter_map(|(_, _, operation)| operation["operationId"].as_str())
        .collect();
    assert_eq!(
        keyed,
        BTreeSet::from([
            "actOnServer",
            "actOnServers",
            "provisionServer",
            "provisionServerAlias",
            "updateServer"
        ])
    );
    for (_, _, operation) in operations(&v3) {
        let id = operation["operationId"].as_str().unwrap_or_default();
        if !keyed.contains(id) {
            continue;
        }
        let responses = operation["responses"].as_object().expect("responses");
        for (status, response) in responses {
            let says = |text: &str| {
                response["description"]
                    .as_str()
                    .is_some_and(|d| d.contains(text))
            };
            match status.as_str() {
                s if s.starts_with('2') => assert!(
                    response["headers"]["Idempotent-Replayed"].is_object(),
                    "{id} {status}"
                ),
                "400" => assert!(says("invalid-idempotency-key"), "{id}"),
                "409" => assert!(says("idempotency-key-in-flight"), "{id}"),
                "422" => assert!(says("idempotency-key-reused"), "{id}"),
                _ => {}
            }
        }
        for status in ["400", "409", "422"] {
            assert!(responses.contains_key(status), "{id} {status}");
        }
    }
    let bounds = &v3["components"]["schemas"]["IdempotencyKey"];
    assert_eq!(bounds["maxLength"], 255);
    let swagger2 = v2["paths"]["/servers"]["post"]["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|parameter| parameter["name"] == "Idempotency-Key")
        .expect("the header in Swagger 2");
    assert_eq!(swagger2["maxLength"], 255);
    assert_eq!(swagger2["pattern"], bounds["pattern"]);
}
