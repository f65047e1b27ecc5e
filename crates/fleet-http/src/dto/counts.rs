//! `GET /servers/counts`: how many servers, by state and by region.

use fleet_domain::service::ServerCounts as Counts;
use paperclip::actix::Apiv2Schema;
use serde::{Deserialize, Serialize};

use super::ServerState;

/// How many servers the caller sees, by state and by region: the servers `GET /servers`
/// lists without a state filter (a server terminated more than the listing period ago is
/// not counted).
#[derive(Debug, Serialize, Apiv2Schema)]
pub struct ServerCounts {
    /// Every server counted.
    pub total: u64,
    /// By state: every state, in lifecycle order, zeros included.
    pub by_state: Vec<StateCount>,
    /// By region: every region of the catalog, in its order, zeros included.
    pub by_region: Vec<RegionCount>,
    /// By state and region: the pairs that have servers, in the order of `by_state`, then
    /// of `by_region`.
    pub by_state_and_region: Vec<StateRegionCount>,
}

/// The servers in one state in one region.
#[derive(Debug, Serialize, Apiv2Schema)]
pub struct StateRegionCount {
    /// The state.
    pub state: ServerState,
    /// The region's name.
    pub region: String,
    /// How many servers are in both.
    pub count: u64,
}

/// The servers in one state.
#[derive(Debug, Serialize, Apiv2Schema)]
pub struct StateCount {
    /// The state.
    pub state: ServerState,
    /// How many servers are in it.
    pub count: u64,
}

/// The servers in one region.
#[derive(Debug, Serialize, Apiv2Schema)]
pub struct RegionCount {
    /// The region's name.
    pub region: String,
    /// How many servers are in it.
    pub count: u64,
}

impl From<Counts> for ServerCounts {
    fn from(counts: Counts) -> Self {
        Self {
            total: counts.total,
            by_state: counts
                .by_state
                .into_iter()
                .map(|(state, count)| StateCount {
                    state: state.into(),
                    count,
                })
                .collect(),
            by_region: counts
                .by_region
                .into_iter()
                .map(|(region, count)| RegionCount { region, count })
                .collect(),
            by_state_and_region: counts
                .by_state_and_region
                .into_iter()
                .map(|tally| StateRegionCount {
                    state: tally.state.into(),
                    region: tally.region,
                    count: tally.count,
                })
                .collect(),
        }
    }
}

/// What `GET /servers/counts` counts.
#[derive(Debug, Clone, Default, Deserialize, Apiv2Schema)]
pub struct CountsQuery {
    /// Only servers whose labels match this selector.
    pub label_selector: Option<String>,
}
