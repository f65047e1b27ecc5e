//! Start, Stop, Reboot and TerminateInstances: the domain's actions on each named instance,
//! answered with each one's state before and after.

use fleet_domain::{Action, InstanceId};

use super::{Call, answer};
use crate::errors::Ec2Error;
use crate::mapping;
use crate::xml::{Head, ReturnResponse, StateChange, StateChangesResponse};

pub(super) async fn start(call: &Call<'_>) -> Result<String, Ec2Error> {
    changes(call, "StartInstances", Action::Start).await
}

pub(super) async fn stop(call: &Call<'_>) -> Result<String, Ec2Error> {
    changes(call, "StopInstances", Action::Stop).await
}

pub(super) async fn terminate(call: &Call<'_>) -> Result<String, Ec2Error> {
    changes(call, "TerminateInstances", Action::Terminate).await
}

pub(super) async fn reboot(call: &Call<'_>) -> Result<String, Ec2Error> {
    act(call, Action::Reboot).await?;
    answer(
        "RebootInstances",
        &ReturnResponse {
            head: Head::of(&call.request_id),
            ok: true,
        },
    )
}

async fn changes(call: &Call<'_>, name: &str, action: Action) -> Result<String, Ec2Error> {
    let changes = act(call, action).await?;
    answer(
        name,
        &StateChangesResponse {
            head: Head::of(&call.request_id),
            instances_set: changes.into(),
        },
    )
}

/// Acts on every named instance, in the order named; all are found before any is acted on.
async fn act(call: &Call<'_>, action: Action) -> Result<Vec<StateChange>, Ec2Error> {
    let views = call.named_instances("InstanceId").await?;
    if views.is_empty() {
        return Err(Ec2Error::missing("InstanceId"));
    }
    let context = call.context();
    let mut changes = Vec::with_capacity(views.len());
    for view in views {
        let previous = mapping::instance_state(view.server.state);
        let outcome = call
            .state
            .servers
            .act(&call.caller, view.server.id, action, None, &context)
            .await?;
        changes.push(StateChange {
            instance_id: InstanceId::of(view.server.id).to_string(),
            current_state: mapping::instance_state(outcome.view.server.state),
            previous_state: previous,
        });
    }
    Ok(changes)
}
