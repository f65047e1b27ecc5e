//! The table's bounds accept exactly what the service's own checks accept, and the
//! examples are requests the service takes.

use std::sync::LazyLock;

use fleet_domain::IdempotencyKey;
use fleet_domain::project_update::{MAX_RATE_LIMIT_PER_MINUTE, rate_limit};
use fleet_domain::service::validate_name;
use fleet_domain::tenancy::{key_description, project_name};
use fleet_domain::{Catalog, quota};
use proptest::prelude::*;
use regex::Regex;
use serde_json::Value;

use super::bodies::examples;
use super::limits::{self, Bounds, Place};
use crate::dto;

/// A table's bounds, ready to judge texts (lengths in characters, as JSON Schema counts
/// them).
struct Judge {
    bounds: Bounds,
    pattern: Option<Regex>,
}

impl Judge {
    fn new(bounds: Bounds) -> Self {
        let pattern = bounds
            .pattern
            .as_deref()
            .map(|p| Regex::new(p).expect("a pattern the regex crate reads"));
        Self { bounds, pattern }
    }

    fn accepts(&self, text: &str) -> bool {
        let length = text.chars().count();
        self.bounds.min_length.is_none_or(|min| length >= min)
            && self.bounds.max_length.is_none_or(|max| length <= max)
            && self.pattern.as_ref().is_none_or(|p| p.is_match(text))
    }
}

fn within(bounds: &Bounds, text: &str) -> bool {
    Judge::new(bounds.clone()).accepts(text)
}

/// Texts around `c`: alone, between, before and after other characters, and runs of it.
fn around(c: char) -> [String; 5] {
    [
        format!("{c}"),
        format!("a{c}b"),
        format!("{c}ab"),
        format!("ab{c}"),
        format!("{c}{c}a{c}{c}"),
    ]
}

/// Every character of the Basic Multilingual Plane and a few beyond it.
fn characters() -> impl Iterator<Item = char> {
    (0..=0xFFFFu32)
        .chain([0x1F600, 0x10FFFF, 0xE0001])
        .filter_map(char::from_u32)
}

fn agree(judge: &Judge, accepts: impl Fn(&str) -> bool, text: &str) {
    assert_eq!(
        judge.accepts(text),
        accepts(text),
        "the spec and the service disagree on {text:?} ({:?})",
        judge.bounds
    );
}

fn server_name_ok(text: &str) -> bool {
    validate_name(text.to_owned()).is_ok()
}

fn description_ok(text: &str) -> bool {
    key_description(text).is_ok()
}

fn project_name_ok(text: &str) -> bool {
    project_name(text).is_ok()
}

fn lengths(unit: &str) -> Vec<String> {
    [0, 1, 2, 62, 63, 64, 65, 199, 200, 201]
        .iter()
        .flat_map(|n| {
            let core = unit.repeat(*n);
            [core.clone(), format!("  {core}\t"), format!("\n{core} ")]
        })
        .collect()
}

/// `bounds` and the service's check `accepts` agree on every character in every position,
/// and on texts of the lengths around the bounds made of `units`.
fn agree_everywhere(bounds: Bounds, accepts: fn(&str) -> bool, units: &[&str]) {
    let judge = Judge::new(bounds);
    for c in characters() {
        for text in around(c) {
            agree(&judge, accepts, &text);
        }
    }
    for text in units.iter().flat_map(|unit| lengths(unit)) {
        agree(&judge, accepts, &text);
    }
}

#[test]
fn the_server_name_pattern_is_the_service_s_check() {
    agree_everywhere(limits::server_name(), server_name_ok, &["é", "a"]);
}

#[test]
fn the_key_description_pattern_is_the_service_s_check() {
    agree_everywhere(limits::key_description(), description_ok, &["d"]);
}

#[test]
fn the_project_name_bounds_are_the_service_s_check() {
    agree_everywhere(limits::project_name(), project_name_ok, &["a", "-"]);
}

fn idempotency_key_ok(text: &str) -> bool {
    IdempotencyKey::parse(text).is_ok()
}

#[test]
fn the_idempotency_key_bounds_are_the_service_s_check() {
    let judge = Judge::new(limits::idempotency_key());
    for c in characters() {
        for text in around(c) {
            agree(&judge, idempotency_key_ok, &text);
            agree(&judge, idempotency_key_ok, &format!("\"{text}\""));
        }
    }
    for n in [0, 1, 2, 253, 254, 255, 256] {
        let bare = "k".repeat(n);
        for text in [
            bare.clone(),
            format!("\"{bare}\""),
            format!("\"{bare}"),
            format!("{bare}\""),
        ] {
            agree(&judge, idempotency_key_ok, &text);
        }
    }
    assert!(judge.accepts("8e03978e-40d5-43e8-bc93-6894a57f9324"));
    assert!(judge.accepts("\"8e03978e-40d5-43e8-bc93-6894a57f9324\""));
}

