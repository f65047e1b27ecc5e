//! Address allocation, release, reuse and exhaustion.

use std::collections::HashSet;
use std::sync::Arc;

use fleet_domain::Action;
use fleet_domain::ports::ProvisionStoreError;

use crate::TestedStore;
use crate::fixtures::{
    act, all_servers, at, complete, get, new_server, pool, pools, provision, stopped,
};

/// Every server gets its own address, from its region's pool.
pub async fn addresses_are_distinct_and_inside_the_pool(store: Arc<dyn TestedStore>) {
    pools(
        &store,
        &[("lab-a", "10.10.0.0/28"), ("lab-b", "10.20.0.0/28")],
    )
    .await;
    let mut seen = HashSet::new();
    for i in 0..14 {
        for (region, cidr) in [("lab-a", "10.10.0.0/28"), ("lab-b", "10.20.0.0/28")] {
            let server = provision(&store, region, at(i)).await;
            let ip = server.ip.expect("an address");
            assert!(pool(cidr).offset_of(ip).is_some(), "{ip} outside {cidr}");
            assert!(seen.insert(ip), "{ip} handed out twice");
        }
    }
    assert_eq!(seen.len(), 28);
}

/// Stopping and starting a server keeps its address and keeps it allocated.
pub async fn a_stopped_server_keeps_its_address(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let server = stopped(&store, "lab-a", at(0)).await;
    let ip = server.ip.expect("a stopped server has its address");
    assert_eq!(get(&store, server.id).await.ip, Some(ip));
    let usage = store.pool_usage().await.expect("pool_usage");
    assert_eq!((usage[0].allocated, usage[0].free), (1, 253));
    let starting = act(&store, &server, Action::Start, at(100)).await;
    let running = complete(&store, &starting).await;
    assert_eq!(running.ip, Some(ip));
    let other = provision(&store, "lab-a", at(200)).await;
    assert_ne!(other.ip, Some(ip));
}

/// A terminated server gives its address back, and a later server gets it.
pub async fn a_terminated_server_releases_its_address_for_reuse(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/30")]).await;
    let first = provision(&store, "lab-a", at(0)).await;
    let second = provision(&store, "lab-a", at(1)).await;
    assert!(matches!(
        store
            .provision(new_server("lab-a", "t2.micro", at(2)))
            .await,
        Err(ProvisionStoreError::PoolExhausted(_))
    ));
    let terminating = act(&store, &first, Action::Terminate, at(3)).await;
    assert_eq!(
        terminating.ip, first.ip,
        "terminating still holds its address"
    );
    let terminated = complete(&store, &terminating).await;
    assert_eq!(terminated.ip, None);
    assert_eq!(get(&store, first.id).await.ip, None);
    let usage = store.pool_usage().await.expect("pool_usage");
    assert_eq!((usage[0].allocated, usage[0].free), (1, 1));
    let third = provision(&store, "lab-a", at(20)).await;
    assert_eq!(
        third.ip, first.ip,
        "the released address is handed out again"
    );
    assert_ne!(third.ip, second.ip);
}

/// A full pool is `PoolExhausted` naming the region, and leaves no server, event or address.
pub async fn pool_exhaustion_is_clean_and_leaves_nothing_behind(store: Arc<dyn TestedStore>) {
    pools(
        &store,
        &[("lab-a", "10.10.0.9/32"), ("lab-b", "10.20.0.0/24")],
    )
    .await;
    let only = provision(&store, "lab-a", at(0)).await;
    assert_eq!(only.ip, Some("10.10.0.9".parse().expect("an address")));
    for i in 1..4 {
        let new = new_server("lab-a", "t2.micro", at(i));
        match store.provision(new.clone()).await {
            Err(ProvisionStoreError::PoolExhausted(region)) => assert_eq!(region, "lab-a"),
            other => panic!("expected PoolExhausted, got {other:?}"),
        }
        assert_eq!(store.get(new.server.id).await.expect("get"), None);
        assert!(
            store
                .events(new.server.id, 100)
                .await
                .expect("events")
                .is_empty()
        );
    }
    assert_eq!(all_servers(&store).await, vec![only]);
    let mut usage = store.pool_usage().await.expect("pool_usage");
    usage.sort_by(|a, b| a.region.cmp(&b.region));
    assert_eq!((usage[0].allocated, usage[0].free), (1, 0));
    assert_eq!((usage[1].allocated, usage[1].free), (0, 254));
    provision(&store, "lab-b", at(10)).await;
}

/// A /8 pool (16,777,214 addresses) works and reports its size without filling a table.
pub async fn a_slash_8_pool_works(store: Arc<dyn TestedStore>) {
    pools(&store, &[("big", "10.0.0.0/8")]).await;
    let a = provision(&store, "big", at(0)).await;
    let b = provision(&store, "big", at(1)).await;
    assert_ne!(a.ip, b.ip);
    let usage = store.pool_usage().await.expect("pool_usage");
    assert_eq!((usage[0].allocated, usage[0].free), (2, 16_777_212));
}
