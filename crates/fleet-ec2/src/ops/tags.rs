//! CreateTags, DeleteTags and DescribeTags: an instance's tags are its labels (under the
//! label rules), but for the labels the endpoint keeps for itself.

use std::collections::BTreeMap;

use fleet_domain::service::{ServerView, validate_name};
use fleet_domain::{InstanceId, ServerUpdate};

use super::describe::{DEFAULT_PAGE, MAX_RESULTS};
use super::scan::{Narrowing, scan};
use super::{Call, answer};
use crate::errors::Ec2Error;
use crate::mapping::{self, SERVICE_PREFIX};
use crate::params::Filter;
use crate::xml::{DescribeTagsResponse, Head, ReturnResponse, TagDescription};

/// The filters DescribeTags takes.
const TAG_FILTERS: [&str; 4] = ["resource-id", "resource-type", "key", "value"];

pub(super) async fn create_tags(call: &Call<'_>) -> Result<String, Ec2Error> {
    let tags = call.params.tags("Tag")?;
    if tags.is_empty() {
        return Err(Ec2Error::missing("Tag"));
    }
    let patch: BTreeMap<String, Option<String>> = tags
        .into_iter()
        .map(|tag| Ok((own_key(tag.key)?, Some(tag.value.unwrap_or_default()))))
        .collect::<Result<_, Ec2Error>>()?;
    // A `Name` tag names the server too, as at launch, when it is a name fleet takes.
    let name = patch
        .get("Name")
        .and_then(|value| validate_name(value.clone()?).ok());
    for view in resources(call).await? {
        update(call, &view, name.clone(), patch.clone()).await?;
    }
    done(call, "CreateTags")
}

pub(super) async fn delete_tags(call: &Call<'_>) -> Result<String, Ec2Error> {
    let tags = call.params.tags("Tag")?;
    for view in resources(call).await? {
        let patch: BTreeMap<String, Option<String>> = mapping::tags(&view)
            .into_iter()
            .filter(|tag| {
                tags.is_empty()
                    || tags.iter().any(|t| {
                        t.key == tag.key && t.value.as_ref().is_none_or(|v| *v == tag.value)
                    })
            })
            .map(|tag| (tag.key, None))
            .collect();
        if !patch.is_empty() {
            update(call, &view, None, patch).await?;
        }
    }
    done(call, "DeleteTags")
}

pub(super) async fn describe_tags(call: &Call<'_>) -> Result<String, Ec2Error> {
    let filters = call.params.filters()?;
    if let Some(bad) = filters
        .iter()
        .find(|f| !TAG_FILTERS.contains(&f.name.as_str()))
    {
        return Err(Ec2Error::invalid_parameter(format!(
            "The filter '{}' is invalid; fleet's filters here: {}",
            bad.name,
            TAG_FILTERS.join(", ")
        )));
    }
    let values = |name: &str| -> Option<&Vec<String>> {
        filters.iter().find(|f| f.name == name).map(|f| &f.values)
    };
    let wants_instances = values("resource-type").is_none_or(|v| v.iter().any(|t| t == "instance"));
    let max = call.params.number("MaxResults", MAX_RESULTS)?;
    let (views, next_token) = if !wants_instances {
        (Vec::new(), None)
    } else if let Some(ids) = values("resource-id") {
        let mut views = Vec::new();
        for text in ids {
            let Ok(id) = InstanceId::parse(text) else {
                continue;
            };
            if let Some(view) = call.state.servers.get_instance(&call.caller, &id).await?
                && view.server.region == call.region
            {
                views.push(view);
            }
        }
        (views, None)
    } else {
        let found = scan(
            call,
            Narrowing::default(),
            call.params.get("NextToken"),
            max.unwrap_or(DEFAULT_PAGE) as usize,
            |view| !mapping::tags(view).is_empty(),
        )
        .await?;
        (found.views, found.next_token)
    };
    let tag_set: Vec<TagDescription> = views
        .iter()
        .flat_map(|view| described(view, &filters))
        .collect();
    answer(
        "DescribeTags",
        &DescribeTagsResponse {
            head: Head::of(&call.request_id),
            tag_set: tag_set.into(),
            next_token,
        },
    )
}

/// A server's tags that pass the key and value filters.
fn described(view: &ServerView, filters: &[Filter]) -> Vec<TagDescription> {
    let passes = |name: &str, value: &str| {
        filters
            .iter()
            .filter(|f| f.name == name)
            .all(|f| f.values.iter().any(|v| v == value))
    };
    mapping::tags(view)
        .into_iter()
        .filter(|tag| passes("key", &tag.key) && passes("value", &tag.value))
        .map(|tag| TagDescription {
            resource_id: InstanceId::of(view.server.id).to_string(),
            resource_type: "instance",
            key: tag.key,
            value: tag.value,
        })
        .collect()
}

/// The instances named by `ResourceId.N`.
async fn resources(call: &Call<'_>) -> Result<Vec<ServerView>, Ec2Error> {
    let views = call.named_instances("ResourceId").await?;
    if views.is_empty() {
        return Err(Ec2Error::missing("ResourceId"));
    }
    Ok(views)
}

async fn update(
    call: &Call<'_>,
    view: &ServerView,
    name: Option<String>,
    labels: BTreeMap<String, Option<String>>,
) -> Result<(), Ec2Error> {
    call.state
        .servers
        .update(
            &call.caller,
            view.server.id,
            ServerUpdate { name, labels },
            None,
            &call.context(),
        )
        .await?;
    Ok(())
}

fn own_key(key: String) -> Result<String, Ec2Error> {
    if key.starts_with(SERVICE_PREFIX) {
        return Err(Ec2Error::invalid_parameter(format!(
            "Tag keys starting with '{SERVICE_PREFIX}' are fleet's own"
        )));
    }
    Ok(key)
}

fn done(call: &Call<'_>, action: &str) -> Result<String, Ec2Error> {
    answer(
        action,
        &ReturnResponse {
            head: Head::of(&call.request_id),
            ok: true,
        },
    )
}
