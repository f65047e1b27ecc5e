//! One component per named type: every DTO that derives `Apiv2Schema` becomes a
//! `components/schemas` entry named after its Rust type, built from paperclip's own schema
//! of the type (`raw_schema`), and every place it appears refers to it with `$ref`.
//! paperclip's v3 output inlines nested types instead, so a generated client would get a
//! copy of `Money` or `ServerState` for every field that holds one.

use std::collections::{BTreeMap, BTreeSet};

use paperclip::v2::models::{DefaultSchemaRaw, Either};
use paperclip::v2::schema::Apiv2Schema;
use serde_json::{Map, Value, json};

use crate::dto;
use crate::problem::Problem;

const PREFIX: &str = "#/components/schemas/";

/// A named type as paperclip describes it.
pub(crate) struct Named {
    /// The component's name: the Rust type's.
    pub name: String,
    schema: DefaultSchemaRaw,
    description: &'static str,
}

fn named<T: Apiv2Schema>() -> Named {
    let schema = T::raw_schema();
    Named {
        name: T::name()
            .or_else(|| schema.name.clone())
            .unwrap_or_default(),
        schema,
        description: T::description(),
    }
}

/// Every named type of the API. A DTO that appears in a request or response and is missing
/// here stays inline, which the spec's tests refuse.
pub(crate) fn named_types() -> Vec<Named> {
    vec![
        named::<dto::Action>(),
        named::<dto::ActionCommand>(),
        named::<dto::ActionList>(),
        named::<dto::ActionRecord>(),
        named::<dto::ActionRequest>(),
        named::<dto::ActionStatus>(),
        named::<dto::Actor>(),
        named::<dto::AdvanceReport>(),
        named::<dto::AdvanceRequest>(),
        named::<dto::ApiKey>(),
        named::<dto::Billing>(),
        named::<dto::BillingPolicy>(),
        named::<dto::BillingPolicyName>(),
        named::<dto::BillingReport>(),
        named::<dto::Budget>(),
        named::<dto::BudgetBasis>(),
        named::<dto::BudgetCrossing>(),
        named::<dto::BudgetList>(),
        named::<dto::BulkActionCounts>(),
        named::<dto::BulkActionOutcome>(),
        named::<dto::BulkActionReport>(),
        named::<dto::BulkActionRequest>(),
        named::<dto::BulkActionResult>(),
        named::<dto::Catalog>(),
        named::<dto::ClockReading>(),
        named::<dto::CostBucket>(),
        named::<dto::CostForecast>(),
        named::<dto::CostGranularity>(),
        named::<dto::CostGroup>(),
        named::<dto::CostGroupKey>(),
        named::<dto::CostReport>(),
        named::<dto::CreateBudgetRequest>(),
        named::<dto::CreateKeyRequest>(),
        named::<dto::CreateProjectRequest>(),
        named::<dto::CreatedKey>(),
        named::<dto::Event>(),
        named::<dto::EventList>(),
        named::<dto::EventPage>(),
        named::<dto::EventType>(),
        named::<dto::CreateFaultRuleRequest>(),
        named::<dto::FaultEffect>(),
        named::<dto::FaultEffectKind>(),
        named::<dto::FaultOperation>(),
        named::<dto::FaultRule>(),
        named::<dto::FaultRuleList>(),
        named::<dto::InterruptionAction>(),
        named::<dto::LatencyDistribution>(),
        named::<dto::KeyList>(),
        named::<dto::LabelPatch>(),
        named::<dto::Labels>(),
        named::<dto::Money>(),
        named::<dto::Pool>(),
        named::<Problem>(),
        named::<dto::Project>(),
        named::<dto::ProjectDetail>(),
        named::<dto::ProjectList>(),
        named::<dto::ProjectQuotas>(),
        named::<dto::ProvisionRequest>(),
        named::<dto::Region>(),
        named::<dto::Role>(),
        named::<dto::Server>(),
        named::<dto::ServerList>(),
        named::<dto::ServerCounts>(),
        named::<dto::StateCount>(),
        named::<dto::RegionCount>(),
        named::<dto::StateRegionCount>(),
        named::<dto::ServerState>(),
        named::<dto::ServerType>(),
        named::<dto::SetQuotasRequest>(),
        named::<dto::StateReason>(),
        named::<dto::StateReasonCode>(),
        named::<dto::UpdateProjectRequest>(),
        named::<dto::UpdateServerRequest>(),
        named::<dto::UsageRecord>(),
        named::<dto::WatchEvent>(),
        named::<dto::WatchEventType>(),
        named::<dto::CreateWebhookRequest>(),
        named::<dto::UpdateWebhookRequest>(),
        named::<dto::Webhook>(),
        named::<dto::WebhookWithSecret>(),
        named::<dto::WebhookList>(),
        named::<dto::DeliveryStatus>(),
        named::<dto::WebhookDelivery>(),
        named::<dto::WebhookDeliveryList>(),
    ]
}

