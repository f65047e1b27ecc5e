//! How many servers the caller has, by state and by region (`GET /servers/counts`): what a
//! dashboard shows without listing every server.

use crate::catalog::RegionSpec;
use crate::error::ListError;
use crate::faults::{FaultTarget, Operation};
use crate::selector::Selector;
use crate::server::{ServerFilter, ServerTally};
use crate::service::servers::{ServerService, reader};
use crate::state::ServerState;
use crate::tenancy::Caller;

/// The servers `GET /servers` lists (without a state filter) for the caller, counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCounts {
    /// All of them.
    pub total: u64,
    /// By state, every state in lifecycle order, zeros included.
    pub by_state: Vec<(ServerState, u64)>,
    /// By region, every region of the catalog in its order, zeros included.
    pub by_region: Vec<(String, u64)>,
    /// By state and region, the pairs that have any, in the order of `by_state`, then of
    /// `by_region`.
    pub by_state_and_region: Vec<ServerTally>,
}

impl ServerService {
    /// The caller's servers that match `label_selector`, counted by state and by region in
    /// one pass of the store. Terminated servers count for as long as lists show them.
    pub async fn counts(
        &self,
        caller: &Caller,
        label_selector: Option<&str>,
    ) -> Result<ServerCounts, ListError> {
        let selector = Selector::parse_filter(label_selector)?;
        self.admit(
            Operation::List,
            FaultTarget::Project(caller.project),
            &reader(caller),
        )
        .await?;
        let filter = ServerFilter {
            project: caller.scope(),
            selector,
            terminated: self.listed_terminated(None, self.clock.now()),
            ..ServerFilter::default()
        };
        let mut tallies = self.store.tally(&filter).await?;
        Ok(counted(&mut tallies, self.catalog().regions()))
    }
}

/// The counts of `tallies`, with every state and every region of `regions` (and any region
/// a server is in that the catalog no longer has, after them).
fn counted(tallies: &mut [ServerTally], regions: &[RegionSpec]) -> ServerCounts {
    let mut region_order: Vec<String> = regions.iter().map(|r| r.name.clone()).collect();
    for tally in tallies.iter() {
        if !region_order.contains(&tally.region) {
            region_order.push(tally.region.clone());
        }
    }
    let place = |region: &str| region_order.iter().position(|r| r == region);
    tallies.sort_by_key(|t| {
        (
            ServerState::ALL.iter().position(|s| *s == t.state),
            place(&t.region),
        )
    });
    let by_state = ServerState::ALL
        .into_iter()
        .map(|state| {
            let n = tallies
                .iter()
                .filter(|t| t.state == state)
                .map(|t| t.count)
                .sum();
            (state, n)
        })
        .collect();
    let by_region = region_order
        .iter()
        .map(|region| {
            let n = tallies
                .iter()
                .filter(|t| &t.region == region)
                .map(|t| t.count)
                .sum();
            (region.clone(), n)
        })
        .collect();
    ServerCounts {
        total: tallies.iter().map(|t| t.count).sum(),
        by_state,
        by_region,
        by_state_and_region: tallies.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(state: ServerState, region: &str, count: u64) -> ServerTally {
        ServerTally {
            state,
            region: region.to_owned(),
            count,
        }
    }

    fn region(name: &str) -> RegionSpec {
        RegionSpec {
            name: name.to_owned(),
            cidr: "10.0.0.0/24".parse().expect("a network"),
        }
    }

    #[test]
    fn counts_name_every_state_and_region_and_order_the_pairs() {
        let mut tallies = vec![
            tally(ServerState::Stopped, "eu", 2),
            tally(ServerState::Running, "us", 3),
            tally(ServerState::Running, "eu", 1),
            tally(ServerState::Running, "gone", 4),
        ];
        let counts = counted(&mut tallies, &[region("us"), region("eu"), region("ap")]);
        assert_eq!(counts.total, 10);
        assert_eq!(counts.by_state.len(), ServerState::ALL.len());
        assert!(counts.by_state.contains(&(ServerState::Running, 8)));
        assert!(counts.by_state.contains(&(ServerState::Failed, 0)));
        assert_eq!(
            counts.by_region,
            [("us", 3), ("eu", 3), ("ap", 0), ("gone", 4)].map(|(r, n)| (r.to_owned(), n))
        );
        assert_eq!(
            counts.by_state_and_region,
            [
                tally(ServerState::Running, "us", 3),
                tally(ServerState::Running, "eu", 1),
                tally(ServerState::Running, "gone", 4),
                tally(ServerState::Stopped, "eu", 2),
            ]
        );
    }
}
