//! The harness's schema check is only worth something if it can fail: it must refuse an
//! undocumented field, a `null` where the spec has none, and a wrong enum value.

use serde_json::json;

use crate::common;

#[test]
fn the_schema_check_refuses_what_the_spec_does_not_allow() {
    let spec = fleet_http::spec::generate(true).v3;
    let schema = json!({ "$ref": "#/components/schemas/Problem" });
    let problem = json!({
        "type": "urn:fleet:problem:not-found", "title": "Not Found", "status": 404,
        "detail": "x", "request_id": "r"
    });
    assert!(common::validate(&spec, &schema, &problem).is_empty());

    let mut extra = problem.clone();
    extra["debug"] = json!("stack trace");
    assert!(
        !common::validate(&spec, &schema, &extra).is_empty(),
        "undocumented field"
    );

    let mut null = problem.clone();
    null["state"] = serde_json::Value::Null;
    assert!(
        !common::validate(&spec, &schema, &null).is_empty(),
        "null is not nullable"
    );

    let mut wrong_enum = problem.clone();
    wrong_enum["state"] = json!("sleeping");
    assert!(
        !common::validate(&spec, &schema, &wrong_enum).is_empty(),
        "unknown state"
    );

    let mut missing = problem;
    missing
        .as_object_mut()
        .expect("object")
        .remove("request_id");
    assert!(
        !common::validate(&spec, &schema, &missing).is_empty(),
        "required field"
    );

    let clock = json!({ "$ref": "#/components/schemas/ClockReading" });
    assert!(common::validate(&spec, &clock, &json!({"now": "2026-01-01T00:00:00Z"})).is_empty());
    assert!(
        !common::validate(&spec, &clock, &json!({"now": "yesterday"})).is_empty(),
        "formats are checked"
    );
}
