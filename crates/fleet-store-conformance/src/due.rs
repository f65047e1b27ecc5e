//! Background work: claiming due rows and applying what the planner makes of them.

use std::sync::Arc;

use chrono::TimeDelta;
use fleet_domain::event::Actor;
use fleet_domain::lifecycle;
use fleet_domain::ports::DueWork;
use fleet_domain::{Action, ServerState};

use crate::TestedStore;
use crate::fixtures::stopped;
use crate::fixtures::{
    Offered, act, at, complete, config, get, ledger, pools, processed, provision, running,
};

/// Only transitions due by the instant are offered, earliest first, at most `limit` a call,
/// each as stored; their completions are applied.
pub async fn process_due_transitions_claims_due_rows_earliest_first(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let settled = running(&store, "lab-a", at(0)).await;
    let third = provision(&store, "lab-a", at(20)).await;
    let first = provision(&store, "lab-a", at(0)).await;
    let later = provision(&store, "lab-a", at(40)).await;
    let second = provision(&store, "lab-a", at(5)).await;
    let offered = Arc::new(Offered::default());
    let seen = Arc::clone(&offered);
    let now = at(30);
    let plan = move |server: &fleet_domain::Server| {
        seen.note(server);
        lifecycle::plan_completion(server, now, &config())
    };
    let work = DueWork::Transitions { due_by: now };
    assert_eq!(processed(&store, work, 2, &plan).await, 2);
    assert_eq!(offered.take(), vec![first.clone(), second.clone()]);
    assert_eq!(processed(&store, work, 2, &plan).await, 1);
    assert_eq!(offered.take(), vec![third.clone()]);
    assert_eq!(processed(&store, work, 2, &plan).await, 0);
    assert!(offered.take().is_empty());
    for server in [&first, &second, &third] {
        let stored = get(&store, server.id).await;
        assert_eq!(stored.state, ServerState::Running);
        assert_eq!(stored.generation, server.generation + 1);
        assert_eq!(stored.transition_due_at, None);
    }
    assert_eq!(get(&store, later.id).await, later);
    assert_eq!(get(&store, settled.id).await, settled);
}

/// Open runs whose watermark is old enough are offered oldest first and accrued.
pub async fn process_due_accruals_bills_open_runs_oldest_first(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let young = running(&store, "lab-a", at(100)).await;
    let second = running(&store, "lab-a", at(20)).await;
    let first = running(&store, "lab-a", at(0)).await;
    let down = stopped(&store, "lab-a", at(0)).await;
    let offered = Arc::new(Offered::default());
    let seen = Arc::clone(&offered);
    let now = at(100);
    let plan = move |server: &fleet_domain::Server| {
        seen.note(server);
        lifecycle::plan_accrual(server, now, &config())
    };
    let work = DueWork::Accruals {
        watermark_before: at(40),
    };
    assert_eq!(processed(&store, work, 1, &plan).await, 1);
    assert_eq!(offered.take(), vec![first.clone()]);
    assert_eq!(processed(&store, work, 10, &plan).await, 1);
    assert_eq!(offered.take(), vec![second.clone()]);
    assert_eq!(processed(&store, work, 10, &plan).await, 0);
    // Each up to the minute it started in; the rest of the next minute waits for it to end.
    let first_ledger = ledger(&store, first.id).await;
    assert_eq!(first_ledger.len(), 1);
    assert_eq!(
        (first_ledger[0].period_start, first_ledger[0].period_end),
        (at(10), at(60))
    );
    assert_eq!(get(&store, first.id).await.billed_until, Some(at(60)));
    assert_eq!(get(&store, second.id).await.billed_seconds, 30);
    assert!(ledger(&store, young.id).await.is_empty());
    assert_eq!(get(&store, down.id).await, down);
}

/// Servers stopped long enough are offered oldest first and reaped, with the reaper named.
pub async fn process_due_idle_reaps_stopped_servers_oldest_first(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let second = stopped(&store, "lab-a", at(100)).await;
    let recent = stopped(&store, "lab-a", at(1000)).await;
    let first = stopped(&store, "lab-a", at(0)).await;
    let restarted = {
        let server = stopped(&store, "lab-a", at(0)).await;
        let starting = act(&store, &server, Action::Start, at(50)).await;
        complete(&store, &starting).await
    };
    let offered = Arc::new(Offered::default());
    let seen = Arc::clone(&offered);
    let now = at(500) + TimeDelta::minutes(30);
    let plan = move |server: &fleet_domain::Server| {
        seen.note(server);
        lifecycle::plan_reap(server, now, &config(), &fleet_domain::Entropy::os())
    };
    let work = DueWork::Idle {
        stopped_by: at(500),
    };
    assert_eq!(processed(&store, work, 1, &plan).await, 1);
    assert_eq!(offered.take(), vec![first.clone()]);
    assert_eq!(processed(&store, work, 5, &plan).await, 1);
    assert_eq!(offered.take(), vec![second.clone()]);
    assert_eq!(processed(&store, work, 5, &plan).await, 0);
    for server in [&first, &second] {
        assert_eq!(get(&store, server.id).await.state, ServerState::Terminating);
        let newest = store.events(server.id, 1).await.expect("events");
        assert_eq!(newest[0].event.actor, Actor::Reaper);
    }
    assert_eq!(get(&store, recent.id).await, recent);
    assert_eq!(get(&store, restarted.id).await, restarted);
}

/// A planner that returns `None` leaves the row as it is, and it is offered again later.
pub async fn process_due_leaves_a_row_alone_when_the_planner_declines(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let server = provision(&store, "lab-a", at(0)).await;
    let work = DueWork::Transitions { due_by: at(60) };
    let declined = processed(&store, work, 10, &|_| None).await;
    assert_eq!(declined, 0);
    assert_eq!(get(&store, server.id).await, server);
    assert_eq!(store.events(server.id, 100).await.expect("events").len(), 1);
    let plan = |s: &fleet_domain::Server| lifecycle::plan_completion(s, at(60), &config());
    assert_eq!(processed(&store, work, 10, &plan).await, 1);
    assert_eq!(get(&store, server.id).await.state, ServerState::Running);
}

/// A planned change whose generation does not match the row is not applied, and is not
/// counted, while the rest of the batch is.
pub async fn process_due_is_guarded_by_generation(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let stale = provision(&store, "lab-a", at(0)).await;
    let fresh = provision(&store, "lab-a", at(1)).await;
    let stale_id = stale.id;
    let plan = move |server: &fleet_domain::Server| {
        let mut change = lifecycle::plan_completion(server, at(60), &config())?;
        if server.id == stale_id {
            change.expected_generation += 7;
        }
        Some(change)
    };
    let work = DueWork::Transitions { due_by: at(60) };
    assert_eq!(processed(&store, work, 10, &plan).await, 1);
    assert_eq!(get(&store, stale.id).await, stale);
    assert_eq!(store.events(stale.id, 100).await.expect("events").len(), 1);
    assert_eq!(get(&store, fresh.id).await.state, ServerState::Running);
}
