//! What the documents say about the API as a whole: `info` (which paperclip leaves empty),
//! the tags, and where the API is served.

use paperclip::v2::models::{DefaultApiRaw, Info, Tag};
use serde_json::{Value, json};

use crate::extract::MAX_BODY_BYTES;
use crate::query::MAX_QUERY_BYTES;

/// The address `cargo run` serves (fleetd's default `bind`).
pub const LOCAL_SERVER: &str = "http://127.0.0.1:8080";

/// The document paperclip fills in from the routes.
pub(crate) fn base() -> DefaultApiRaw {
    let info = Info {
        title: "fleet".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        description: Some(description()),
        ..Default::default()
    };
    let tags = vec![
        tag("Servers", "Virtual servers and their history."),
        tag(
            "Events",
            "The global event sequence: pages after a cursor, and a resumable stream.",
        ),
        tag(
            "Actions",
            "Action records: what became of each provisioning and accepted action.",
        ),
        tag("Catalog", "Regions, address pools and server types."),
        tag(
            "Costs",
            "Cost reports by time and group (JSON or CSV), and the month's forecast.",
        ),
        tag(
            "Projects",
            "Projects, the accounts servers belong to (admin role).",
        ),
        tag(
            "Keys",
            "API keys of projects, shown once at creation, stored hashed (admin role).",
        ),
        tag(
            "Admin",
            "The virtual clock (admin role). Its operations exist only when fleetd runs \
             with `--clock virtual`: otherwise they are a 404 `route-not-found` problem, and \
             the document fleetd serves leaves them out.",
        ),
    ];
    DefaultApiRaw {
        info,
        tags,
        ..Default::default()
    }
}

fn description() -> String {
    format!(
        "A simulated cloud control plane: provision virtual servers, drive their lifecycle \
         (start, stop, reboot, terminate), read their events and what they cost. \
         Every server belongs to a project; a request acts as an API key of one project \
         (`Authorization: Bearer <key>`) with a role: `viewer` reads, `member` also changes \
         servers, `admin` does everything in every project and manages projects and keys. \
         Another project's server is not found. \
         Requests may be rate-limited per key (per client address without a key): the \
         responses then carry `RateLimit-Policy` and `RateLimit` \
         (draft-ietf-httpapi-ratelimit-headers), and a request over the limit is a 429 \
         problem with `Retry-After` that changed nothing. \
         Request bodies are JSON of at most {MAX_BODY_BYTES} bytes, query strings at most \
         {MAX_QUERY_BYTES} bytes; every response echoes `X-Request-Id`. Money is integer \
         micro-units with a decimal string and a currency.\n\n\
         Errors are RFC 9457 problem details (the `Problem` schema), carrying the request \
         id. Their media type follows the request's `Accept`: `application/problem+json` \
         when the request accepts it (by name, `application/*` or `*/*`, or sends no \
         `Accept`) at least as much as `application/json`, and `application/json` \
         otherwise (as for `Accept: application/json`, what generated clients send). The \
         body is the same either way."
    )
}

fn tag(name: &str, description: &str) -> Tag {
    Tag {
        name: name.to_owned(),
        description: Some(description.to_owned()),
        external_docs: None,
    }
}

/// Where the API is served: the service that serves the document (what Swagger UI calls),
/// and a local fleetd.
pub(crate) fn add_servers(v3: &mut Value) {
    if let Some(document) = v3.as_object_mut() {
        document.insert(
            "servers".to_owned(),
            json!([
                { "url": "/", "description": "The fleetd that serves this document." },
                { "url": LOCAL_SERVER, "description": "fleetd as `cargo run` starts it." },
            ]),
        );
    }
}

/// Doc comments reach the documents with their line breaks and indentation; a
/// description is one paragraph per blank-line-separated block.
pub(crate) fn tidy_descriptions(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, nested) in map.iter_mut() {
                match nested {
                    Value::String(text) if key == "description" => *text = tidy(text),
                    _ => tidy_descriptions(nested),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(tidy_descriptions),
        _ => {}
    }
}

fn tidy(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| paragraph.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|paragraph| !paragraph.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}
