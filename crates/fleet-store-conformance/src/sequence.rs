//! The global event sequence: reading after a cursor with filters, the horizon, waiting for
//! it to move, and pruning.
//!
//! A store may number a committed event a moment after its commit (Postgres's sequencer),
//! so the cases wait for what they wrote to be numbered, as a reader following the sequence
//! would, before they check what they read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fleet_domain::event::{Event, EventQuery, EventReadError, EventType, NewEvent};
use fleet_domain::lifecycle;
use fleet_domain::{Action, ProjectId, ServerId};

use crate::TestedStore;
use crate::fixtures::{apply, at, config, instant_config, new_server_in, plan, pools, running};
use crate::tenancy::project;

/// How long a case waits for events to be numbered before it fails.
const SEQUENCED_WITHIN: Duration = Duration::from_secs(10);

/// A query of every project's events after `after`.
fn everything_after(after: i64) -> EventQuery {
    EventQuery {
        project: None,
        after,
        server: None,
        types: Vec::new(),
        selector: None,
        limit: 1_000,
    }
}

/// Every event after `after`, once there are `count` of them: waits for the store to
/// number them as a reader would, by `wait_beyond`.
pub(crate) async fn sequenced(
    store: &Arc<dyn TestedStore>,
    after: i64,
    count: usize,
) -> Vec<Event> {
    let started = Instant::now();
    let mut seen = after;
    loop {
        let events = store
            .events_after(&everything_after(after))
            .await
            .expect("events_after");
        if events.len() >= count {
            return events;
        }
        assert!(
            started.elapsed() < SEQUENCED_WITHIN,
            "{count} events after {after} not numbered within {SEQUENCED_WITHIN:?}: {events:?}"
        );
        seen = events.last().and_then(|e| e.seq).unwrap_or(seen);
        store
            .wait_beyond(seen, Duration::from_millis(100))
            .await
            .expect("wait_beyond");
    }
}

/// The sequence numbers of `events`.
fn numbers(events: &[Event]) -> Vec<i64> {
    events
        .iter()
        .map(|e| e.seq.expect("a sequenced event"))
        .collect()
}

/// Provisions a `t2.micro` of `project` at `seconds` and completes it, noting its events.
async fn running_in(
    store: &Arc<dyn TestedStore>,
    project: ProjectId,
    seconds: i64,
    appended: &mut Vec<(NewEvent, ProjectId)>,
) -> fleet_domain::Server {
    let new = new_server_in(project, "lab-a", "t2.micro", at(seconds));
    appended.push((new.event.clone(), project));
    let server = store.provision(new).await.expect("provision");
    let due = server.transition_due_at.expect("provisioning");
    let change = lifecycle::plan_completion(&server, due, &config()).expect("due");
    appended.extend(change.events.iter().map(|e| (e.clone(), project)));
    apply(store, &change).await
}

