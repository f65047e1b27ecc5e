//! Every bound the service enforces on what a client sends, in one table built from the
//! constants the checks use, written into both documents: paperclip cannot derive them
//! (and its v3 output drops even the bounds it knows). Generated clients and fuzzers then
//! stay inside what the service accepts, and a bound changed in the code changes the spec.
//!
//! Text rules that trim surrounding whitespace first are patterns on the whole text as
//! sent: a length bound on the text as sent would refuse what the service accepts.

use fleet_domain::EventType;
use fleet_domain::budgets::MAX_BUDGET_NAME_LEN;
use fleet_domain::faults::{
    MAX_FAULT_COUNT, MAX_LATENCY_MS, MAX_MATCH_VALUES, MAX_PROBLEM_TYPE_CHARS,
    MAX_RETRY_AFTER_SECONDS,
};
use fleet_domain::idempotency::MAX_KEY_CHARS;
use fleet_domain::page::{MAX_OFFSET, MAX_PAGE_SIZE};
use fleet_domain::project_update::MAX_RATE_LIMIT_PER_MINUTE;
use fleet_domain::quota;
use fleet_domain::service::{MAX_EVENTS, MAX_NAME_CHARS, MAX_USAGE_RECORDS};
use fleet_domain::tenancy::{MAX_DESCRIPTION, MAX_PROJECT_NAME};
use fleet_domain::webhooks::{MAX_DESCRIPTION_LEN, MAX_URL_LEN};
use serde_json::{Map, Value, json};

use super::labels;
use super::parameters::KEY_COMPONENT;
use crate::conditional::tags;
use crate::handlers::admin::MAX_ADVANCE_SECONDS;
use crate::handlers::wait::MAX_WAIT_SECONDS;
use crate::idempotency::KEY_HEADER;
use crate::resume;

/// Where a bound applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A property of a component schema: (schema, property).
    Field(&'static str, &'static str),
    /// A query parameter of an operation: (operationId, parameter).
    Query(&'static str, &'static str),
    /// A header parameter of an operation: (operationId, header).
    OperationHeader(&'static str, &'static str),
    /// A header parameter: its component in OpenAPI 3; in Swagger 2, the parameter of
    /// every operation that takes it: (component, header).
    Header(&'static str, &'static str),
    /// A map: its component in OpenAPI 3; in Swagger 2, which inlines it, the properties
    /// of the definitions that hold it: (component, [(schema, property)]).
    Map(&'static str, &'static [(&'static str, &'static str)]),
    /// A property of an object that Swagger 2 inlines: of its component in OpenAPI 3; in
    /// Swagger 2, of each copy in the definitions that hold it: (component, property,
    /// [(schema, field holding it)]).
    Nested(
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
    ),
}

/// The bounds of one value, as JSON Schema states them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bounds {
    /// The least number accepted.
    pub minimum: Option<i64>,
    /// The greatest number accepted.
    pub maximum: Option<i64>,
    /// The fewest characters accepted.
    pub min_length: Option<usize>,
    /// The most characters accepted.
    pub max_length: Option<usize>,
    /// What the whole text must match (ECMA 262, as JSON Schema reads it).
    pub pattern: Option<String>,
    /// The fewest values of a repeated parameter accepted.
    pub min_items: Option<usize>,
    /// The most values of an array accepted.
    pub max_items: Option<usize>,
    /// The most entries of a map accepted.
    pub max_properties: Option<usize>,
    /// The bounds of each value of a map (its `additionalProperties`).
    pub values: Option<Box<Bounds>>,
    /// Whether `null` is accepted (and means something).
    pub nullable: bool,
}

impl Bounds {
    fn range(minimum: i64, maximum: impl Into<i64>) -> Self {
        Self {
            minimum: Some(minimum),
            maximum: Some(maximum.into()),
            ..Self::default()
        }
    }

    fn at_least(minimum: i64) -> Self {
        Self {
            minimum: Some(minimum),
            ..Self::default()
        }
    }

    fn pattern(pattern: String) -> Self {
        Self {
            pattern: Some(pattern),
            ..Self::default()
        }
    }

    fn or_null(self) -> Self {
        Self {
            nullable: true,
            ..self
        }
    }

