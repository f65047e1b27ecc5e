//! EC2's actions over the domain's use cases, one module per family; [`dispatch`] picks one
//! by the request's `Action`.

mod catalog;
mod describe;
mod lifecycle;
mod run;
pub mod scan;
mod status;
mod tags;

use fleet_domain::event::RequestContext;
use fleet_domain::service::ServerView;
use fleet_domain::{Caller, InstanceId, Role, TraceContext};

use crate::errors::Ec2Error;
use crate::params::Params;
use crate::state::Ec2State;

/// The actions this endpoint answers.
pub const ACTIONS: [&str; 14] = [
    "RunInstances",
    "DescribeInstances",
    "StartInstances",
    "StopInstances",
    "RebootInstances",
    "TerminateInstances",
    "DescribeInstanceStatus",
    "CreateTags",
    "DeleteTags",
    "DescribeTags",
    "DescribeRegions",
    "DescribeAvailabilityZones",
    "DescribeInstanceTypes",
    "DescribeImages",
];

/// One authenticated request.
pub struct Call<'a> {
    /// The use cases.
    pub state: &'a Ec2State,
    /// Who is calling.
    pub caller: Caller,
    /// The region it addresses.
    pub region: String,
    /// Its request id.
    pub request_id: String,
    /// Its span in a distributed trace, if it has one.
    pub trace: Option<TraceContext>,
    /// The `Host` it was sent to, for the endpoints DescribeRegions names.
    pub host: String,
    /// Its parameters.
    pub params: Params,
}

impl Call<'_> {
    /// The context of the events it causes.
    fn context(&self) -> RequestContext {
        RequestContext::api(self.request_id.clone())
            .by_key(self.caller.key)
            .in_trace(self.trace)
    }

    /// The instances named by `InstanceId.N` (or another list), each read once: a malformed
    /// id is `InvalidInstanceID.Malformed`, and ids of no instance in this region, all
    /// named, `InvalidInstanceID.NotFound`.
    async fn named_instances(&self, list: &str) -> Result<Vec<ServerView>, Ec2Error> {
        let texts = self.params.list(list)?;
        let ids = texts
            .iter()
            .map(|text| InstanceId::parse(text).map_err(|_| Ec2Error::malformed_id(text)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut views = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in &ids {
            match self.state.servers.get_instance(&self.caller, id).await? {
                Some(view) if view.server.region == self.region => {
                    if !views
                        .iter()
                        .any(|v: &ServerView| v.server.id == view.server.id)
                    {
                        views.push(view);
                    }
                }
                _ => missing.push(id.to_string()),
            }
        }
        if !missing.is_empty() {
            return Err(Ec2Error::not_found(&missing));
        }
        Ok(views)
    }
}

/// Runs the request's action and returns its XML document.
pub async fn dispatch(action: &str, call: &Call<'_>) -> Result<String, Ec2Error> {
    if call.params.flag("DryRun")? {
        if !ACTIONS.contains(&action) {
            return Err(unknown(action));
        }
        if !action.starts_with("Describe") {
            call.caller.require(Role::Member)?;
        }
        return Err(Ec2Error {
            status: actix_web::http::StatusCode::PRECONDITION_FAILED,
            ..Ec2Error::client(
                "DryRunOperation",
                "Request would have succeeded, but DryRun flag is set",
            )
        });
    }
    match action {
        "RunInstances" => run::run_instances(call).await,
        "DescribeInstances" => describe::describe_instances(call).await,
        "StartInstances" => lifecycle::start(call).await,
        "StopInstances" => lifecycle::stop(call).await,
        "RebootInstances" => lifecycle::reboot(call).await,
        "TerminateInstances" => lifecycle::terminate(call).await,
        "DescribeInstanceStatus" => status::describe_instance_status(call).await,
        "CreateTags" => tags::create_tags(call).await,
        "DeleteTags" => tags::delete_tags(call).await,
        "DescribeTags" => tags::describe_tags(call).await,
        "DescribeRegions" => catalog::describe_regions(call),
        "DescribeAvailabilityZones" => catalog::describe_zones(call),
        "DescribeInstanceTypes" => catalog::describe_instance_types(call),
        "DescribeImages" => catalog::describe_images(call),
        other => Err(unknown(other)),
    }
}

fn unknown(action: &str) -> Ec2Error {
    Ec2Error::client(
        "InvalidAction",
        format!(
            "The action {action} is not valid for this web service; fleet answers {}",
            ACTIONS.join(", ")
        ),
    )
}

/// `body` as the document of `action`'s answer.
fn answer(action: &str, body: &impl serde::Serialize) -> Result<String, Ec2Error> {
    crate::xml::document(&format!("{action}Response"), body).map_err(Ec2Error::internal)
}
