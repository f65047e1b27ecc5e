//! Guarded state changes.

use std::sync::Arc;

use fleet_domain::event::EventSubject;
use fleet_domain::ports::{Applied, DueWork};
use fleet_domain::{Action, Server, ServerId, ServerState, lifecycle};

use crate::TestedStore;
use crate::fixtures::{
    act, apply, at, config, get, ledger, plan, pools, processed, running, unnumbered,
};

/// A change updates every field of the server and appends its events and usage.
pub async fn apply_updates_the_server_and_appends_events_and_usage(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let server = running(&store, "lab-a", at(0)).await;
    let before_events = store.events(server.id, 100).await.expect("events").len();
    let change = plan(&server, Action::Stop, at(200), &config());
    assert!(!change.usage.is_empty(), "stopping closes the run");
    let applied = apply(&store, &change).await;
    assert_eq!(
        applied, change.server,
        "apply returns the server after the change"
    );
    assert_eq!(get(&store, server.id).await, change.server);
    let events = store.events(server.id, 100).await.expect("events");
    assert_eq!(events.len(), before_events + change.events.len());
    let newest: Vec<_> = events[..change.events.len()]
        .iter()
        .rev()
        .map(|e| e.event.clone())
        .collect();
    assert_eq!(newest, change.events);
    assert_eq!(ledger(&store, server.id).await, change.usage);
}

/// A change planned from an old generation is `Stale` and writes nothing at all.
pub async fn apply_with_a_stale_generation_changes_nothing(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let server = running(&store, "lab-a", at(0)).await;
    let stop = plan(&server, Action::Stop, at(100), &config());
    let terminate = plan(&server, Action::Terminate, at(100), &config());
    let stopped = apply(&store, &stop).await;
    let events = unnumbered(store.events(server.id, 100).await.expect("events"));
    let usage = ledger(&store, server.id).await;
    assert_eq!(
        store.apply(&terminate).await.expect("apply"),
        Applied::Stale,
        "the terminate was planned from the generation the stop replaced"
    );
    assert_eq!(get(&store, server.id).await, stopped);
    assert_eq!(
        unnumbered(store.events(server.id, 100).await.expect("events")),
        events
    );
    assert_eq!(ledger(&store, server.id).await, usage);
    let usage_now = store.pool_usage().await.expect("pool_usage");
    assert_eq!(
        usage_now[0].allocated, 1,
        "a stale change releases no address"
    );
    let again = act(&store, &stopped, Action::Terminate, at(110)).await;
    assert_eq!(again.generation, stopped.generation + 1);
}

/// A change to a server the store does not have is `Missing` (not `Stale`: no replanning
/// can make it apply), and creates nothing.
pub async fn apply_to_an_unknown_server_is_missing(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let server = running(&store, "lab-a", at(0)).await;
    let mut change = plan(&server, Action::Stop, at(100), &config());
    let ghost = ServerId::random();
    change.server.id = ghost;
    for event in &mut change.events {
        event.subject = EventSubject::Server(ghost);
    }
    for record in &mut change.usage {
        record.server_id = ghost;
    }
    assert_eq!(store.apply(&change).await.expect("apply"), Applied::Missing);
    assert_eq!(store.get(ghost).await.expect("get"), None);
    assert!(store.events(ghost, 100).await.expect("events").is_empty());
    assert!(ledger(&store, ghost).await.is_empty());
}

/// Every field a change carries is written, the name included, whether the change comes
/// alone or in a worker's batch.
pub async fn apply_writes_every_field_a_change_carries(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let server = running(&store, "lab-a", at(0)).await;
    let mut change = plan(&server, Action::Stop, at(100), &config());
    change.server.name = "renamed-alone".to_owned();
    let stopped = apply(&store, &change).await;
    assert_eq!(stopped.name, "renamed-alone");
    assert_eq!(get(&store, server.id).await.name, "renamed-alone");

    let rename = |server: &Server| {
        let mut change = lifecycle::plan_completion(server, at(1_000), &config())?;
        change.server.name = "renamed-in-a-batch".to_owned();
        Some(change)
    };
    let due = processed(
        &store,
        DueWork::Transitions { due_by: at(1_000) },
        10,
        &rename,
    )
    .await;
    assert_eq!(due, 1);
    let completed = get(&store, server.id).await;
    assert_eq!(completed.name, "renamed-in-a-batch");
    assert_eq!(completed.state, ServerState::Stopped);
}