/// Replaces `components/schemas` with one entry per named type the paths use (directly or
/// through another component), and refers to the enumerations of query parameters.
pub(crate) fn reference_named_types(v3: &mut Value) {
    let types = named_types();
    let known: BTreeSet<&str> = types.iter().map(|t| t.name.as_str()).collect();
    let all: BTreeMap<String, Value> = types
        .iter()
        .map(|t| (t.name.clone(), component(t, &known)))
        .collect();
    refer_to_parameter_enums(v3, &all);
    let used = reachable(v3.get("paths").unwrap_or(&Value::Null), &all);
    let schemas: Map<String, Value> = all
        .into_iter()
        .filter(|(name, _)| used.contains(name))
        .collect();
    if let Some(components) = v3.get_mut("components").and_then(Value::as_object_mut) {
        components.insert("schemas".to_owned(), Value::Object(schemas));
    }
}

/// The component of `named`: its schema, with its own description, every nested named type
/// a reference.
fn component(named: &Named, known: &BTreeSet<&str>) -> Value {
    let mut schema = to_json(&named.schema, known);
    if let Some(schema) = schema.as_object_mut() {
        let description = named.description.trim();
        if !description.is_empty() {
            schema.insert("description".to_owned(), json!(description));
        }
    }
    schema
}

/// `schema` as JSON, its nested schemas converted the same way.
fn to_json(schema: &DefaultSchemaRaw, known: &BTreeSet<&str>) -> Value {
    let mut shallow = schema.clone();
    shallow.properties.clear();
    shallow.items = None;
    shallow.extra_props = None;
    shallow.reference = None;
    let mut json = serde_json::to_value(&shallow).unwrap_or_else(|_| json!({}));
    let Some(object) = json.as_object_mut() else {
        return json;
    };
    integral_bounds(object);
    if !schema.properties.is_empty() {
        let properties: Map<String, Value> = schema
            .properties
            .iter()
            .map(|(field, nested)| (field.clone(), property(nested, known)))
            .collect();
        object.insert("properties".to_owned(), Value::Object(properties));
    }
    if let Some(items) = &schema.items {
        let items = match reference_to(items, known) {
            Some(name) => reference(name),
            None => to_json(items, known),
        };
        object.insert("items".to_owned(), items);
    }
    match &schema.extra_props {
        Some(Either::Left(allowed)) => {
            object.insert("additionalProperties".to_owned(), json!(allowed));
        }
        Some(Either::Right(nested)) => {
            object.insert("additionalProperties".to_owned(), property(nested, known));
        }
        None => {}
    }
    json
}

/// A property: a reference when it holds a named type, kept with the field's own
/// description (`allOf` of the one reference, which generators read as the type itself:
/// OpenAPI 3.0 ignores a `$ref`'s siblings).
fn property(schema: &DefaultSchemaRaw, known: &BTreeSet<&str>) -> Value {
    let Some(name) = reference_to(schema, known) else {
        return to_json(schema, known);
    };
    match schema.description.as_deref().map(str::trim) {
        Some(description) if !description.is_empty() => json!({
            "allOf": [reference(name)],
            "description": description,
        }),
        _ => reference(name),
    }
}

fn reference_to<'a>(schema: &'a DefaultSchemaRaw, known: &BTreeSet<&str>) -> Option<&'a str> {
    schema.name.as_deref().filter(|name| known.contains(name))
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("{PREFIX}{name}") })
}

/// paperclip keeps bounds as `f32`: an integer's bounds are written as integers.
fn integral_bounds(schema: &mut Map<String, Value>) {
    if schema.get("type").and_then(Value::as_str) != Some("integer") {
        return;
    }
    for bound in ["minimum", "maximum"] {
        if let Some(value) = schema.get(bound).and_then(Value::as_f64) {
            // Bounds of Rust integer types, exact in f64.
            #[allow(clippy::cast_possible_truncation)]
            schema.insert(bound.to_owned(), json!(value as i64));
        }
    }
}

/// A query parameter that takes one (or, repeated, several) of a named enumeration's values
/// refers to it.
fn refer_to_parameter_enums(v3: &mut Value, components: &BTreeMap<String, Value>) {
    let enums: Vec<(&String, &Value)> = components
        .iter()
        .filter_map(|(name, schema)| schema.get("enum").map(|values| (name, values)))
        .collect();
    let schemas = super::parameters_mut(v3)
        .filter_map(|parameter| parameter.get_mut("schema"))
        .filter_map(|schema| {
            if schema["type"] == "array" {
                schema.get_mut("items")
            } else {
                Some(schema)
            }
        });
    for schema in schemas {
        let Some(values) = schema.get("enum") else {
            continue;
        };
        if let Some((name, _)) = enums.iter().find(|(_, known)| *known == values) {
            *schema = reference(name);
        }
    }
}

/// The components `root` refers to, directly or through other components.
fn reachable(root: &Value, components: &BTreeMap<String, Value>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut pending = Vec::new();
    references_in(root, &mut pending);
    while let Some(name) = pending.pop() {
        if found.insert(name.clone())
            && let Some(schema) = components.get(&name)
        {
            references_in(schema, &mut pending);
        }
    }
    found
}

/// The component names `value` refers to.
pub(crate) fn references_in(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix(PREFIX))
            {
                found.push(name.to_owned());
            }
            map.values().for_each(|nested| references_in(nested, found));
        }
        Value::Array(items) => items.iter().for_each(|nested| references_in(nested, found)),
        _ => {}
    }
}
