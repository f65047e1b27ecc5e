//! The fan-out over an in-memory event log that counts how often it is read.

use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;

use fleet_domain::catalog::RegionSpec;
use fleet_domain::event::EventSubject;
use fleet_domain::lifecycle::{self, ServerSpec};
use fleet_domain::ports::Store;
use fleet_domain::selector::{Selector, conformance};
use fleet_domain::{
    Actor, EventKind, EventType, Labels, LifecycleConfig, Money, NewEvent, ProjectId,
    RequestContext, ServerId,
};
use fleet_sqlite::{SqliteLocation, SqliteStore};

use super::*;

/// An event log in memory: `append` commits events and announces them, as a store does.
struct Memory {
    events: Mutex<Vec<Event>>,
    latest: watch::Sender<i64>,
    pruned_through: AtomicI64,
    reads: AtomicUsize,
}

impl Memory {
    fn new() -> Arc<Memory> {
        Arc::new(Memory {
            events: Mutex::new(Vec::new()),
            latest: watch::Sender::new(0),
            pruned_through: AtomicI64::new(0),
            reads: AtomicUsize::new(0),
        })
    }

    /// Appends an event of `kind` about `server` of `project`; returns its sequence number.
    fn append(&self, project: ProjectId, server: ServerId, kind: EventKind) -> i64 {
        let mut events = self.events.lock().expect("events");
        let seq = events.len() as i64 + 1;
        events.push(Event {
            id: seq,
            seq: Some(seq),
            project,
            labels: Labels::default(),
            event: NewEvent {
                subject: EventSubject::Server(server),
                at: DateTime::from_timestamp(1_767_225_600 + seq, 0).expect("time"),
                kind,
                from_state: None,
                to_state: None,
                actor: Actor::Api,
                request_id: None,
                trace: None,
                key: None,
                message: String::new(),
                reason: None,
            },
        });
        self.latest.send_replace(seq);
        seq
    }

    fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl EventLog for Memory {
    async fn events_after(&self, query: &EventQuery) -> Result<Vec<Event>, EventReadError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let pruned_through = self.pruned_through.load(Ordering::SeqCst);
        if query.after < pruned_through {
            return Err(EventReadError::Expired {
                after: query.after,
                pruned_through,
            });
        }
        let events = self.events.lock().expect("events");
        Ok(events
            .iter()
            .filter(|e| e.seq.is_some_and(|seq| seq > query.after) && query.matches(e))
            .take(query.limit as usize)
            .cloned()
            .collect())
    }

    async fn horizon(&self) -> Result<EventHorizon, StoreError> {
        Ok(EventHorizon {
            latest: *self.latest.borrow(),
            pruned_through: self.pruned_through.load(Ordering::SeqCst),
        })
    }

    async fn wait_beyond(&self, seen: i64, patience: Duration) -> Result<i64, StoreError> {
        let mut latest = self.latest.subscribe();
        let _ = tokio::time::timeout(patience, latest.wait_for(|l| *l > seen)).await;
        Ok(*self.latest.borrow())
    }

    async fn prune_events(&self, _: DateTime<Utc>, _: u32, _: u32) -> Result<u32, StoreError> {
        Ok(0)
    }
}

fn query(after: i64) -> EventQuery {
    EventQuery {
        project: None,
        after,
        server: None,
        types: Vec::new(),
        selector: None,
        limit: 100,
    }
}

fn logger() -> Logger {
    Logger::root(slog::Discard, slog::o!())
}

/// Waits until the fan-out's horizon reaches `seq`.
async fn reached(fanout: &FanOut, seq: i64) {
    let waited = fanout.wait_beyond(seq - 1, Duration::from_secs(5)).await;
    assert_eq!(waited.expect("waited"), seq);
}

