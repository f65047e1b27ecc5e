//! DescribeInstanceStatus: running instances' checks (always passed: fleet's servers do not
//! fail checks), and with `IncludeAllInstances` every instance's state.

use fleet_domain::InstanceId;
use fleet_domain::ServerState;
use fleet_domain::service::ServerView;

use super::describe::selected;
use super::scan::Found;
use super::{Call, answer};
use crate::errors::Ec2Error;
use crate::filters::InstanceFilters;
use crate::mapping;
use crate::xml::{
    DescribeInstanceStatusResponse, Head, InstanceStatus, Items, StatusDetail, StatusSummary,
};

/// The filters DescribeInstanceStatus takes.
const STATUS_FILTERS: [&str; 4] = [
    "instance-state-name",
    "instance-state-code",
    "instance-id",
    "availability-zone",
];

pub(super) async fn describe_instance_status(call: &Call<'_>) -> Result<String, Ec2Error> {
    let filters = InstanceFilters::new(call.params.filters()?, &STATUS_FILTERS)?;
    let all = call.params.flag("IncludeAllInstances")?;
    let keep = |view: &ServerView| {
        (all || view.server.state == ServerState::Running) && filters.matches(view)
    };
    let Found { views, next_token } = selected(call, filters.narrowing(), keep).await?;
    answer(
        "DescribeInstanceStatus",
        &DescribeInstanceStatusResponse {
            head: Head::of(&call.request_id),
            instance_status_set: views.iter().map(status).collect::<Vec<_>>().into(),
            next_token,
        },
    )
}

fn status(view: &ServerView) -> InstanceStatus {
    let server = &view.server;
    let (summary, detail) = if server.state == ServerState::Running {
        ("ok", "passed")
    } else {
        ("not-applicable", "not-applicable")
    };
    let check = || StatusSummary {
        status: summary,
        details: vec![StatusDetail {
            name: "reachability",
            status: detail,
        }]
        .into(),
    };
    InstanceStatus {
        instance_id: InstanceId::of(server.id).to_string(),
        availability_zone: mapping::zone_of(server.id, &server.region),
        instance_state: mapping::instance_state(server.state),
        system_status: check(),
        instance_status: check(),
        events_set: Items::default(),
    }
}
