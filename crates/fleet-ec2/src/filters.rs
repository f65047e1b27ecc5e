//! EC2's filters on instances (`Filter.N.Name` / `Filter.N.Value.M`): filters AND, values
//! OR. A name fleet does not know is refused, never ignored: a script that terminates what
//! a filter matches must not match everything.

use fleet_domain::service::ServerView;
use fleet_domain::{InstanceId, ServerState, labels};

use crate::errors::Ec2Error;
use crate::mapping::{self, SERVICE_PREFIX};
use crate::ops::scan::Narrowing;
use crate::params::Filter;

/// The filter names DescribeInstances takes.
pub const INSTANCE_FILTERS: [&str; 10] = [
    "instance-state-name",
    "instance-state-code",
    "instance-type",
    "instance-id",
    "availability-zone",
    "image-id",
    "private-ip-address",
    "tag:KEY",
    "tag-key",
    "tag-value",
];

/// Checked filters on instances.
#[derive(Debug, Clone, Default)]
pub struct InstanceFilters(Vec<Filter>);

impl InstanceFilters {
    /// The filters of a request, if each is one of `allowed` (by name; `tag:KEY` stands
    /// for every `tag:` filter).
    pub fn new(filters: Vec<Filter>, allowed: &[&str]) -> Result<Self, Ec2Error> {
        for filter in &filters {
            let name = if filter.name.starts_with("tag:") {
                "tag:KEY"
            } else {
                filter.name.as_str()
            };
            if !allowed.contains(&name) || filter.name == "tag:" {
                return Err(Ec2Error::invalid_parameter(format!(
                    "The filter '{}' is invalid; fleet's filters here: {}",
                    filter.name,
                    allowed.join(", ")
                )));
            }
            if filter.values.is_empty() {
                return Err(Ec2Error::invalid_parameter(format!(
                    "The filter '{}' has no values",
                    filter.name
                )));
            }
            if filter.name == "instance-state-name"
                && let Some(bad) = filter
                    .values
                    .iter()
                    .find(|v| mapping::server_states(v).is_none())
            {
                return Err(Ec2Error::invalid_parameter(format!(
                    "The filter value '{bad}' is not an instance state name"
                )));
            }
        }
        Ok(Self(filters))
    }

    /// Whether a server passes every filter.
    pub fn matches(&self, view: &ServerView) -> bool {
        self.0.iter().all(|filter| matches(filter, view))
    }

    /// What the store can narrow the walk by: one type, one state, and the tags as a
    /// selector.
    pub fn narrowing(&self) -> Narrowing {
        let mut narrowing = Narrowing::default();
        let mut requirements = Vec::new();
        for filter in &self.0 {
            match filter.name.as_str() {
                "instance-type" if filter.values.len() == 1 => {
                    narrowing.server_type = Some(filter.values[0].clone());
                }
                "instance-state-name" => {
                    let states: Vec<ServerState> = filter
                        .values
                        .iter()
                        .filter_map(|v| mapping::server_states(v))
                        .flatten()
                        .collect();
                    if let [state] = states[..] {
                        narrowing.state = Some(state);
                    }
                }
                "tag-key" if filter.values.len() == 1 && is_label_key(&filter.values[0]) => {
                    requirements.push(filter.values[0].clone());
                }
                name => {
                    if let Some(key) = name.strip_prefix("tag:")
                        && is_label_key(key)
                        && filter
                            .values
                            .iter()
                            .all(|v| labels::validate_value(key, v).is_ok())
                    {
                        requirements.push(format!("{key} in ({})", filter.values.join(",")));
                    }
                }
            }
        }
        if !requirements.is_empty() {
            narrowing.label_selector = Some(requirements.join(","));
        }
        narrowing
    }
}

/// Whether `key` is a label key, so a selector can name it: a tag that is not one matches
/// no server, and the filter alone decides.
fn is_label_key(key: &str) -> bool {
    labels::validate_key(key).is_ok()
}

fn matches(filter: &Filter, view: &ServerView) -> bool {
    let server = &view.server;
    let any = |value: &str| filter.values.iter().any(|v| v == value);
    let state = mapping::instance_state(server.state);
    match filter.name.as_str() {
        "instance-state-name" => any(state.name),
        "instance-state-code" => any(&state.code.to_string()),
        "instance-type" => any(&server.server_type),
        "instance-id" => any(InstanceId::of(server.id).as_str()),
        "availability-zone" => any(&mapping::zone_of(server.id, &server.region)),
        "image-id" => any(mapping::image_of(server)),
        "private-ip-address" => server.ip.is_some_and(|ip| any(&ip.to_string())),
        "tag-key" => server
            .labels
            .iter()
            .any(|(k, _)| !k.starts_with(SERVICE_PREFIX) && any(k)),
        "tag-value" => server
            .labels
            .iter()
            .any(|(k, v)| !k.starts_with(SERVICE_PREFIX) && any(v)),
        name => name
            .strip_prefix("tag:")
            .and_then(|key| server.labels.get(key))
            .is_some_and(any),
    }
}