#[tokio::test]
async fn new_events_reach_subscribers_from_memory_without_reading_the_store_again() {
    let store = Memory::new();
    let project = ProjectId::random();
    let (server, other) = (ServerId::random(), ServerId::random());
    store.append(project, server, EventKind::Created);
    let fanout = FanOut::open(store.clone()).await.expect("opened");
    let (stop, stopped) = watch::channel(false);
    let reader = fanout.spawn_reader(stopped, logger());

    store.append(project, server, EventKind::ActionRequested);
    store.append(ProjectId::random(), other, EventKind::Billed);
    let last = store.append(project, server, EventKind::TransitionCompleted);
    reached(&fanout, last).await;
    let reads = store.reads();
    for _ in 0..50 {
        let events = fanout.events_after(&query(1)).await.expect("read");
        assert_eq!(events.len(), 3);
    }
    let mine = EventQuery {
        project: Some(project),
        server: Some(server),
        types: vec![EventType::ServerStateChanged],
        ..query(1)
    };
    let events = fanout.events_after(&mine).await.expect("read");
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [Some(last)]
    );
    assert_eq!(
        store.reads(),
        reads,
        "every subscriber read was served from memory"
    );
    assert_eq!(fanout.horizon().await.expect("horizon").latest, last);

    let _ = stop.send(true);
    reader.await.expect("the reader stops");
}

#[tokio::test]
async fn a_cursor_older_than_the_ring_is_read_from_the_store() {
    let store = Memory::new();
    let project = ProjectId::random();
    for _ in 0..5 {
        store.append(project, ServerId::random(), EventKind::Created);
    }
    let fanout = FanOut::open(store.clone()).await.expect("opened");
    let reads = store.reads();
    let events = fanout.events_after(&query(2)).await.expect("read");
    assert_eq!(
        events.len(),
        3,
        "events 3 to 5, from before the fan-out opened"
    );
    assert_eq!(store.reads(), reads + 1);
    store.pruned_through.store(4, Ordering::SeqCst);
    let expired = fanout.events_after(&query(2)).await;
    assert!(matches!(expired, Err(EventReadError::Expired { .. })));
}

#[tokio::test]
async fn a_wait_ends_when_the_reader_moves_the_horizon_or_when_its_patience_runs_out() {
    let store = Memory::new();
    let fanout = FanOut::open(store.clone()).await.expect("opened");
    let quiet = fanout.wait_beyond(0, Duration::from_millis(20)).await;
    assert_eq!(quiet.expect("waited"), 0, "nothing happened");
    let (stop, stopped) = watch::channel(false);
    let reader = fanout.spawn_reader(stopped, logger());
    let waiter = {
        let fanout = fanout.clone();
        tokio::spawn(async move { fanout.wait_beyond(0, Duration::from_secs(5)).await })
    };
    store.append(ProjectId::random(), ServerId::random(), EventKind::Created);
    let woken = waiter.await.expect("joined").expect("waited");
    assert_eq!(woken, 1);
    let _ = stop.send(true);
    reader.await.expect("the reader stops");
}

#[tokio::test]
async fn a_wait_with_an_interest_sleeps_through_other_projects_and_servers_news() {
    let store = Memory::new();
    let fanout = FanOut::open(store.clone()).await.expect("opened");
    let (stop, stopped) = watch::channel(false);
    let reader = fanout.spawn_reader(stopped, logger());
    let (mine, theirs) = (ProjectId::random(), ProjectId::random());
    let (server, neighbour) = (ServerId::random(), ServerId::random());
    let wait = |interest| {
        let fanout = fanout.clone();
        tokio::spawn(async move {
            fanout
                .wait_beyond_for(0, interest, Duration::from_secs(5))
                .await
        })
    };
    let for_project = wait(Interest::Project(mine));
    let for_server = wait(Interest::Server(server));
    let for_all = wait(Interest::All);
    tokio::task::yield_now().await;

    store.append(theirs, ServerId::random(), EventKind::Created);
    assert_eq!(for_all.await.expect("joined").expect("waited"), 1);
    store.append(mine, neighbour, EventKind::Created);
    assert_eq!(for_project.await.expect("joined").expect("waited"), 2);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        !for_server.is_finished(),
        "its project's news is not its server's"
    );
    store.append(mine, server, EventKind::Created);
    assert_eq!(for_server.await.expect("joined").expect("waited"), 3);

    // A first wait on an interest, behind the top, looks again at once rather than sleep
    // through what it has not read.
    let started = std::time::Instant::now();
    let late = wait(Interest::Project(theirs)).await.expect("joined");
    assert_eq!(late.expect("waited"), 3);
    assert!(started.elapsed() < Duration::from_secs(1));
    let _ = stop.send(true);
    reader.await.expect("the reader stops");
}