/// Events after a cursor come in the order they were committed, each once, with their
/// project; the project, server and type filters select from them; `limit` pages them and a
/// page's last number is the cursor of the next; the horizon is the last number.
pub async fn events_after_follow_the_sequence_with_filters_limit_and_cursor(
    store: Arc<dyn TestedStore>,
) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let team = project(&store, "team", at(0)).await;
    let start = store.horizon().await.expect("horizon");
    assert_eq!(start.pruned_through, 0, "nothing pruned yet");
    let mut appended = Vec::new();
    let a = running_in(&store, ProjectId::DEFAULT, 0, &mut appended).await;
    let b = running_in(&store, team.id, 1, &mut appended).await;
    let stop = plan(&a, Action::Stop, at(100), &config());
    appended.extend(stop.events.iter().map(|e| (e.clone(), ProjectId::DEFAULT)));
    apply(&store, &stop).await;

    let all = sequenced(&store, start.latest, appended.len()).await;
    let read: Vec<(NewEvent, ProjectId)> =
        all.iter().map(|e| (e.event.clone(), e.project)).collect();
    assert_eq!(read, appended, "commit order, each once, with its project");
    let seqs = numbers(&all);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert!(seqs[0] > start.latest, "{seqs:?} after {}", start.latest);
    let horizon = store.horizon().await.expect("horizon");
    assert_eq!(horizon.latest, *seqs.last().expect("events"));
    let history = store.events(a.id, 100).await.expect("events");
    assert!(
        history
            .iter()
            .all(|e| e.project == ProjectId::DEFAULT && e.seq.is_some()),
        "{history:?}"
    );

    let read = |query: EventQuery| {
        let store = Arc::clone(&store);
        async move { store.events_after(&query).await.expect("events_after") }
    };
    let of = |server: ServerId| -> Vec<Event> {
        all.iter()
            .filter(|e| e.event.server_id() == Some(server))
            .cloned()
            .collect()
    };
    let in_team = EventQuery {
        project: Some(team.id),
        ..everything_after(start.latest)
    };
    assert_eq!(read(in_team).await, of(b.id));
    let of_a = EventQuery {
        server: Some(a.id),
        ..everything_after(start.latest)
    };
    assert_eq!(read(of_a.clone()).await, of(a.id));
    let of_a_in_team = EventQuery {
        project: Some(team.id),
        ..of_a
    };
    assert!(
        read(of_a_in_team).await.is_empty(),
        "a is not the team's server"
    );
    let created = EventQuery {
        types: vec![EventType::ServerProvisioned],
        ..everything_after(start.latest)
    };
    let created = read(created).await;
    assert_eq!(
        created
            .iter()
            .filter_map(|e| e.event.server_id())
            .collect::<Vec<_>>(),
        [a.id, b.id]
    );
    let changes = EventQuery {
        types: vec![
            EventType::ServerStateChanged,
            EventType::ServerActionRequested,
        ],
        ..everything_after(start.latest)
    };
    let expected: Vec<Event> = all
        .iter()
        .filter(|e| {
            matches!(
                e.event.event_type(),
                EventType::ServerStateChanged | EventType::ServerActionRequested
            )
        })
        .cloned()
        .collect();
    assert_eq!(read(changes).await, expected);

    let mut paged = Vec::new();
    let mut cursor = start.latest;
    loop {
        let page = read(EventQuery {
            limit: 2,
            ..everything_after(cursor)
        })
        .await;
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        cursor = last.seq.expect("a sequenced event");
        paged.extend(page);
    }
    assert_eq!(paged, all, "pages by cursor add up to the whole");
    assert!(read(everything_after(horizon.latest)).await.is_empty());
}

/// Pruning deletes in batches of at most `limit`, oldest first, only events recorded
/// before `before`, and keeps the newest `keep_per_server` of each server, which its
/// history keeps showing.
pub async fn pruning_keeps_each_server_s_newest_events_and_goes_in_batches(
    store: Arc<dyn TestedStore>,
) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let start = store.horizon().await.expect("horizon").latest;
    let busy = running(&store, "lab-a", at(0)).await;
    let quiet = running(&store, "lab-a", at(1)).await;
    let mut current = busy.clone();
    let mut t = 100;
    for action in [Action::Stop, Action::Start, Action::Stop, Action::Start] {
        current = apply(&store, &plan(&current, action, at(t), &instant_config())).await;
        t += 100;
    }
    let late = running(&store, "lab-a", at(10_000)).await;
    let busy_history = store.events(busy.id, 100).await.expect("events");
    let quiet_history = store.events(quiet.id, 100).await.expect("events");
    let late_history = store.events(late.id, 100).await.expect("events");
    assert!(busy_history.len() > 6, "{busy_history:?}");
    let total = busy_history.len() + quiet_history.len() + late_history.len();
    sequenced(&store, start, total).await;

    let keep = 3;
    let mut batches = Vec::new();
    loop {
        let deleted = store
            .prune_events(at(5_000), keep, 2)
            .await
            .expect("prune_events");
        assert!(deleted <= 2, "at most the limit: {deleted}");
        if deleted == 0 {
            break;
        }
        batches.push(deleted);
    }
    assert_eq!(
        batches.iter().sum::<u32>() as usize,
        busy_history.len() - keep as usize,
        "{batches:?}"
    );
    let ids = |events: Vec<Event>| events.into_iter().map(|e| e.id).collect::<Vec<_>>();
    let kept = store.events(busy.id, 100).await.expect("events");
    assert_eq!(ids(kept), ids(busy_history[..keep as usize].to_vec()));
    assert_eq!(
        ids(store.events(quiet.id, 100).await.expect("events")),
        ids(quiet_history),
        "a server with no more than `keep` events keeps them all"
    );
    assert_eq!(
        ids(store.events(late.id, 100).await.expect("events")),
        ids(late_history),
        "events recorded after `before` stay"
    );
}