    /// The bounds as schema keywords; `nullable` is the keyword of the document's version.
    fn keywords(&self, nullable: &str) -> Map<String, Value> {
        let mut keywords = Map::new();
        let mut put = |keyword: &str, value: Option<Value>| {
            if let Some(value) = value {
                keywords.insert(keyword.to_owned(), value);
            }
        };
        put("minimum", self.minimum.map(Value::from));
        put("maximum", self.maximum.map(Value::from));
        put("minLength", self.min_length.map(Value::from));
        put("maxLength", self.max_length.map(Value::from));
        put("pattern", self.pattern.clone().map(Value::from));
        put("minItems", self.min_items.map(Value::from));
        put("maxItems", self.max_items.map(Value::from));
        put("maxProperties", self.max_properties.map(Value::from));
        put(nullable, self.nullable.then_some(Value::Bool(true)));
        keywords
    }

    /// Writes the bounds into `schema`; `false` when it has no `additionalProperties` to
    /// hold the bounds of its values.
    fn write(&self, schema: &mut Map<String, Value>, nullable: &str) -> bool {
        schema.extend(self.keywords(nullable));
        let Some(values) = &self.values else {
            return true;
        };
        match schema
            .get_mut("additionalProperties")
            .and_then(Value::as_object_mut)
        {
            Some(additional) => values.write(additional, nullable),
            None => false,
        }
    }
}

/// One bound of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// Where it applies.
    pub place: Place,
    /// What it is.
    pub bounds: Bounds,
}

fn field(schema: &'static str, property: &'static str, bounds: Bounds) -> Limit {
    Limit {
        place: Place::Field(schema, property),
        bounds,
    }
}

/// A property of `FaultEffect`, which Swagger 2 inlines in the rule and its request.
fn effect(property: &'static str, bounds: Bounds) -> Limit {
    Limit {
        place: Place::Nested(
            "FaultEffect",
            property,
            &[
                ("CreateFaultRuleRequest", "effect"),
                ("FaultRule", "effect"),
            ],
        ),
        bounds,
    }
}

fn query(operation: &'static str, parameter: &'static str, bounds: Bounds) -> Limit {
    Limit {
        place: Place::Query(operation, parameter),
        bounds,
    }
}

fn header(operation: &'static str, name: &'static str, bounds: Bounds) -> Limit {
    Limit {
        place: Place::OperationHeader(operation, name),
        bounds,
    }
}

/// `If-Match` and `If-None-Match` (`crate::conditional::tags`): `*` or entity-tags.
pub fn entity_tags() -> Bounds {
    Bounds::pattern(tags::PATTERN.to_owned())
}

/// The characters `str::trim` removes (Unicode `White_Space`).
const WHITESPACE: &str =
    r"\u0009-\u000D\u0020\u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";
/// Control characters (`char::is_control`: general category Cc).
const CONTROL: &str = r"\u0000-\u001F\u007F-\u009F";
/// Invisible formatting characters a server name refuses: bidirectional overrides and
/// isolates, zero-width characters, the byte-order mark.
const INVISIBLE: &str = r"\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF";

/// Text that, trimmed, is `min` (0 or 1) to `max` characters none of which is in
/// `refused`: any whitespace around it, then a first and a last character that are not
/// whitespace, with at most `max - 2` characters between.
fn trimmed_text(min: usize, max: usize, refused: &str) -> String {
    let edge = format!("[{WHITESPACE}]*");
    let outer = format!("[^{WHITESPACE}{refused}]");
    let inner = format!("[^{refused}]{{0,{}}}", max.saturating_sub(2));
    let core = format!("{outer}(?:{inner}{outer})?");
    let core = if min == 0 {
        format!("(?:{core})?")
    } else {
        core
    };
    format!("^{edge}{core}{edge}$")
}

/// A server name (`fleet_domain::service::validate_name`): 1 to 64 characters once
/// trimmed, without control or invisible formatting characters.
pub fn server_name() -> Bounds {
    Bounds::pattern(trimmed_text(
        1,
        MAX_NAME_CHARS,
        &format!("{CONTROL}{INVISIBLE}"),
    ))
}

/// A key description (`fleet_domain::tenancy::key_description`): at most 200 characters
/// once trimmed, without control characters.
pub fn key_description() -> Bounds {
    Bounds::pattern(trimmed_text(0, MAX_DESCRIPTION, CONTROL))
}

/// A project name (`fleet_domain::tenancy::project_name`), not trimmed.
pub fn project_name() -> Bounds {
    Bounds {
        min_length: Some(1),
        max_length: Some(MAX_PROJECT_NAME),
        pattern: Some(format!("^[a-z0-9][a-z0-9-]{{0,{}}}$", MAX_PROJECT_NAME - 1)),
        ..Bounds::default()
    }
}

