//! A batch mixing fresh and stale changes writes the fresh ones whole and nothing of the
//! stale ones: no row, no event, no usage, no released address.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::TimeDelta;
use fleet_domain::ports::{Applied, DueWork, Store, StoreStatus};
use fleet_domain::{Action, EventKind, RequestContext, ServerId, ServerState, StateChange};
use fleet_domain::{billing, lifecycle};
use fleet_sqlite::SqliteLocation;

use crate::common::{Fleet, config, t0};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_writes_its_fresh_changes_and_nothing_of_its_stale_ones() {
    let fleet = Fleet::open(SqliteLocation::Memory, t0()).await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(fleet.provision("eu-west").await.id);
    }
    fleet.advance(TimeDelta::seconds(10)).await;
    let stale: Arc<HashSet<ServerId>> = Arc::new(ids.iter().copied().step_by(2).collect());
    let spoiled = Arc::clone(&stale);
    let spoil = move |mut change: StateChange| {
        if spoiled.contains(&change.server.id) {
            change.expected_generation -= 1;
        }
        change
    };

    let now = t0() + TimeDelta::seconds(100);
    let accrue = spoil.clone();
    let accrued = fleet
        .store
        .process_due(
            DueWork::Accruals {
                watermark_before: billing::accruals_due_before(now, config().billing_period),
            },
            50,
            &move |s| lifecycle::plan_accrual(s, now, &config()).map(&accrue),
        )
        .await
        .expect("process_due");
    assert_eq!(accrued, 3);
    for id in &ids {
        let usage = fleet.store.usage(*id, None, 100).await.expect("usage");
        let seconds: Vec<i64> = usage.iter().map(|e| e.record.seconds).collect();
        // Running from 10 s, billed up to the end of its first clock minute.
        let expected = if stale.contains(id) { vec![] } else { vec![50] };
        assert_eq!(seconds, expected, "usage of {id}");
    }

    for id in &ids {
        let server = fleet.store.get(*id).await.expect("get").expect("stored");
        let change = lifecycle::plan_action(
            &server,
            Action::Terminate,
            now,
            &config(),
            &RequestContext::api("req-end"),
            &fleet_domain::Entropy::os(),
        )
        .expect("terminate is allowed")
        .expect("terminate changes the server");
        let applied = fleet.store.apply(&change).await.expect("apply");
        assert!(matches!(applied, Applied::Done(_)));
    }
    let gone_at = now + TimeDelta::seconds(5);
    let completed = fleet
        .store
        .process_due(DueWork::Transitions { due_by: gone_at }, 50, &move |s| {
            lifecycle::plan_completion(s, gone_at, &config()).map(&spoil)
        })
        .await
        .expect("process_due");
    assert_eq!(completed, 3);
    for id in &ids {
        let server = fleet.store.get(*id).await.expect("get").expect("stored");
        let events = fleet.store.events(*id, 100).await.expect("events");
        let terminated_events = events
            .iter()
            .filter(|e| e.event.kind == EventKind::TransitionCompleted)
            .filter(|e| e.event.to_state == Some(ServerState::Terminated))
            .count();
        if stale.contains(id) {
            assert_eq!(server.state, ServerState::Terminating, "{id}");
            assert!(server.ip.is_some(), "{id} keeps its address");
            assert_eq!(terminated_events, 0, "{id}");
        } else {
            assert_eq!(server.state, ServerState::Terminated, "{id}");
            assert_eq!(server.ip, None, "{id}");
            assert_eq!(terminated_events, 1, "{id}");
        }
    }
    let pools = fleet.store.pool_usage().await.expect("pool usage");
    let eu = pools
        .iter()
        .find(|p| p.region == "eu-west")
        .expect("eu-west");
    assert_eq!(
        eu.allocated, 3,
        "only the fresh changes released their addresses"
    );
}
