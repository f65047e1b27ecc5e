//! Listing with filters, keyset cursors and offsets.

use std::collections::BTreeMap;
use std::sync::Arc;

use fleet_domain::{
    Action, ProjectId, Selector, Server, ServerFilter, ServerState, TerminatedServers,
};

use crate::TestedStore;
use crate::fixtures::{
    act, all_servers, at, complete, ids, in_list_order, list, new_server, new_server_in, pools,
    provision, running,
};
use crate::tenancy::project;

/// Provisions `n` servers in `lab-a` one second apart from `start` seconds.
async fn several(store: &Arc<dyn TestedStore>, n: i64, start: i64) -> Vec<Server> {
    let mut servers = Vec::new();
    for i in 0..n {
        servers.push(provision(store, "lab-a", at(start + i)).await);
    }
    servers
}

/// Servers in two regions, of two types, in three states, and filters of each kind and
/// their combinations over them.
async fn filtered_fleet(store: &Arc<dyn TestedStore>) -> (Vec<Server>, Vec<ServerFilter>) {
    pools(
        store,
        &[("lab-a", "10.10.0.0/24"), ("lab-b", "10.20.0.0/24")],
    )
    .await;
    let mut created = Vec::new();
    for (i, (region, server_type)) in [
        ("lab-a", "t2.micro"),
        ("lab-b", "t2.micro"),
        ("lab-a", "t2.small"),
        ("lab-b", "t2.small"),
        ("lab-a", "t2.micro"),
    ]
    .into_iter()
    .enumerate()
    {
        let new = new_server(region, server_type, at(i as i64));
        created.push(store.provision(new).await.expect("provision"));
    }
    let first_running = complete(store, &created[0]).await;
    created[0] = act(store, &first_running, Action::Stop, at(30)).await;
    created[1] = complete(store, &created[1]).await;
    let created = in_list_order(created);

    let filters = vec![
        ServerFilter::default(),
        ServerFilter {
            region: Some("lab-a".to_owned()),
            ..Default::default()
        },
        ServerFilter {
            server_type: Some("t2.small".to_owned()),
            ..Default::default()
        },
        ServerFilter {
            state: Some(ServerState::Provisioning),
            ..Default::default()
        },
        ServerFilter {
            state: Some(ServerState::Stopping),
            ..Default::default()
        },
        ServerFilter {
            project: None,
            region: Some("lab-b".to_owned()),
            server_type: Some("t2.micro".to_owned()),
            state: Some(ServerState::Running),
            selector: None,
            terminated: TerminatedServers::All,
        },
        ServerFilter {
            project: Some(ProjectId::DEFAULT),
            region: Some("lab-a".to_owned()),
            server_type: Some("t2.micro".to_owned()),
            state: None,
            selector: None,
            terminated: TerminatedServers::All,
        },
        ServerFilter {
            project: None,
            region: Some("lab-b".to_owned()),
            state: Some(ServerState::Stopped),
            server_type: None,
            selector: None,
            terminated: TerminatedServers::All,
        },
        ServerFilter {
            region: Some("elsewhere".to_owned()),
            ..Default::default()
        },
    ];
    (created, filters)
}

/// The servers of `fleet` that `filter` lets through.
fn matching(fleet: &[Server], filter: &ServerFilter) -> Vec<Server> {
    fleet
        .iter()
        .filter(|s| filter.project.is_none_or(|p| p == s.project))
        .filter(|s| filter.region.as_ref().is_none_or(|r| *r == s.region))
        .filter(|s| {
            filter
                .server_type
                .as_ref()
                .is_none_or(|t| *t == s.server_type)
        })
        .filter(|s| filter.state.is_none_or(|st| st == s.state))
        .filter(|s| match filter.terminated {
            TerminatedServers::All => true,
            TerminatedServers::Since(instant) => s.terminated_at.is_none_or(|t| t >= instant),
            TerminatedServers::None => s.state != ServerState::Terminated,
        })
        .filter(|s| {
            filter
                .selector
                .as_ref()
                .is_none_or(|selector| selector.matches(&s.labels))
        })
        .cloned()
        .collect()
}

/// Every filter and their combinations return exactly the matching servers, in order.
pub async fn list_filters_by_region_type_and_state(store: Arc<dyn TestedStore>) {
    let (fleet, filters) = filtered_fleet(&store).await;
    for filter in filters {
        assert_eq!(
            list(&store, &filter, 100, None, 0).await,
            matching(&fleet, &filter),
            "filter {filter:?}"
        );
    }
}