/// An `Idempotency-Key` (`fleet_domain::idempotency::IdempotencyKey::parse`), as sent: at
/// most 255 characters, bare or in double quotes, each visible ASCII but `"` and `\`.
pub fn idempotency_key() -> Bounds {
    let key = r"[\x21\x23-\x5B\x5D-\x7E]+";
    Bounds {
        max_length: Some(MAX_KEY_CHARS),
        pattern: Some(format!("^(?:\"{key}\"|{key})$")),
        ..Bounds::default()
    }
}

/// A fault's problem type (`fleet_domain::faults` checks it): lowercase letters, digits and
/// inner hyphens, at most 64.
pub fn problem_type() -> Bounds {
    Bounds {
        max_length: Some(MAX_PROBLEM_TYPE_CHARS),
        pattern: Some(format!(
            "^[a-z0-9](?:[a-z0-9-]{{0,{}}}[a-z0-9])?$",
            MAX_PROBLEM_TYPE_CHARS - 2
        )),
        ..Bounds::default()
    }
}

/// The bounds of a fault rule and its effect, in requests and in the responses that echo
/// them.
fn fault_limits() -> Vec<Limit> {
    let names = || Bounds {
        max_items: Some(MAX_MATCH_VALUES),
        ..Bounds::default()
    };
    let delay = || Bounds::range(0, MAX_LATENCY_MS);
    let count = || Bounds::range(1, MAX_FAULT_COUNT as i64);
    let mut limits = vec![
        field("CreateFaultRuleRequest", "probability", Bounds::range(0, 1)),
        field("FaultRule", "probability", Bounds::range(0, 1)),
        field("CreateFaultRuleRequest", "max_count", count()),
        field("FaultRule", "max_count", count()),
        field("CreateFaultRuleRequest", "regions", names()),
        field("CreateFaultRuleRequest", "server_types", names()),
        field("FaultRule", "regions", names()),
        field("FaultRule", "server_types", names()),
        field(
            "CreateFaultRuleRequest",
            "label_selector",
            labels::label_selector(),
        ),
        // The status is one of five (words in its description): a range of them here.
        effect("status", Bounds::range(429, 504)),
        effect("problem_type", problem_type()),
        effect(
            "retry_after_seconds",
            Bounds::range(0, MAX_RETRY_AFTER_SECONDS),
        ),
        query("listFaultRules", "limit", Bounds::range(1, MAX_PAGE_SIZE)),
    ];
    for property in ["ms", "min_ms", "max_ms", "mean_ms", "stddev_ms"] {
        limits.push(effect(property, delay()));
    }
    limits
}

/// The bounds of a webhook subscription, in requests and in the responses that echo them.
fn webhook_limits() -> Vec<Limit> {
    let url = || Bounds {
        min_length: Some(1),
        max_length: Some(MAX_URL_LEN),
        ..Bounds::default()
    };
    let description = || Bounds {
        max_length: Some(MAX_DESCRIPTION_LEN),
        ..Bounds::default()
    };
    let types = || Bounds {
        max_items: Some(EventType::ALL.len()),
        ..Bounds::default()
    };
    let page = || Bounds::range(1, MAX_PAGE_SIZE);
    let mut limits = Vec::new();
    for schema in ["CreateWebhookRequest", "UpdateWebhookRequest"] {
        limits.push(field(schema, "url", url()));
        limits.push(field(schema, "description", description()));
        limits.push(field(schema, "event_types", types()));
    }
    limits.extend([
        field(
            "CreateWebhookRequest",
            "label_selector",
            labels::label_selector(),
        ),
        field(
            "UpdateWebhookRequest",
            "label_selector",
            labels::label_selector().or_null(),
        ),
        field("Webhook", "url", url()),
        field("Webhook", "description", description()),
        field("Webhook", "event_types", types()),
        query("listWebhooks", "limit", page()),
        query("listWebhookDeliveries", "limit", page()),
    ]);
    limits
}

