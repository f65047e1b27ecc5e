//! Guarantees that hold under concurrency for any store.

use std::collections::HashSet;
use std::sync::Arc;

use fleet_domain::error::ActError;
use fleet_domain::ports::{Clock, ProvisionStoreError, Store};
use fleet_domain::service::{ManualClock, ServerService};
use fleet_domain::{Action, Caller, Catalog, RequestContext, Server};
use futures::future::join_all;

use crate::TestedStore;
use crate::fixtures::{all_servers, at, config, new_server, pools, region, running};

async fn provision_concurrently(
    store: &Arc<dyn TestedStore>,
    regions: &[&str],
    n: usize,
) -> Vec<Result<Server, ProvisionStoreError>> {
    let tasks = (0..n).map(|i| {
        let store = Arc::clone(store);
        let new = new_server(regions[i % regions.len()], "t2.micro", at(i as i64));
        tokio::spawn(async move { store.provision(new).await })
    });
    join_all(tasks)
        .await
        .into_iter()
        .map(|joined| joined.expect("the provisioning task finished"))
        .collect()
}

/// Many provisions at once all succeed, with distinct addresses.
pub async fn concurrent_provisions_get_distinct_addresses(store: Arc<dyn TestedStore>) {
    pools(
        &store,
        &[("lab-a", "10.10.0.0/26"), ("lab-b", "10.20.0.0/26")],
    )
    .await;
    let results = provision_concurrently(&store, &["lab-a", "lab-b"], 60).await;
    let mut addresses = HashSet::new();
    for result in results {
        let server = result.expect("every provision succeeds");
        assert!(addresses.insert(server.ip.expect("an address")));
    }
    assert_eq!(addresses.len(), 60);
    let usage = store.pool_usage().await.expect("pool_usage");
    assert!(usage.iter().all(|u| u.allocated == 30), "{usage:?}");
}

/// More concurrent provisions than addresses: exactly as many succeed as the pool holds,
/// the rest are `PoolExhausted`, and no server is left without an address.
pub async fn concurrent_provisions_exhaust_a_pool_cleanly(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/28")]).await;
    let results = provision_concurrently(&store, &["lab-a"], 30).await;
    let mut addresses = HashSet::new();
    let mut exhausted = 0;
    for result in results {
        match result {
            Ok(server) => assert!(addresses.insert(server.ip.expect("an address"))),
            Err(ProvisionStoreError::PoolExhausted(_)) => exhausted += 1,
            Err(other) => panic!("expected success or PoolExhausted, got {other:?}"),
        }
    }
    assert_eq!((addresses.len(), exhausted), (14, 16));
    let stored = all_servers(&store).await;
    assert_eq!(stored.len(), 14);
    assert!(stored.iter().all(|s| s.ip.is_some()));
    let usage = store.pool_usage().await.expect("pool_usage");
    assert_eq!((usage[0].allocated, usage[0].free), (14, 0));
}

/// Two conflicting actions (stop and reboot) at once through the service: exactly one wins
/// and the other is a conflict, for every server.
pub async fn concurrent_conflicting_actions_exactly_one_wins(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let catalog = Catalog::new(
        vec![region("lab-a", "10.10.0.0/24")],
        Catalog::default().server_types().to_vec(),
    )
    .expect("a valid catalog");
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(at(100)));
    let service = Arc::new(ServerService::new(
        Arc::clone(&store) as Arc<dyn Store>,
        clock,
        Arc::new(catalog),
        config(),
    ));
    let mut servers = Vec::new();
    for i in 0..8 {
        servers.push(running(&store, "lab-a", at(i)).await);
    }
    let races = servers.iter().map(|server| {
        let contenders = [Action::Stop, Action::Reboot].map(|action| {
            let service = Arc::clone(&service);
            let id = server.id;
            tokio::spawn(async move {
                service
                    .act(
                        &Caller::open(),
                        id,
                        action,
                        None,
                        &RequestContext::api("req-race"),
                    )
                    .await
            })
        });
        join_all(contenders)
    });
    for outcomes in join_all(races).await {
        let mut wins = 0;
        let mut conflicts = 0;
        for outcome in outcomes {
            match outcome.expect("the action task finished") {
                Ok(done) if done.changed => wins += 1,
                Err(ActError::Conflict(_)) => conflicts += 1,
                other => panic!("expected a win or a conflict, got {other:?}"),
            }
        }
        assert_eq!((wins, conflicts), (1, 1));
    }
    for server in &servers {
        let events = store.events(server.id, 100).await.expect("events");
        let requested = events
            .iter()
            .filter(|e| e.event.kind == fleet_domain::EventKind::ActionRequested)
            .count();
        assert_eq!(requested, 1, "only the winner's event is stored");
    }
}