#[test]
fn the_ring_keeps_the_newest_events_and_moves_its_base_past_the_dropped_ones() {
    let store = Memory::new();
    let project = ProjectId::random();
    let total = RING_CAPACITY + 10;
    for _ in 0..total {
        store.append(project, ServerId::random(), EventKind::Created);
    }
    let mut ring = Ring::after(0);
    ring.extend(store.events.lock().expect("events").clone());
    assert_eq!(ring.events.len(), RING_CAPACITY);
    assert_eq!(
        ring.events.capacity(),
        RING_CAPACITY,
        "never grown past its capacity"
    );
    assert_eq!(ring.base, 10);
    assert_eq!(ring.top(), total as i64);
    assert!(ring.matching(&query(9)).is_none(), "event 10 is gone");
    let page = ring.matching(&query(10)).expect("covered");
    assert_eq!(page.first().and_then(|e| e.seq), Some(11));
    assert_eq!(page.len(), 100, "at most the limit");
}

/// Provisions a server of the selector table (`name`, `pairs`) in the store's `lab` pool.
async fn provision_labelled(store: &SqliteStore, name: &str, pairs: &[(&str, &str)]) -> ServerId {
    let map = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let new = lifecycle::plan_provision(
        ServerSpec {
            id: ServerId::random(),
            project: ProjectId::DEFAULT,
            name: name.to_owned(),
            labels: Labels::from_client(map).expect("the table's labels are valid"),
            region: "lab".to_owned(),
            server_type: "t2.micro".to_owned(),
            hourly_price: Money::from_micros(11_600),
            policy: fleet_domain::billing::BillingPolicy::default(),
            vcpus: 1,
        },
        DateTime::from_timestamp(1_767_225_600, 0).expect("time"),
        &LifecycleConfig::default(),
        &RequestContext::api("req-table"),
        &fleet_domain::Entropy::os(),
    );
    store.provision(new).await.expect("provision").id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ring_selects_what_the_store_selects_on_the_selector_table() {
    let store = Arc::new(
        SqliteStore::open(SqliteLocation::Memory)
            .await
            .expect("a store"),
    );
    let lab = RegionSpec {
        name: "lab".to_owned(),
        cidr: "10.0.0.0/24".parse().expect("a CIDR"),
    };
    store.sync_pools(&[lab]).await.expect("pools");
    let fanout = FanOut::open(store.clone()).await.expect("opened");
    let (stop, stopped) = watch::channel(false);
    let reader = fanout.spawn_reader(stopped, logger());
    let mut named = Vec::new();
    for (name, pairs) in conformance::SERVERS {
        named.push((provision_labelled(&store, name, pairs).await, *name));
    }
    reached(&fanout, named.len() as i64).await;
    for (text, expected) in conformance::CASES {
        let selecting = EventQuery {
            selector: Some(Selector::parse(text).expect("a selector of the table")),
            ..query(0)
        };
        let from_memory = fanout
            .ring_read()
            .matching(&selecting)
            .expect("the ring covers the cursor");
        let from_sql = store.events_after(&selecting).await.expect("read");
        assert_eq!(from_memory, from_sql, "selector {text:?}");
        let names: Vec<&str> = from_memory
            .iter()
            .filter_map(|e| {
                named
                    .iter()
                    .find(|(id, _)| Some(*id) == e.event.server_id())
                    .map(|(_, name)| *name)
            })
            .collect();
        assert_eq!(names, *expected, "selector {text:?}");
    }
    let _ = stop.send(true);
    reader.await.expect("the reader stops");
}