/// The bounds of a budget, in the request and in the budget that echoes them. The amount's
/// pattern is its form (at most ten digits and six places); zero and amounts over the
/// largest are refused by value.
fn budget_limits() -> Vec<Limit> {
    let name = || Bounds {
        min_length: Some(1),
        max_length: Some(MAX_BUDGET_NAME_LEN),
        ..Bounds::default()
    };
    vec![
        field("CreateBudgetRequest", "name", name()),
        field(
            "CreateBudgetRequest",
            "amount",
            Bounds {
                pattern: Some(r"^[0-9]{1,10}(\.[0-9]{1,6})?$".to_owned()),
                ..Bounds::default()
            },
        ),
        field(
            "CreateBudgetRequest",
            "label_selector",
            labels::label_selector(),
        ),
        field("Budget", "name", name()),
        field("Budget", "label_selector", labels::label_selector()),
    ]
}

/// Every bound the service enforces on what clients send, and the same bounds on the
/// responses that echo those values.
pub fn table() -> Vec<Limit> {
    let mut limits = server_project_and_key_limits();
    limits.extend(fault_limits());
    limits.extend(webhook_limits());
    limits.extend(budget_limits());
    limits
}

fn server_project_and_key_limits() -> Vec<Limit> {
    let rate_limit = || Bounds::range(1, MAX_RATE_LIMIT_PER_MINUTE);
    let quota = || Bounds::range(0, quota::MAX_LIMIT);
    vec![
        field("ProvisionRequest", "name", server_name()),
        field("UpdateServerRequest", "name", server_name()),
        field("CreateProjectRequest", "name", project_name()),
        field("UpdateProjectRequest", "name", project_name()),
        field("CreateKeyRequest", "description", key_description()),
        field(
            "UpdateProjectRequest",
            "rate_limit_per_minute",
            rate_limit().or_null(),
        ),
        field("Project", "rate_limit_per_minute", rate_limit()),
        field("ProjectDetail", "rate_limit_per_minute", rate_limit()),
        field("SetQuotasRequest", "max_servers", quota().or_null()),
        field("SetQuotasRequest", "max_vcpus", quota().or_null()),
        field("ProjectQuotas", "max_servers", quota()),
        field("ProjectQuotas", "max_vcpus", quota()),
        field(
            "AdvanceRequest",
            "seconds",
            Bounds::range(0, MAX_ADVANCE_SECONDS),
        ),
        query("listServers", "limit", Bounds::range(1, MAX_PAGE_SIZE)),
        query("listServers", "offset", Bounds::range(0, MAX_OFFSET as i64)),
        query("getServerEvents", "limit", Bounds::range(1, MAX_EVENTS)),
        query(
            "getServerBilling",
            "limit",
            Bounds::range(1, MAX_USAGE_RECORDS),
        ),
        query("listEvents", "limit", Bounds::range(1, MAX_PAGE_SIZE)),
        query("listEvents", "after", Bounds::at_least(0)),
        query("streamEvents", "after", Bounds::at_least(0)),
        query(
            "waitForServer",
            "state",
            Bounds {
                min_items: Some(1),
                ..Bounds::default()
            },
        ),
        query(
            "waitForServer",
            "timeout",
            Bounds::range(1, MAX_WAIT_SECONDS),
        ),
        query(
            "listServerActions",
            "limit",
            Bounds::range(1, MAX_PAGE_SIZE),
        ),
        query("listServers", "label_selector", labels::label_selector()),
        query("countServers", "label_selector", labels::label_selector()),
        query("listEvents", "label_selector", labels::label_selector()),
        query("streamEvents", "label_selector", labels::label_selector()),
        field(
            "BulkActionRequest",
            "label_selector",
            labels::required_label_selector(),
        ),
        header("getServer", "If-None-Match", entity_tags()),
        header("updateServer", "If-Match", entity_tags()),
        header("actOnServer", "If-Match", entity_tags()),
        header(
            "streamEvents",
            resume::LAST_EVENT_ID,
            Bounds::pattern(resume::PATTERN.to_owned()),
        ),
        Limit {
            place: Place::Map(
                "Labels",
                // Swagger 2 inlines the history's `Event` in `EventList`: no place to name.
                &[
                    ("Server", "labels"),
                    ("ProvisionRequest", "labels"),
                    ("WatchEvent", "labels"),
                ],
            ),
            bounds: labels::labels(),
        },
        Limit {
            place: Place::Map("LabelPatch", &[("UpdateServerRequest", "labels")]),
            bounds: labels::label_patch(),
        },
        Limit {
            place: Place::Header(KEY_COMPONENT, KEY_HEADER),
            bounds: idempotency_key(),
        },
    ]
}