/// Once events have been pruned, a cursor below the highest number pruned is `Expired`
/// (the reader may have missed events and must start over); from there on, reading works.
pub async fn a_cursor_below_what_was_pruned_is_expired(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let start = store.horizon().await.expect("horizon").latest;
    let server = running(&store, "lab-a", at(0)).await;
    let stopping = plan(&server, Action::Stop, at(100), &config());
    let count = 2 + stopping.events.len();
    apply(&store, &stopping).await;
    let all = sequenced(&store, start, count).await;

    let deleted = store
        .prune_events(at(1_000), 1, 100)
        .await
        .expect("prune_events");
    assert_eq!(deleted as usize, count - 1, "all but the newest");
    let newest = all.last().expect("events").clone();
    let pruned_through = all[count - 2].seq.expect("a sequenced event");
    let horizon = store.horizon().await.expect("horizon");
    assert_eq!(horizon.pruned_through, pruned_through);
    assert_eq!(
        horizon.latest,
        newest.seq.expect("a sequenced event"),
        "pruning does not move the latest"
    );
    for after in [start, pruned_through - 1] {
        match store.events_after(&everything_after(after)).await {
            Err(EventReadError::Expired {
                after: refused,
                pruned_through: through,
            }) => assert_eq!((refused, through), (after, pruned_through)),
            other => panic!("a cursor at {after} should be expired, got {other:?}"),
        }
    }
    let rest = store
        .events_after(&everything_after(pruned_through))
        .await
        .expect("events_after");
    assert_eq!(rest, [newest]);
    assert_eq!(
        store
            .prune_events(at(1_000), 1, 100)
            .await
            .expect("prune_events"),
        0,
        "nothing left to prune"
    );
}

/// `wait_beyond` returns as soon as a commit moves the sequence past what the waiter saw,
/// and otherwise waits out its patience and returns the horizon as it is.
pub async fn wait_beyond_wakes_on_a_commit_and_otherwise_waits_out_its_patience(
    store: Arc<dyn TestedStore>,
) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let seen = store.horizon().await.expect("horizon").latest;
    let waiter = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let started = Instant::now();
            let latest = store
                .wait_beyond(seen, Duration::from_secs(30))
                .await
                .expect("wait_beyond");
            (latest, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    running(&store, "lab-a", at(0)).await;
    let (latest, waited) = waiter.await.expect("the waiter");
    assert!(latest > seen, "woken at {latest}, having seen {seen}");
    assert!(
        waited < Duration::from_secs(5),
        "woken by the commit, not the patience: {waited:?}"
    );

    let settled = sequenced(&store, seen, 2).await;
    let last = settled.last().and_then(|e| e.seq).expect("events");
    let patience = Duration::from_millis(300);
    let started = Instant::now();
    let now = store
        .wait_beyond(last, patience)
        .await
        .expect("wait_beyond");
    assert_eq!(now, last, "nothing was committed meanwhile");
    assert!(
        started.elapsed() >= patience - Duration::from_millis(20),
        "waited out its patience: {:?}",
        started.elapsed()
    );
    let ahead = store
        .wait_beyond(seen, Duration::from_secs(5))
        .await
        .expect("wait_beyond");
    assert_eq!(ahead, last, "a waiter behind the horizon returns at once");
}
