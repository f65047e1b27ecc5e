//! RunInstances: `MaxCount` servers provisioned (at least `MinCount`, or none), tagged,
//! once per `ClientToken`.

use std::collections::BTreeMap;

use fleet_domain::Action;
use fleet_domain::error::GetError;
use fleet_domain::idempotency::{Fingerprint, IdempotencyKey, StoredResponse};
use fleet_domain::service::{Begun, ProvisionRequest, ServerView, validate_name};

use super::{Call, answer};
use crate::errors::Ec2Error;
use crate::mapping::{self, IMAGE_LABEL, SERVICE_PREFIX};
use crate::xml::{Head, Items, RunInstancesResponse};

/// The most instances one RunInstances launches.
pub const MAX_COUNT: u32 = 1_000;
/// EC2's bound on a client token.
const MAX_TOKEN_CHARS: usize = 64;

pub(super) async fn run_instances(call: &Call<'_>) -> Result<String, Ec2Error> {
    let launch = Launch::of(call)?;
    let views = match call.params.get("ClientToken") {
        None => launch.run(call).await?,
        Some(token) => once(call, token, &launch).await?,
    };
    let first = views.first().ok_or_else(|| {
        Ec2Error::client(
            "IdempotentInstanceTerminated",
            "The instances this client token launched no longer exist",
        )
    })?;
    answer(
        "RunInstances",
        &RunInstancesResponse {
            head: Head::of(&call.request_id),
            reservation_id: mapping::reservation_id(first.server.id),
            owner_id: mapping::OWNER_ID.to_owned(),
            group_set: Items::default(),
            instances_set: views
                .iter()
                .map(|v| mapping::instance(v, call.state.servers.catalog()))
                .collect::<Vec<_>>()
                .into(),
        },
    )
}

/// Runs the launch once per token: a retry with the same parameters gets the instances of
/// the first (as they are now), other parameters `IdempotentParameterMismatch`. A launch
/// that failed gives the token back, so a retry (botocore retries a 5xx with the same
/// token) launches anew.
async fn once(call: &Call<'_>, token: &str, launch: &Launch) -> Result<Vec<ServerView>, Ec2Error> {
    if token.chars().count() > MAX_TOKEN_CHARS {
        return Err(Ec2Error::invalid_parameter(format!(
            "ClientToken is at most {MAX_TOKEN_CHARS} characters"
        )));
    }
    let key = IdempotencyKey::parse(&format!("ec2-run:{token}"))
        .map_err(|e| Ec2Error::invalid_parameter(format!("ClientToken {e}")))?;
    let fingerprint = Fingerprint::of(
        "RunInstances",
        &call.region,
        &call.params.canonical(&["ClientToken", "Version"]),
    );
    match call
        .state
        .idempotency
        .begin(&call.caller, key, fingerprint)
        .await?
    {
        Begun::Replay(stored) => replay(call, &stored).await,
        Begun::Run(ticket) => match launch.run(call).await {
            Ok(views) => {
                let ids: Vec<String> = views.iter().map(|v| v.server.id.to_string()).collect();
                let stored = StoredResponse {
                    status: 200,
                    headers: BTreeMap::new(),
                    body: ids.join(","),
                };
                ticket.complete(&stored).await?;
                Ok(views)
            }
            Err(e) => {
                ticket.release().await?;
                Err(e)
            }
        },
    }
}