/// A tally counts, under every filter (projects, selectors and terminated servers
/// included), the matching servers of each state and region that has any, and no other pair.
pub async fn tally_counts_each_state_and_region_under_every_filter(store: Arc<dyn TestedStore>) {
    let (mut fleet, mut filters) = filtered_fleet(&store).await;
    let other = project(&store, "tallied-elsewhere", at(0)).await;
    let theirs = new_server_in(other.id, "lab-b", "t2.micro", at(50));
    fleet.push(store.provision(theirs).await.expect("provision"));
    let doomed = complete(&store, &provision(&store, "lab-a", at(60)).await).await;
    let terminating = act(&store, &doomed, Action::Terminate, at(70)).await;
    fleet.push(complete(&store, &terminating).await);
    let terminated_at = fleet
        .last()
        .and_then(|s| s.terminated_at)
        .expect("terminated");
    let selector = |text: &str| Some(Selector::parse(text).expect("a selector"));
    filters.extend([
        ServerFilter {
            project: Some(other.id),
            ..Default::default()
        },
        ServerFilter {
            project: Some(ProjectId::DEFAULT),
            selector: selector("suite=conformance"),
            ..Default::default()
        },
        ServerFilter {
            selector: selector("suite notin (conformance)"),
            ..Default::default()
        },
        ServerFilter {
            terminated: TerminatedServers::None,
            ..Default::default()
        },
        ServerFilter {
            terminated: TerminatedServers::Since(terminated_at),
            ..Default::default()
        },
        ServerFilter {
            terminated: TerminatedServers::Since(terminated_at + chrono::TimeDelta::seconds(1)),
            ..Default::default()
        },
    ]);
    for filter in filters {
        let mut expected: BTreeMap<(&str, String), u64> = BTreeMap::new();
        for server in matching(&fleet, &filter) {
            *expected
                .entry((server.state.as_str(), server.region))
                .or_default() += 1;
        }
        let tallied: BTreeMap<(&str, String), u64> = store
            .tally(&filter)
            .await
            .expect("tally")
            .into_iter()
            .map(|t| ((t.state.as_str(), t.region), t.count))
            .collect();
        assert_eq!(tallied, expected, "filter {filter:?}");
    }
}

/// Following cursors visits every server once, in (created_at, id) order, ties included.
pub async fn list_pages_by_cursor_in_creation_order(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let mut created = several(&store, 7, 0).await;
    for _ in 0..4 {
        let same_instant = new_server("lab-a", "t2.micro", at(3));
        created.push(store.provision(same_instant).await.expect("provision"));
    }
    let expected = in_list_order(created);
    let mut seen = Vec::new();
    let mut after: Option<Server> = None;
    for _ in 0..10 {
        let page = list(&store, &ServerFilter::default(), 3, after.as_ref(), 0).await;
        assert!(page.len() <= 3, "a page holds at most its limit");
        let Some(last) = page.last().cloned() else {
            break;
        };
        seen.extend(page);
        after = Some(last);
    }
    assert_eq!(ids(&seen), ids(&expected));
}

/// Servers created while a client pages through do not make it skip or repeat any.
pub async fn list_cursor_is_stable_under_inserts(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let original = several(&store, 6, 0).await;
    let first = list(&store, &ServerFilter::default(), 3, None, 0).await;
    assert_eq!(ids(&first), ids(&original[..3]));
    let newer = several(&store, 2, 100).await;
    let second = list(&store, &ServerFilter::default(), 3, first.last(), 0).await;
    assert_eq!(ids(&second), ids(&original[3..]));
    let third = list(&store, &ServerFilter::default(), 3, second.last(), 0).await;
    assert_eq!(ids(&third), ids(&newer));
    let filtered = ServerFilter {
        state: Some(ServerState::Provisioning),
        ..Default::default()
    };
    let after_filter = list(&store, &filtered, 100, Some(&original[4]), 0).await;
    assert_eq!(after_filter.len(), 3, "a cursor combines with filters");
}

/// `offset` skips that many matching servers, alone or after a cursor.
pub async fn list_offset_skips_items(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let created = several(&store, 8, 0).await;
    let running = running(&store, "lab-a", at(50)).await;
    let all = all_servers(&store).await;
    assert_eq!(all.len(), 9);
    let none = ServerFilter::default();
    assert_eq!(
        ids(&list(&store, &none, 3, None, 2).await),
        ids(&created[2..5])
    );
    assert_eq!(
        ids(&list(&store, &none, 3, Some(&created[1]), 2).await),
        ids(&created[4..7])
    );
    assert!(list(&store, &none, 3, None, 9).await.is_empty());
    let provisioning = ServerFilter {
        state: Some(ServerState::Provisioning),
        ..Default::default()
    };
    assert_eq!(
        ids(&list(&store, &provisioning, 100, None, 7).await),
        ids(&created[7..])
    );
    assert!(all.contains(&running));
}
