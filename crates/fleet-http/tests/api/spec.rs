//! The generated OpenAPI documents: committed, complete and truthful.
//!
//! `FLEET_UPDATE_SPEC=1 cargo test -p fleet-http --test api spec::` (what `cargo xtask
//! spec` runs) rewrites the committed documents from the code: those with the virtual
//! clock's routes, the whole API.

use std::collections::HashSet;
use std::path::PathBuf;

use fleet_http::spec::{self, Specs};
use serde_json::Value;

fn docs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

fn operations(spec: &Value) -> Vec<(String, String, &Value)> {
    let mut found = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            found.push((path.clone(), method.clone(), operation));
        }
    }
    found
}

#[test]
fn the_committed_documents_match_the_code() {
    let Specs { v2, v3 } = spec::generate(true);
    let committed = [("openapi.json", &v3), ("openapi-v2.json", &v2)];
    let update = std::env::var_os("FLEET_UPDATE_SPEC").is_some();
    for (file, generated) in committed {
        let path = docs().join(file);
        let text = spec::to_pretty(generated);
        if update {
            std::fs::write(&path, &text).expect("write the spec");
            continue;
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == text,
            "docs/{file} differs from the spec the code generates; run `cargo xtask spec` \
             and commit the result"
        );
    }
}

#[test]
fn info_names_and_describes_the_api() {
    let Specs { v2, v3 } = spec::generate(false);
    for spec in [&v2, &v3] {
        assert_eq!(spec["info"]["title"], "fleet");
        assert_eq!(spec["info"]["version"], env!("CARGO_PKG_VERSION"));
        assert!(
            spec["info"]["description"]
                .as_str()
                .is_some_and(|d| d.len() > 50)
        );
    }
    assert_eq!(v3["openapi"], "3.0.0");
    assert_eq!(v2["swagger"], "2.0");
}

#[test]
fn every_response_has_a_schema_and_every_error_is_a_problem() {
    let v3 = spec::generate(true).v3;
    let mut ids = HashSet::new();
    for (path, method, operation) in operations(&v3) {
        let id = operation["operationId"].as_str().expect("operationId");
        assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
        assert!(
            operation["summary"].is_string(),
            "{method} {path} has no summary"
        );
        let responses = operation["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{method} {path}"
        );
        assert!(
            responses.keys().any(|s| s.starts_with('5')),
            "{method} {path}"
        );
        for (status, response) in responses {
            if status == "204" || status == "304" {
                assert!(
                    response.get("content").is_none(),
                    "{method} {path}: {status} has no body"
                );
                continue;
            }
            let content = response["content"].as_object().expect("content");
            let is_error = status.starts_with('4') || status.starts_with('5');
            let media_types: Vec<&str> = content.keys().map(String::as_str).collect();
            if is_error {
                assert_eq!(
                    media_types,
                    ["application/json", "application/problem+json"],
                    "{method} {path} {status}: as the client's Accept asks"
                );
            } else if id == "streamEvents" {
                assert_eq!(
                    media_types,
                    ["text/event-stream"],
                    "{method} {path} {status}"
                );
            } else if id == "getCosts" {
                assert_eq!(
                    media_types,
                    ["application/json", "text/csv"],
                    "{method} {path} {status}: JSON, or CSV for a client that asks"
                );
            } else {
                assert_eq!(
                    media_types,
                    ["application/json"],
                    "{method} {path} {status}"
                );
            }
            for (media_type, media) in content {
                let schema = &media["schema"]["$ref"];
                if media_type == "text/csv" {
                    assert_eq!(
                        media["schema"]["type"], "string",
                        "{method} {path} {status}"
                    );
                } else if is_error {
                    assert_eq!(
                        schema, "#/components/schemas/Problem",
                        "{method} {path} {status}"
                    );
                } else if id == "streamEvents" {
                    assert_eq!(
                        media["schema"]["type"], "string",
                        "{method} {path} {status}"
                    );
                } else {
                    assert!(schema.is_string(), "{method} {path} {status} has no schema");
                }
            }
        }
        if path.contains("{id}") {
            assert!(
                responses.contains_key("400"),
                "{method} {path}: malformed id"
            );
            assert!(responses.contains_key("404"), "{method} {path}: unknown id");
        }
    }
    assert!(ids.len() >= 10);
}