/// The judges of the three text rules: (server name, key description, project name).
static JUDGES: LazyLock<[Judge; 3]> = LazyLock::new(|| {
    [
        Judge::new(limits::server_name()),
        Judge::new(limits::key_description()),
        Judge::new(limits::project_name()),
    ]
});

proptest! {
    #[test]
    fn texts_of_mixed_characters_are_judged_alike(
        text in "[ \t\n\u{85}\u{a0}\u{200b}\u{202e}\u{feff}\u{1}a-z0-9é-]{0,210}"
    ) {
        let [name, description, project] = &*JUDGES;
        prop_assert_eq!(name.accepts(&text), server_name_ok(&text));
        prop_assert_eq!(description.accepts(&text), description_ok(&text));
        prop_assert_eq!(project.accepts(&text), project_name_ok(&text));
    }
}

#[test]
fn the_numeric_bounds_are_the_service_s_checks() {
    for limit in limits::table() {
        let (Some(min), Some(max)) = (limit.bounds.minimum, limit.bounds.maximum) else {
            continue;
        };
        let check: fn(i64) -> bool = match limit.place {
            Place::Field(_, "rate_limit_per_minute") => |n| rate_limit(n).is_ok(),
            Place::Field(_, "max_servers" | "max_vcpus") => {
                |n| quota::limits(Some(n), None).is_ok()
            }
            // Checked where they are parsed: tests/api (paging, the clock).
            _ => continue,
        };
        assert!(check(min) && check(max), "{limit:?}");
        assert!(!check(min - 1) && !check(max + 1), "{limit:?}");
    }
    assert_eq!(i64::from(MAX_RATE_LIMIT_PER_MINUTE), 1_000_000);
}

/// A fault effect whose `field` is `value`, as the service checks it.
fn effect_with(field: &str, value: i64) -> Result<(), String> {
    let mut effect = serde_json::json!({ "kind": "error" });
    if ["ms", "min_ms", "max_ms", "mean_ms", "stddev_ms"].contains(&field) {
        effect["kind"] = "latency".into();
        effect["distribution"] = match field {
            "ms" => "fixed",
            "mean_ms" | "stddev_ms" => "normal",
            _ => "uniform",
        }
        .into();
        if field == "min_ms" {
            effect["max_ms"] = fleet_domain::faults::MAX_LATENCY_MS.into();
        }
    }
    effect[field] = value.into();
    let request: dto::CreateFaultRuleRequest =
        serde_json::from_value(serde_json::json!({ "effect": effect }))
            .map_err(|e| e.to_string())?;
    let request = request.into_domain().map_err(|e| e.to_string())?;
    request.spec.check().map(drop).map_err(|e| e.to_string())
}

#[test]
fn the_fault_bounds_are_the_service_s_checks() {
    for limit in limits::table() {
        let (Place::Nested("FaultEffect", field, _), Some(min), Some(max)) =
            (&limit.place, limit.bounds.minimum, limit.bounds.maximum)
        else {
            continue;
        };
        assert!(effect_with(field, min).is_ok(), "{limit:?}");
        assert!(effect_with(field, max).is_ok(), "{limit:?}");
        assert!(effect_with(field, min - 1).is_err(), "{limit:?}");
        assert!(effect_with(field, max + 1).is_err(), "{limit:?}");
    }
    let misplaced = |effect: serde_json::Value| {
        let request: dto::CreateFaultRuleRequest =
            serde_json::from_value(serde_json::json!({ "effect": effect })).expect("parsed");
        request.into_domain().map(drop).map_err(|e| e.to_string())
    };
    for (effect, field) in [
        (
            serde_json::json!({"kind": "error", "mean_ms": 30_001}),
            "effect.mean_ms",
        ),
        (
            serde_json::json!({"kind": "error", "distribution": "fixed"}),
            "effect.distribution",
        ),
        (
            serde_json::json!({"kind": "latency", "ms": 5, "status": 503}),
            "effect.status",
        ),
        (
            serde_json::json!({"kind": "latency", "distribution": "uniform", "ms": 5}),
            "effect.ms",
        ),
    ] {
        let refused = misplaced(effect).expect_err(field);
        assert!(refused.starts_with(field), "{refused}");
    }
    let count = |n: i64| fleet_domain::faults::check_max_count(Some(n)).is_ok();
    let bounds = limits::table()
        .into_iter()
        .find(|l| l.place == Place::Field("CreateFaultRuleRequest", "max_count"))
        .expect("max_count's bound")
        .bounds;
    let (min, max) = (bounds.minimum.expect("min"), bounds.maximum.expect("max"));
    assert!(count(min) && count(max) && !count(min - 1) && !count(max + 1));
}