/// The instances a token's first launch made, as they are now.
async fn replay(call: &Call<'_>, stored: &StoredResponse) -> Result<Vec<ServerView>, Ec2Error> {
    let mut views = Vec::new();
    for text in stored.body.split(',') {
        let id = text
            .parse()
            .map_err(|_| Ec2Error::internal(format!("a stored launch names '{text}'")))?;
        match call.state.servers.get(&call.caller, id).await {
            Ok(view) => views.push(view),
            Err(GetError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(views)
}

/// A checked RunInstances.
struct Launch {
    min: u32,
    max: u32,
    request: ProvisionRequest,
}

impl Launch {
    fn of(call: &Call<'_>) -> Result<Launch, Ec2Error> {
        let params = &call.params;
        let max = params
            .number("MaxCount", 1..=MAX_COUNT)?
            .ok_or_else(|| Ec2Error::missing("MaxCount"))?;
        let min = params
            .number("MinCount", 1..=MAX_COUNT)?
            .ok_or_else(|| Ec2Error::missing("MinCount"))?;
        if min > max {
            return Err(Ec2Error::invalid_parameter(format!(
                "MinCount ({min}) must be at most MaxCount ({max})"
            )));
        }
        let image = params.required("ImageId")?;
        if !image.starts_with("ami-") {
            return Err(Ec2Error::client(
                "InvalidAMIID.Malformed",
                format!("Invalid id: \"{image}\" (expecting \"ami-...\")"),
            ));
        }
        if mapping::image(image).is_none() {
            return Err(Ec2Error::client(
                "InvalidAMIID.NotFound",
                format!("The image id '[{image}]' does not exist; DescribeImages lists fleet's"),
            ));
        }
        let catalog = call.state.servers.catalog();
        let server_type = params.get("InstanceType").unwrap_or("t2.micro");
        if catalog.server_type(server_type).is_none() {
            let known: Vec<&str> = catalog
                .server_types()
                .iter()
                .map(|t| t.name.as_str())
                .collect();
            return Err(Ec2Error::invalid_parameter(format!(
                "The instance type '{server_type}' is not offered; fleet's: {}",
                known.join(", ")
            )));
        }
        if let Some(zone) = params.get("Placement.AvailabilityZone") {
            let in_region = zone
                .strip_prefix(call.region.as_str())
                .is_some_and(|letter| {
                    mapping::ZONE_LETTERS
                        .iter()
                        .any(|l| letter == l.to_string())
                });
            if !in_region {
                return Err(Ec2Error::invalid_parameter(format!(
                    "The availability zone '{zone}' is not in {}",
                    call.region
                )));
            }
        }
        let mut labels = BTreeMap::from([(IMAGE_LABEL.to_owned(), image.to_owned())]);
        let mut name = None;
        for (kind, tags) in params.tag_specifications()? {
            if kind != "instance" {
                continue;
            }
            for tag in tags {
                if tag.key.starts_with(SERVICE_PREFIX) {
                    return Err(Ec2Error::invalid_parameter(format!(
                        "Tag keys starting with '{SERVICE_PREFIX}' are fleet's own"
                    )));
                }
                let value = tag.value.unwrap_or_default();
                if tag.key == "Name" {
                    name = validate_name(value.clone()).ok();
                }
                labels.insert(tag.key, value);
            }
        }
        Ok(Launch {
            min,
            max,
            request: ProvisionRequest {
                region: call.region.clone(),
                server_type: server_type.to_owned(),
                name,
                labels,
            },
        })
    }

    /// Provisions up to `max` servers; when fewer than `min` could be, terminates those
    /// and answers the error that stopped it.
    async fn run(&self, call: &Call<'_>) -> Result<Vec<ServerView>, Ec2Error> {
        let context = call.context();
        let mut views = Vec::with_capacity(self.max as usize);
        for _ in 0..self.max {
            match call
                .state
                .servers
                .provision(&call.caller, self.request.clone(), &context)
                .await
            {
                Ok(view) => views.push(view),
                Err(_) if views.len() >= self.min as usize => break,
                Err(e) => {
                    // Every one is tried; the launch's own error is the answer either way.
                    for view in &views {
                        let _ = call
                            .state
                            .servers
                            .act(
                                &call.caller,
                                view.server.id,
                                Action::Terminate,
                                None,
                                &context,
                            )
                            .await;
                    }
                    return Err(labels_error(e));
                }
            }
        }
        Ok(views)
    }
}

fn labels_error(error: fleet_domain::error::ProvisionError) -> Ec2Error {
    match error {
        fleet_domain::error::ProvisionError::InvalidLabels(e) => Ec2Error::invalid_parameter(
            format!("fleet keeps tags as labels (Kubernetes rules), and this tag is not one: {e}"),
        ),
        other => other.into(),
    }
}
