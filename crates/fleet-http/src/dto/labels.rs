//! Labels as clients send and read them, and the merge patch (RFC 7396) that changes a
//! server's name and labels. What JSON alone decides (a label value that is not a string, a
//! field that cannot be patched) is refused here, naming the label or field; the label
//! rules themselves are the domain's.

use std::collections::BTreeMap;

use fleet_domain::ServerUpdate;
use paperclip::actix::Apiv2Schema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::extract::truncate;

/// A server's labels: keys mapped to values, with the Kubernetes syntax rules. A key is an
/// optional prefix (a DNS subdomain of at most 253 characters, lowercase) and `/`, then a
/// name of 1 to 63 letters, digits, `-`, `_` and `.` starting and ending with a letter or
/// digit; keys under `fleet.dev/` are reserved for the service. A value is empty or such a
/// name. At most 64 labels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Apiv2Schema)]
#[serde(try_from = "Map<String, Value>")]
pub struct Labels(pub BTreeMap<String, String>);

impl TryFrom<Map<String, Value>> for Labels {
    type Error = String;

    fn try_from(map: Map<String, Value>) -> Result<Self, String> {
        map.into_iter()
            .map(|(key, value)| match value {
                Value::String(value) => Ok((key, value)),
                _ => Err(format!(
                    "the value of label '{}' must be a string",
                    truncate(&key)
                )),
            })
            .collect::<Result<_, _>>()
            .map(Labels)
    }
}

impl From<fleet_domain::Labels> for Labels {
    fn from(labels: fleet_domain::Labels) -> Self {
        Labels(labels.to_map())
    }
}

/// Changes to a server's labels: a value sets its label, `null` removes it, and labels not
/// named stay as they are (RFC 7396). Keys and values follow the rules of `Labels`, and
/// the server may carry at most 64 labels after the change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Apiv2Schema)]
#[serde(try_from = "Map<String, Value>")]
pub struct LabelPatch(pub BTreeMap<String, Option<String>>);

impl TryFrom<Map<String, Value>> for LabelPatch {
    type Error = String;

    fn try_from(map: Map<String, Value>) -> Result<Self, String> {
        map.into_iter()
            .map(|(key, value)| match value {
                Value::String(value) => Ok((key, Some(value))),
                Value::Null => Ok((key, None)),
                _ => Err(format!(
                    "the value of label '{}' must be a string, or null to remove the label",
                    truncate(&key)
                )),
            })
            .collect::<Result<_, _>>()
            .map(LabelPatch)
    }
}

/// A change to a server (a JSON merge patch, RFC 7396): the fields left out stay as they
/// are. Only `name` and `labels` can be changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Apiv2Schema)]
#[serde(try_from = "Map<String, Value>")]
pub struct UpdateServerRequest {
    /// A new name of 1 to 64 characters once surrounding whitespace is trimmed, without
    /// control or invisible formatting characters. Not `null`: a server always has a name.
    pub name: Option<String>,
    /// Labels to set (a value) or remove (`null`); the server's other labels stay.
    pub labels: Option<LabelPatch>,
}

/// The fields of a server a patch may change.
const PATCHABLE: [&str; 2] = ["name", "labels"];

impl TryFrom<Map<String, Value>> for UpdateServerRequest {
    type Error = String;

    fn try_from(mut map: Map<String, Value>) -> Result<Self, String> {
        let refused: Vec<String> = map
            .keys()
            .filter(|field| !PATCHABLE.contains(&field.as_str()))
            .map(|field| format!("'{}'", truncate(field)))
            .collect();
        if !refused.is_empty() {
            return Err(format!(
                "{} cannot be patched: only 'name' and 'labels' can",
                refused.join(", ")
            ));
        }
        let name = match map.remove("name") {
            None => None,
            Some(Value::String(name)) => Some(name),
            Some(Value::Null) => {
                return Err("'name' cannot be null: a server always has a name".to_owned());
            }
            Some(_) => return Err("'name' must be a string".to_owned()),
        };
        let labels = match map.remove("labels") {
            None => None,
            Some(Value::Object(labels)) => Some(LabelPatch::try_from(labels)?),
            Some(Value::Null) => {
                return Err("'labels' cannot be null: set a label to null to remove it".to_owned());
            }
            Some(_) => return Err("'labels' must be an object".to_owned()),
        };
        Ok(Self { name, labels })
    }
}

impl From<UpdateServerRequest> for ServerUpdate {
    fn from(request: UpdateServerRequest) -> Self {
        ServerUpdate {
            name: request.name,
            labels: request.labels.map(|patch| patch.0).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn patch(body: Value) -> Result<UpdateServerRequest, String> {
        serde_json::from_value(body).map_err(|e| e.to_string())
    }

    #[test]
    fn a_patch_sets_and_removes_labels_and_renames() {
        let request = patch(json!({
            "name": "web-2",
            "labels": { "env": "prod", "tier": null }
        }))
        .expect("a patch");
        let update = ServerUpdate::from(request);
        assert_eq!(update.name.as_deref(), Some("web-2"));
        assert_eq!(
            update.labels,
            BTreeMap::from([
                ("env".to_owned(), Some("prod".to_owned())),
                ("tier".to_owned(), None)
            ])
        );
        assert_eq!(
            ServerUpdate::from(patch(json!({})).expect("empty")),
            ServerUpdate::default()
        );
    }

    #[test]
    fn what_cannot_be_patched_is_named() {
        for (body, said) in [
            (
                json!({ "id": "x", "state": "running", "name": "a" }),
                "'id', 'state' cannot be patched: only 'name' and 'labels' can",
            ),
            (json!({ "name": null }), "'name' cannot be null"),
            (json!({ "name": 7 }), "'name' must be a string"),
            (json!({ "labels": null }), "'labels' cannot be null"),
            (json!({ "labels": ["a"] }), "'labels' must be an object"),
            (
                json!({ "labels": { "env": 7 } }),
                "the value of label 'env' must be a string, or null",
            ),
        ] {
            let refused = patch(body.clone()).expect_err("refused");
            assert!(refused.contains(said), "{body}: {refused}");
        }
    }

    #[test]
    fn labels_are_an_object_of_strings() {
        let labels: Labels =
            serde_json::from_value(json!({ "env": "prod", "canary": "" })).expect("labels");
        assert_eq!(labels.0.len(), 2);
        assert_eq!(
            serde_json::to_value(&labels).expect("serializes"),
            json!({ "canary": "", "env": "prod" })
        );
        let refused =
            serde_json::from_value::<Labels>(json!({ "env": null })).expect_err("a null value");
        assert!(refused.to_string().contains("label 'env'"), "{refused}");
    }
}
