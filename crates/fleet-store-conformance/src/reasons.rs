//! State reasons: a server's and its events' are written by the transaction that writes the
//! change (a single apply, or a worker's batch), read back by every read, and cleared when
//! a change clears them.

use std::sync::Arc;

use chrono::TimeDelta;
use fleet_domain::error::StoreError;
use fleet_domain::lifecycle;
use fleet_domain::ports::DueWork;
use fleet_domain::{
    Action, EventKind, PageRequest, Server, ServerFilter, ServerState, StateReason,
};

use crate::fixtures::{act, at, config, get, pools, processed, running, stopped};
use crate::sequence::sequenced;
use crate::{Tamper, TestedStore};

const SHUTDOWN: Option<StateReason> = Some(StateReason::UserInitiatedShutdown);

/// The server's history, oldest first, as `(kind, reason)`.
async fn history(
    store: &Arc<dyn TestedStore>,
    server: &Server,
) -> Vec<(EventKind, Option<StateReason>)> {
    let mut events = store.events(server.id, 100).await.expect("events");
    events.reverse();
    events
        .iter()
        .map(|e| (e.event.kind, e.event.reason))
        .collect()
}

/// Completes every transition due by `now` in a worker's batch.
async fn complete_due(store: &Arc<dyn TestedStore>, now: chrono::DateTime<chrono::Utc>) -> u32 {
    processed(
        store,
        DueWork::Transitions { due_by: now },
        10,
        &move |s: &Server| lifecycle::plan_completion(s, now, &config()),
    )
    .await
}

/// A client's stop gives the server and the events of its change
/// `Client.UserInitiatedShutdown`; the worker's completion keeps it on the stopped server
/// and its event; a start writes it away again. A new server has none.
pub async fn a_stop_s_reason_is_stored_with_the_server_and_its_events_and_a_start_clears_it(
    store: Arc<dyn TestedStore>,
) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let start = store.horizon().await.expect("horizon").latest;
    let server = running(&store, "lab-a", at(0)).await;
    assert_eq!(server.state_reason, None);
    let stopping = act(&store, &server, Action::Stop, at(100)).await;
    assert_eq!(stopping.state_reason, SHUTDOWN);
    assert_eq!(get(&store, server.id).await.state_reason, SHUTDOWN);

    assert_eq!(complete_due(&store, at(1_000)).await, 1);
    let stopped = get(&store, server.id).await;
    assert_eq!(stopped.state, ServerState::Stopped);
    assert_eq!(
        stopped.state_reason, SHUTDOWN,
        "written by the worker's batch"
    );
    assert_eq!(
        history(&store, &server).await,
        [
            (EventKind::Created, None),
            (EventKind::TransitionCompleted, None),
            (EventKind::Billed, SHUTDOWN),
            (EventKind::ActionRequested, SHUTDOWN),
            (EventKind::TransitionCompleted, SHUTDOWN),
        ]
    );
    let sequenced = sequenced(&store, start, 5).await;
    assert_eq!(
        sequenced.iter().map(|e| e.event.reason).collect::<Vec<_>>(),
        [None, None, SHUTDOWN, SHUTDOWN, SHUTDOWN],
        "the global sequence reads the same reasons"
    );

    let starting = act(&store, &stopped, Action::Start, at(2_000)).await;
    assert_eq!(starting.state_reason, None);
    assert_eq!(get(&store, server.id).await.state_reason, None, "cleared");
    let newest = store.events(server.id, 1).await.expect("events");
    assert_eq!(
        (newest[0].event.kind, newest[0].event.reason),
        (EventKind::ActionRequested, None)
    );
}

/// The reaper's terminate, written by its batch, gives the server and its event
/// `Client.IdleReaped` in place of the stop's reason, through to `terminated`.
pub async fn the_reaper_s_reason_replaces_the_stop_s_through_to_terminated(
    store: Arc<dyn TestedStore>,
) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let server = stopped(&store, "lab-a", at(0)).await;
    assert_eq!(server.state_reason, SHUTDOWN);
    let now = at(100) + TimeDelta::minutes(30);
    let reaped = processed(
        &store,
        DueWork::Idle {
            stopped_by: at(100),
        },
        10,
        &move |s: &Server| lifecycle::plan_reap(s, now, &config(), &fleet_domain::Entropy::os()),
    )
    .await;
    assert_eq!(reaped, 1);
    let idle = Some(StateReason::IdleReaped);
    let terminating = get(&store, server.id).await;
    assert_eq!(terminating.state, ServerState::Terminating);
    assert_eq!(terminating.state_reason, idle);
    let newest = store.events(server.id, 1).await.expect("events");
    assert_eq!(newest[0].event.reason, idle);

    assert_eq!(complete_due(&store, now + TimeDelta::minutes(1)).await, 1);
    let terminated = get(&store, server.id).await;
    assert_eq!(terminated.state, ServerState::Terminated);
    assert_eq!(terminated.state_reason, idle);
    let listed = store
        .list(&ServerFilter::default(), &PageRequest::default())
        .await
        .expect("list");
    assert_eq!(
        listed.iter().map(|s| s.state_reason).collect::<Vec<_>>(),
        [idle],
        "a list reads the reason as a get does"
    );
}

/// A state reason changed behind the store's back into a code this fleet does not know
/// makes the server's row corrupt, naming the column, for reads and lists alike; a known
/// code written so reads back as its reason.
pub async fn a_stored_state_reason_this_fleet_does_not_know_is_a_corrupt_row(
    store: Arc<dyn TestedStore>,
    tamper: Arc<dyn Tamper>,
) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let server = stopped(&store, "lab-a", at(0)).await;
    tamper
        .write_state_reason(server.id, "Client.UserInitiatedReboot")
        .await;
    let read = store.get(server.id).await;
    assert!(
        matches!(&read, Err(StoreError::Corrupt(row)) if row.column == "servers.state_reason"),
        "{read:?}"
    );
    let listed = store
        .list(&ServerFilter::default(), &PageRequest::default())
        .await;
    assert!(
        matches!(&listed, Err(StoreError::Corrupt(row)) if row.column == "servers.state_reason"),
        "{listed:?}"
    );
    tamper
        .write_state_reason(server.id, "Server.ScheduledStop")
        .await;
    assert_eq!(
        get(&store, server.id).await.state_reason,
        Some(StateReason::ScheduledStop)
    );
}
