//! DescribeInstances: by id, or a page of the region's instances that the filters match.

use fleet_domain::service::ServerView;

use super::scan::{Found, Narrowing, scan};
use super::{Call, answer};
use crate::errors::Ec2Error;
use crate::filters::{INSTANCE_FILTERS, InstanceFilters};
use crate::mapping;
use crate::xml::{DescribeInstancesResponse, Head, Items, Reservation};

/// The page size without `MaxResults`: EC2 returns every instance then; fleet returns
/// this many and a `NextToken`, so one request never holds a whole large fleet.
pub const DEFAULT_PAGE: u32 = 1_000;
/// EC2's bounds of `MaxResults`.
pub const MAX_RESULTS: std::ops::RangeInclusive<u32> = 5..=1_000;

pub(super) async fn describe_instances(call: &Call<'_>) -> Result<String, Ec2Error> {
    let filters = InstanceFilters::new(call.params.filters()?, &INSTANCE_FILTERS)?;
    let Found { views, next_token } =
        selected(call, filters.narrowing(), |view| filters.matches(view)).await?;
    answer(
        "DescribeInstances",
        &DescribeInstancesResponse {
            head: Head::of(&call.request_id),
            reservation_set: views
                .iter()
                .map(|view| reservation(call, view))
                .collect::<Vec<_>>()
                .into(),
            next_token,
        },
    )
}

/// The instances a Describe action reads: those of `InstanceId.N` that `keep` keeps (all
/// at once), or a page of the region's (`MaxResults`, `NextToken`); not both, as EC2 says.
pub(super) async fn selected(
    call: &Call<'_>,
    narrowing: Narrowing,
    keep: impl Fn(&ServerView) -> bool,
) -> Result<Found, Ec2Error> {
    let max = call.params.number("MaxResults", MAX_RESULTS)?;
    if call.params.list("InstanceId")?.is_empty() {
        let max = max.unwrap_or(DEFAULT_PAGE) as usize;
        return scan(call, narrowing, call.params.get("NextToken"), max, keep).await;
    }
    if max.is_some() {
        return Err(Ec2Error::client(
            "InvalidParameterCombination",
            "The parameter instancesSet cannot be used with the parameter maxResults",
        ));
    }
    let views = call.named_instances("InstanceId").await?;
    Ok(Found {
        views: views.into_iter().filter(|v| keep(v)).collect(),
        next_token: None,
    })
}

/// One instance as the reservation it is shown in.
fn reservation(call: &Call<'_>, view: &ServerView) -> Reservation {
    Reservation {
        reservation_id: mapping::reservation_id(view.server.id),
        owner_id: mapping::OWNER_ID.to_owned(),
        group_set: Items::default(),
        instances_set: vec![mapping::instance(view, call.state.servers.catalog())].into(),
    }
}