#[test]
fn optional_fields_are_not_required_and_only_a_meaningful_null_is_nullable() {
    let v3 = spec::generate(true).v3;
    let schemas = &v3["components"]["schemas"];
    let mut nullable = Vec::new();
    for (name, schema) in schemas.as_object().expect("schemas") {
        for (field, property) in schema["properties"].as_object().into_iter().flatten() {
            if property["nullable"] == true {
                nullable.push(format!("{name}.{field}"));
            }
        }
    }
    assert_eq!(
        nullable,
        [
            "SetQuotasRequest.max_servers",
            "SetQuotasRequest.max_vcpus",
            "UpdateProjectRequest.rate_limit_per_minute",
            "UpdateWebhookRequest.label_selector",
        ],
        "no field the service sends is ever null; a client clears a limit with null"
    );
    assert_eq!(
        schemas["LabelPatch"]["additionalProperties"]["nullable"], true,
        "a label patch removes a label with null"
    );
    assert_eq!(
        v3.to_string().matches("\"nullable\":true").count(),
        nullable.len() + 1
    );
    let server = &v3["components"]["schemas"]["Server"];
    let required: Vec<&str> = server["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for optional in [
        "ip",
        "started_at",
        "stopped_at",
        "terminated_at",
        "transition_due_at",
    ] {
        assert!(server["properties"][optional].is_object(), "{optional}");
        assert!(!required.contains(&optional), "{optional} must be optional");
    }
    for always in [
        "id",
        "name",
        "labels",
        "region",
        "type",
        "state",
        "created_at",
        "billing",
    ] {
        assert!(required.contains(&always), "{always} must be required");
    }
}

#[test]
fn enumerations_are_listed() {
    let v3 = spec::generate(false).v3;
    let schemas = &v3["components"]["schemas"];
    assert_eq!(
        schemas["ActionRequest"]["properties"]["action"]["allOf"][0]["$ref"],
        "#/components/schemas/Action"
    );
    assert_eq!(
        schemas["Action"]["enum"],
        serde_json::json!(["start", "stop", "reboot", "terminate"])
    );
    assert_eq!(
        schemas["ServerState"]["enum"].as_array().map(Vec::len),
        Some(9)
    );
    assert_eq!(
        schemas["Event"]["properties"]["actor"]["allOf"][0]["$ref"],
        "#/components/schemas/Actor"
    );
    assert_eq!(
        schemas["Actor"]["enum"],
        serde_json::json!(["api", "system", "reaper", "chaos"])
    );
}