/// Which version of the document a bound is written into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// Swagger 2: schemas under `definitions`, a query parameter is its own schema,
    /// `x-nullable`.
    Swagger2,
    /// OpenAPI 3: schemas under `components/schemas`, a parameter has a `schema`,
    /// `nullable`.
    OpenApi3,
}

/// Writes the table into `spec`; returns the places it did not find (a document without
/// the admin routes has no `AdvanceRequest`).
pub fn apply(spec: &mut Value, version: Version) -> Vec<Place> {
    let nullable = match version {
        Version::Swagger2 => "x-nullable",
        Version::OpenApi3 => "nullable",
    };
    let mut missing = Vec::new();
    for limit in table() {
        let places = match (&limit.place, version) {
            (Place::Map(_, fields), Version::Swagger2) => fields
                .iter()
                .map(|(schema, property)| Place::Field(schema, property))
                .collect(),
            (Place::Nested(component, property, _), Version::OpenApi3) => {
                vec![Place::Field(component, property)]
            }
            (Place::Nested(component, property, holders), Version::Swagger2) => holders
                .iter()
                .map(|holder| Place::Nested(component, property, std::slice::from_ref(holder)))
                .collect(),
            (place, _) => vec![place.clone()],
        };
        for place in places {
            let written = match (&place, version) {
                (Place::Header(_, name), Version::Swagger2) => {
                    let written: Vec<bool> = header_parameters(spec, name)
                        .map(|parameter| limit.bounds.write(parameter, nullable))
                        .collect();
                    !written.is_empty() && written.into_iter().all(|w| w)
                }
                _ => schema_at(spec, &place, version)
                    .is_some_and(|schema| limit.bounds.write(schema, nullable)),
            };
            if !written {
                missing.push(place);
            }
        }
    }
    missing
}

/// The schema object at `place`.
fn schema_at<'a>(
    spec: &'a mut Value,
    place: &Place,
    version: Version,
) -> Option<&'a mut Map<String, Value>> {
    match (place, version) {
        (Place::Field(schema, property), Version::Swagger2) => {
            spec.pointer_mut(&format!("/definitions/{schema}/properties/{property}"))
        }
        (Place::Field(schema, property), Version::OpenApi3) => spec.pointer_mut(&format!(
            "/components/schemas/{schema}/properties/{property}"
        )),
        (Place::Map(component, _) | Place::Header(component, _), Version::OpenApi3) => {
            spec.pointer_mut(&format!("/components/schemas/{component}"))
        }
        (Place::Map(..) | Place::Header(..), Version::Swagger2) => None,
        (Place::Nested(_, property, holders), Version::Swagger2) => {
            // `apply` gives each copy a place of its own, with one holder.
            let (schema, field) = holders.first()?;
            spec.pointer_mut(&format!(
                "/definitions/{schema}/properties/{field}/properties/{property}"
            ))
        }
        (Place::Nested(component, property, _), Version::OpenApi3) => spec.pointer_mut(&format!(
            "/components/schemas/{component}/properties/{property}"
        )),
        (Place::Query(operation, name), _) | (Place::OperationHeader(operation, name), _) => {
            let location = match place {
                Place::Query(..) => "query",
                _ => "header",
            };
            let parameter = parameter(spec, operation, name, location)?;
            match version {
                Version::Swagger2 => Some(parameter),
                Version::OpenApi3 => parameter.get_mut("schema"),
            }
        }
    }
    .and_then(Value::as_object_mut)
}

/// Every header parameter `name` of a Swagger 2 document (the parameter is its schema).
fn header_parameters<'a>(
    spec: &'a mut Value,
    name: &'a str,
) -> impl Iterator<Item = &'a mut Map<String, Value>> {
    super::parameters_mut(spec)
        .filter(move |parameter| parameter["in"] == "header" && parameter["name"] == name)
        .filter_map(Value::as_object_mut)
}

/// The parameter `name` in `location` (`query`, `header`) of the operation
/// `operation_id`.
fn parameter<'a>(
    spec: &'a mut Value,
    operation_id: &str,
    name: &str,
    location: &str,
) -> Option<&'a mut Value> {
    super::operations_mut(spec)
        .find(|operation| operation["operationId"] == json!(operation_id))?
        .get_mut("parameters")?
        .as_array_mut()?
        .iter_mut()
        .find(|parameter| parameter["name"] == json!(name) && parameter["in"] == json!(location))
}
