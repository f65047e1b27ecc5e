//! Provisioning and reading single servers.

use std::sync::Arc;

use chrono::TimeDelta;
use fleet_domain::ports::ProvisionStoreError;
use fleet_domain::{InstanceId, ProjectId, ServerId};

use crate::TestedStore;
use crate::fixtures::{at, get, new_server, new_server_with_id, pool, pools};

/// A provisioned server is stored as given plus an address from its pool, with its event.
pub async fn provision_stores_the_server_its_address_and_its_event(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let new = new_server("lab-a", "t2.small", at(0));
    let created = store.provision(new.clone()).await.expect("provision");
    let ip = created.ip.expect("a provisioned server has an address");
    assert!(
        pool("10.10.0.0/24").offset_of(ip).is_some(),
        "{ip} is not in the pool"
    );
    let mut expected = new.server.clone();
    expected.ip = Some(ip);
    assert_eq!(created, expected, "provision returns the server as stored");
    assert_eq!(get(&store, new.server.id).await, expected);
    let events = store.events(new.server.id, 100).await.expect("events");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event, new.event);
}

/// A range of ids finds the stored server with the lowest id in it (how the server of an
/// EC2 instance id is found), and nothing when none is in it.
pub async fn first_in_id_range_finds_the_lowest_id_in_it(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let ids = [
        "0f1ee7c0-ffee-4abc-9000-000000000000",
        "0f1ee7c0-ffee-4abc-8fff-ffffffffffff",
        "0f1ee7c0-ffee-4abc-8000-000000000001",
    ]
    .map(|id| id.parse::<ServerId>().expect("a uuid"));
    for id in ids {
        let new = new_server_with_id(id, ProjectId::DEFAULT, "lab-a", "t2.micro", at(0));
        store.provision(new).await.expect("provision");
    }
    let found = |text: &str| {
        let range = InstanceId::parse(text)
            .expect("an instance id")
            .server_ids();
        let store = store.clone();
        async move {
            store
                .first_in_id_range(range)
                .await
                .expect("read")
                .map(|s| s.id)
        }
    };
    assert_eq!(
        found("i-0f1ee7c0ffee4abc8").await,
        Some(ids[2]),
        "the lowest of two"
    );
    assert_eq!(found("i-0f1ee7c0ffee4abc9").await, Some(ids[0]));
    assert_eq!(found("i-0f1ee7c0ffee4abc7").await, None);
    assert_eq!(found("i-0f1ee7c0ffee4abca").await, None);
}

/// A region the store has no pool for is `NoPool`, and nothing is stored.
pub async fn provision_without_a_pool_is_no_pool(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let new = new_server("nowhere", "t2.micro", at(0));
    match store.provision(new.clone()).await {
        Err(ProvisionStoreError::NoPool(region)) => assert_eq!(region, "nowhere"),
        other => panic!("expected NoPool, got {other:?}"),
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

/// A server of a project that does not exist (deleted after a key of it was checked) is
/// refused as such, and takes no address.
pub async fn provision_into_a_missing_project_is_no_project(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let mut new = new_server("lab-a", "t2.micro", at(0));
    let gone = ProjectId::random();
    new.server.project = gone;
    match store.provision(new.clone()).await {
        Err(ProvisionStoreError::NoProject(project)) => assert_eq!(project, gone),
        other => panic!("expected NoProject, got {other:?}"),
    }
    assert_eq!(store.get(new.server.id).await.expect("get"), None);
    let usage = store.pool_usage().await.expect("pool_usage");
    assert_eq!(usage[0].allocated, 0, "no address was taken: {usage:?}");
}

/// Times are kept to the microsecond, as cursors carry them.
pub async fn timestamps_keep_their_microseconds(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let when = at(0) + TimeDelta::microseconds(123_457);
    let new = new_server("lab-a", "t2.micro", when);
    store.provision(new.clone()).await.expect("provision");
    let stored = get(&store, new.server.id).await;
    assert_eq!(stored.created_at, when);
    assert_eq!(stored.transition_due_at, new.server.transition_due_at);
    let events = store.events(new.server.id, 1).await.expect("events");
    assert_eq!(events[0].event.at, when);
}

/// Reading an id no server has is `None`, not an error.
pub async fn get_of_an_unknown_id_is_none(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    assert_eq!(store.get(ServerId::random()).await.expect("get"), None);
}