#[test]
fn every_operation_needs_a_bearer_key_and_documents_its_401() {
    let Specs { v2, v3 } = spec::generate(true);
    assert_eq!(
        v3["components"]["securitySchemes"]["bearerAuth"],
        serde_json::json!({
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "fleet_<key id>_<secret>",
            "description": v3["components"]["securitySchemes"]["bearerAuth"]["description"],
        })
    );
    assert_eq!(v2["securityDefinitions"]["bearerAuth"]["type"], "apiKey");
    assert_eq!(
        v2["securityDefinitions"]["bearerAuth"]["name"],
        "Authorization"
    );
    for (path, method, operation) in operations(&v3) {
        assert_eq!(
            operation["security"],
            serde_json::json!([{ "bearerAuth": [] }]),
            "{method} {path}"
        );
        let unauthorized = &operation["responses"]["401"];
        assert_eq!(
            unauthorized["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem",
            "{method} {path}"
        );
        assert_eq!(
            unauthorized["headers"]["WWW-Authenticate"]["schema"]["type"], "string",
            "{method} {path}"
        );
    }
}

#[test]
fn only_operations_that_need_a_role_document_403() {
    let v3 = spec::generate(true).v3;
    for (path, method, operation) in operations(&v3) {
        // Changing servers, webhooks and budgets takes `member`; projects, keys, the clock and
        // changing fault rules take `admin`; reading servers, webhooks, fault rules and the
        // catalog takes any role.
        let changes_servers =
            (method == "post" || method == "patch") && path.starts_with("/server");
        let changes_faults =
            (method == "post" || method == "delete") && path.starts_with("/faults");
        let admin_only = ["/projects", "/keys", "/admin"]
            .iter()
            .any(|prefix| path.starts_with(prefix));
        let changes_webhooks =
            ["post", "patch", "delete"].contains(&method.as_str()) && path.starts_with("/webhooks");
        let changes_budgets =
            ["post", "delete"].contains(&method.as_str()) && path.starts_with("/budgets");
        let needs_a_role =
            changes_servers || changes_faults || changes_webhooks || changes_budgets || admin_only;
        assert_eq!(
            operation["responses"].get("403").is_some(),
            needs_a_role,
            "{method} {path}"
        );
    }
}

#[test]
fn the_admin_api_is_documented() {
    let v3 = spec::generate(false).v3;
    let ids: Vec<(&str, &str, &str)> = vec![
        ("/projects", "post", "createProject"),
        ("/projects", "get", "listProjects"),
        ("/projects/{id}", "get", "getProject"),
        ("/projects/{id}", "patch", "updateProject"),
        ("/projects/{id}", "delete", "deleteProject"),
        ("/projects/{id}/keys", "post", "createKey"),
        ("/projects/{id}/keys", "get", "listKeys"),
        ("/keys/{id}", "delete", "revokeKey"),
    ];
    for (path, method, id) in ids {
        assert_eq!(
            v3["paths"][path][method]["operationId"], id,
            "{method} {path}"
        );
    }
    let schemas = &v3["components"]["schemas"];
    assert_eq!(
        schemas["CreateKeyRequest"]["properties"]["role"]["allOf"][0]["$ref"],
        "#/components/schemas/Role"
    );
    assert_eq!(
        schemas["Role"]["enum"],
        serde_json::json!(["viewer", "member", "admin"])
    );
    let created = &v3["paths"]["/projects/{id}/keys"]["post"]["responses"]["201"];
    assert_eq!(
        created["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/CreatedKey"
    );
    assert!(created["headers"]["Cache-Control"].is_object());
    assert!(
        schemas["ApiKey"]["properties"].get("key").is_none(),
        "a listed key has no secret"
    );
    assert_eq!(
        schemas["CreateProjectRequest"]["properties"]["name"]["maxLength"],
        63
    );
    assert!(
        schemas["CreateKeyRequest"]["properties"]["description"]["pattern"]
            .as_str()
            .is_some_and(|p| p.contains("{0,198}")),
        "at most 200 characters once trimmed"
    );
    assert!(v3["paths"]["/projects/{id}"]["delete"]["responses"]["204"].is_object());
    assert!(v3["paths"]["/projects/{id}"]["delete"]["responses"]["409"].is_object());
}

#[test]
fn request_bodies_refuse_unknown_fields_in_the_spec_too() {
    let Specs { v2, v3 } = spec::generate(true);
    for name in [
        "ProvisionRequest",
        "ActionRequest",
        "AdvanceRequest",
        "CreateProjectRequest",
        "UpdateProjectRequest",
        "CreateKeyRequest",
    ] {
        assert_eq!(
            v3["components"]["schemas"][name]["additionalProperties"],
            false
        );
        assert_eq!(v2["definitions"][name]["additionalProperties"], false);
    }
}

#[test]
fn the_admin_routes_exist_only_in_virtual_clock_mode() {
    let system = spec::generate(false).v3;
    let virtual_clock = spec::generate(true).v3;
    assert!(system["paths"].get("/admin/clock").is_none());
    assert!(system["paths"].get("/admin/clock/advance").is_none());
    assert!(virtual_clock["paths"]["/admin/clock"]["get"].is_object());
    assert!(virtual_clock["paths"]["/admin/clock/advance"]["post"].is_object());
    assert!(
        system["paths"]["/server"]["post"].is_object(),
        "the alias is documented"
    );
}

#[test]
fn the_committed_documents_have_the_clock_and_say_when_it_exists() {
    let Specs { v2, v3 } = spec::generate(true);
    let clock = [
        ("/admin/clock", "get", "readClock"),
        ("/admin/clock/advance", "post", "advanceClock"),
    ];
    for spec in [&v2, &v3] {
        for (path, method, id) in clock {
            let operation = &spec["paths"][path][method];
            assert_eq!(operation["operationId"], id, "{method} {path}");
            assert_eq!(operation["tags"], serde_json::json!(["Admin"]));
            for text in [
                &operation["description"],
                &operation["responses"]["404"]["description"],
            ] {
                let text = text.as_str().expect("a description");
                assert!(
                    text.contains("`--clock virtual`") && text.contains("route-not-found"),
                    "{method} {path}: {text}"
                );
            }
        }
        let admin = spec["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .find(|tag| tag["name"] == "Admin")
            .expect("the Admin tag");
        assert!(
            admin["description"]
                .as_str()
                .is_some_and(|d| d.contains("`--clock virtual`") && d.contains("404")),
            "{admin}"
        );
    }
    let not_found = &v3["paths"]["/admin/clock"]["get"]["responses"]["404"];
    assert_eq!(
        not_found["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Problem"
    );
}

#[test]
fn every_authenticated_operation_documents_its_rate_limit() {
    let v3 = spec::generate(true).v3;
    let mut checked = 0;
    for (path, operations) in v3["paths"].as_object().expect("paths") {
        for (method, operation) in operations.as_object().expect("operations") {
            if operation.get("security").is_none() {
                continue;
            }
            checked += 1;
            let responses = operation["responses"].as_object().expect("responses");
            let refused = &responses["429"];
            assert_eq!(
                refused["content"]["application/problem+json"]["schema"]["$ref"],
                "#/components/schemas/Problem",
                "{method} {path}"
            );
            assert!(
                refused["headers"]["Retry-After"].is_object(),
                "{method} {path}"
            );
            for (status, response) in responses {
                if status == "401" {
                    continue;
                }
                for field in ["RateLimit-Policy", "RateLimit"] {
                    assert!(
                        response["headers"][field].is_object(),
                        "{method} {path} {status}: {field}"
                    );
                }
            }
        }
    }
    assert!(checked >= 10, "{checked}");
}