#[test]
fn the_examples_are_requests_the_service_accepts() {
    let bounds = |schema: &str, field: &str| {
        limits::table()
            .into_iter()
            .find(|limit| matches!(limit.place, Place::Field(s, f) if s == schema && f == field))
            .map(|limit| limit.bounds)
            .expect("a bound")
    };
    let text =
        |example: &Value, field: &str| example[field].as_str().unwrap_or_default().to_owned();
    let catalog = Catalog::default();
    for (schema, example) in examples() {
        let parsed = match schema {
            "ProvisionRequest" => {
                let request: dto::ProvisionRequest =
                    serde_json::from_value(example.clone()).expect("a ProvisionRequest");
                assert!(catalog.region(&request.region).is_some());
                assert!(catalog.server_type(&request.server_type).is_some());
                assert!(within(&bounds(schema, "name"), &text(&example, "name")));
                let labels = request.labels.expect("labels").0;
                assert!(fleet_domain::Labels::from_client(labels).is_ok());
                Ok(())
            }
            "UpdateServerRequest" => {
                assert!(within(
                    &bounds("ProvisionRequest", "name"),
                    &text(&example, "name")
                ));
                serde_json::from_value::<dto::UpdateServerRequest>(example).map(|request| {
                    let update = fleet_domain::ServerUpdate::from(request);
                    let patched = fleet_domain::Labels::default().patched(&update.labels);
                    assert!(patched.is_ok(), "{patched:?}");
                })
            }
            "ActionRequest" => serde_json::from_value::<dto::ActionRequest>(example).map(drop),
            // The selector's pattern is held to the parser by `labels_tests`.
            "BulkActionRequest" => {
                serde_json::from_value::<dto::BulkActionRequest>(example).map(|request| {
                    let selector = fleet_domain::Selector::parse(&request.label_selector);
                    assert!(selector.is_ok_and(|s| !s.is_empty()));
                })
            }
            "AdvanceRequest" => serde_json::from_value::<dto::AdvanceRequest>(example).map(drop),
            "CreateProjectRequest" | "UpdateProjectRequest" => {
                assert!(within(&bounds(schema, "name"), &text(&example, "name")));
                match schema {
                    "CreateProjectRequest" => {
                        serde_json::from_value::<dto::CreateProjectRequest>(example).map(drop)
                    }
                    _ => serde_json::from_value::<dto::UpdateProjectRequest>(example).map(drop),
                }
            }
            "CreateKeyRequest" => {
                assert!(within(
                    &bounds(schema, "description"),
                    &text(&example, "description")
                ));
                serde_json::from_value::<dto::CreateKeyRequest>(example).map(drop)
            }
            "SetQuotasRequest" => {
                serde_json::from_value::<dto::SetQuotasRequest>(example).map(drop)
            }
            "CreateFaultRuleRequest" => {
                serde_json::from_value::<dto::CreateFaultRuleRequest>(example).map(|request| {
                    let request = request.into_domain().expect("a rule's fields");
                    let checked = request.spec.check();
                    assert!(checked.is_ok(), "{checked:?}");
                    for region in &request.spec.regions {
                        assert!(catalog.region(region).is_some(), "{region}");
                    }
                })
            }
            "CreateWebhookRequest" => {
                assert!(within(&bounds(schema, "url"), &text(&example, "url")));
                serde_json::from_value::<dto::CreateWebhookRequest>(example).map(|request| {
                    let url = fleet_domain::webhooks::check_url(
                        &request.url,
                        &fleet_domain::webhooks::AddressPolicy::default(),
                    );
                    assert!(url.is_ok(), "{url:?}");
                })
            }
            "UpdateWebhookRequest" => {
                serde_json::from_value::<dto::UpdateWebhookRequest>(example).map(drop)
            }
            "CreateBudgetRequest" => {
                assert!(within(&bounds(schema, "name"), &text(&example, "name")));
                assert!(within(&bounds(schema, "amount"), &text(&example, "amount")));
                serde_json::from_value::<dto::CreateBudgetRequest>(example).map(|request| {
                    let amount = fleet_domain::Money::parse_decimal(&request.amount);
                    let checked = fleet_domain::budgets::NewBudget {
                        name: request.name,
                        amount_micros: amount.expect("a decimal amount").micros(),
                        selector: request.label_selector,
                        basis: None,
                    }
                    .check();
                    assert!(checked.is_ok(), "{checked:?}");
                })
            }
            other => panic!("an example of {other}, which this test does not know"),
        };
        assert!(parsed.is_ok(), "{schema}: {parsed:?}");
    }
}
