//! The event sequence on Postgres, where transactions commit in any order: a reader that
//! follows the cursor sees every event exactly once, however late its transaction commits;
//! a commit through one process wakes a waiter in another; the feed stops cleanly.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use fleet_domain::catalog::RegionSpec;
use fleet_domain::event::{Event, EventQuery};
use fleet_domain::ports::{EventLog, Store};
use fleet_domain::{ProjectId, Server};
use fleet_postgres::PgStore;
use futures::future::join_all;

use crate::support::{self, TestDb, count, exec, new_server, report};

/// How long a reader follows the sequence before it gives up on an event it misses.
const PATIENCE: Duration = Duration::from_secs(20);

async fn with_pool(store: &PgStore) {
    store
        .sync_pools(&[RegionSpec {
            name: "lab".to_owned(),
            cidr: "10.20.0.0/16".parse().expect("a CIDR"),
        }])
        .await
        .expect("creating the pool");
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Inserts an event of `server` in the transaction open on `conn`, as the store's writers
/// do (unsequenced), and returns its id.
async fn insert_event(conn: &mut AsyncPgConnection, server: &Server, message: &str) -> i64 {
    diesel::sql_query(
        "INSERT INTO events (server_id, project_id, at, kind, event_type, actor, message) \
         VALUES ($1, $2, now(), 'billed', 'server.billed', 'system', $3) RETURNING id",
    )
    .bind::<SqlUuid, _>(server.id.as_uuid())
    .bind::<SqlUuid, _>(ProjectId::DEFAULT.as_uuid())
    .bind::<diesel::sql_types::Text, _>(message)
    .get_result::<Id>(conn)
    .await
    .expect("inserting an event")
    .id
}

/// A reader that follows the sequence by its cursor only, as a client of the stream does.
struct Follower {
    cursor: i64,
    seen: Vec<Event>,
}

impl Follower {
    async fn at_horizon(store: &PgStore) -> Follower {
        let cursor = store.horizon().await.expect("horizon").latest;
        Follower {
            cursor,
            seen: Vec::new(),
        }
    }

    /// Reads what came after the cursor once, and moves the cursor past it.
    async fn read(&mut self, store: &PgStore) {
        let query = EventQuery {
            project: None,
            after: self.cursor,
            server: None,
            types: Vec::new(),
            selector: None,
            limit: 50,
        };
        let page = store.events_after(&query).await.expect("events_after");
        if let Some(last) = page.last() {
            self.cursor = last.seq.expect("a sequenced event");
        }
        self.seen.extend(page);
    }

    /// Follows until it has seen every id of `wanted`, waiting for the sequence to move
    /// between reads; fails naming what it missed.
    async fn until(&mut self, store: &PgStore, wanted: &HashSet<i64>) {
        let started = Instant::now();
        loop {
            self.read(store).await;
            let ids: HashSet<i64> = self.seen.iter().map(|e| e.id).collect();
            if wanted.is_subset(&ids) {
                return;
            }
            let missing: Vec<_> = wanted.difference(&ids).collect();
            assert!(
                started.elapsed() < PATIENCE,
                "the reader at {} never saw {missing:?}",
                self.cursor
            );
            store
                .wait_beyond(self.cursor, Duration::from_millis(200))
                .await
                .expect("wait_beyond");
        }
    }

    /// The ids it saw, in order; fails if it saw one twice or out of sequence.
    fn ids_once_in_order(&self) -> Vec<i64> {
        let seqs: Vec<i64> = self.seen.iter().filter_map(|e| e.seq).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        let ids: Vec<i64> = self.seen.iter().map(|e| e.id).collect();
        let distinct: HashSet<i64> = ids.iter().copied().collect();
        assert_eq!(distinct.len(), ids.len(), "an event seen twice: {ids:?}");
        ids
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_event_committed_after_a_later_one_is_seen_once_after_it() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let _feed = store.start_event_feed(report());
    with_pool(&store).await;
    let server = store.provision(new_server("lab")).await.expect("provision");
    store
        .wait_beyond(0, Duration::from_secs(10))
        .await
        .expect("the provision's event is numbered");
    let mut follower = Follower::at_horizon(&store).await;

    // The early transaction appends an event and stays open.
    let mut early = support::connect(&db.url).await;
    exec(&mut early, "BEGIN").await;
    let early_id = insert_event(&mut early, &server, "early").await;
    // A later one appends an event with a higher id and commits first.
    let mut late = support::connect(&db.url).await;
    let late_id = insert_event(&mut late, &server, "late").await;
    assert!(early_id < late_id);
    follower.until(&store, &HashSet::from([late_id])).await;
    assert!(
        follower.seen.iter().all(|e| e.id != early_id),
        "an uncommitted event is never visible"
    );
    let cursor_past_late = follower.cursor;

    exec(&mut early, "COMMIT").await;
    follower
        .until(&store, &HashSet::from([early_id, late_id]))
        .await;
    assert_eq!(follower.ids_once_in_order(), [late_id, early_id]);
    let early_event = follower.seen.last().expect("the early event");
    assert!(
        early_event.seq.expect("sequenced") > cursor_past_late,
        "numbered after the cursor the reader had moved past the late one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_following_the_cursor_sees_every_event_of_concurrent_writers_once() {
    let db = TestDb::new().await;
    let store = Arc::new(db.store().await);
    let _feed = store.start_event_feed(report());
    with_pool(&store).await;
    let server = store.provision(new_server("lab")).await.expect("provision");
    let start = store
        .wait_beyond(0, Duration::from_secs(10))
        .await
        .expect("the provision's event is numbered");

    // Writers whose transactions stay open for different times, so they commit in another
    // order than their events' ids, while the store provisions and a reader follows.
    let writers = (0..8u64).map(|w| {
        let (url, server) = (db.url.clone(), server.clone());
        tokio::spawn(async move {
            let mut conn = support::connect(&url).await;
            for t in 0..5u64 {
                exec(&mut conn, "BEGIN").await;
                insert_event(&mut conn, &server, "first").await;
                tokio::time::sleep(Duration::from_millis((w * 37 + t * 11) % 60)).await;
                insert_event(&mut conn, &server, "second").await;
                exec(&mut conn, "COMMIT").await;
            }
        })
    });
    let provisions = (0..20).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.provision(new_server("lab")).await })
    });
    let reader = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let mut follower = Follower {
                cursor: start,
                seen: Vec::new(),
            };
            for _ in 0..40 {
                follower.read(&store).await;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            follower
        })
    };
    for writer in join_all(writers).await {
        writer.expect("a writer finished");
    }
    for provision in join_all(provisions).await {
        provision
            .expect("a provision finished")
            .expect("provisioned");
    }
    let mut follower = reader.await.expect("the reader");

    let mut conn = support::connect(&db.url).await;
    let after_start = format!("FROM events WHERE seq > {start} OR seq IS NULL");
    let written = count(&mut conn, &format!("SELECT count(*) AS n {after_start}")).await;
    assert_eq!(
        written,
        8 * 5 * 2 + 20,
        "every writer's events and the provisions'"
    );
    let wanted: Vec<Id> = diesel::sql_query(format!("SELECT id {after_start}"))
        .load(&mut conn)
        .await
        .expect("event ids");
    let wanted: HashSet<i64> = wanted.into_iter().map(|row| row.id).collect();
    follower.until(&store, &wanted).await;
    let ids = follower.ids_once_in_order();
    assert_eq!(ids.len(), wanted.len(), "every event after the start, once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_commit_through_one_process_wakes_a_waiter_in_another_within_a_second() {
    let db = TestDb::new().await;
    let (one, other) = (db.store().await, db.store().await);
    let _feeds = (
        one.start_event_feed(report()),
        other.start_event_feed(report()),
    );
    with_pool(&one).await;
    let seen = other.horizon().await.expect("horizon").latest;
    let waiter = tokio::spawn(async move {
        let latest = other
            .wait_beyond(seen, Duration::from_secs(30))
            .await
            .expect("wait_beyond");
        (latest, Instant::now())
    });
    // Give the other process's listener time to connect, as a running fleetd's has.
    tokio::time::sleep(Duration::from_millis(300)).await;
    one.provision(new_server("lab")).await.expect("provision");
    let committed = Instant::now();
    let (latest, woken) = waiter.await.expect("the waiter");
    assert!(latest > seen, "woken at {latest}, having seen {seen}");
    let delay = woken.saturating_duration_since(committed);
    assert!(
        delay < Duration::from_secs(1),
        "the other process learned of the commit after {delay:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopped_feed_closes_its_connection_and_numbers_nothing_more() {
    let db = TestDb::new().await;
    let store = db.store().await;
    with_pool(&store).await;
    let feed = store.start_event_feed(report());
    store.provision(new_server("lab")).await.expect("provision");
    assert_eq!(
        store
            .wait_beyond(0, Duration::from_secs(10))
            .await
            .expect("wait_beyond"),
        1,
        "the running feed numbers the event"
    );
    let mut conn = support::connect(&db.url).await;
    let listeners = "SELECT count(*) AS n FROM pg_stat_activity \
                     WHERE datname = current_database() \
                     AND application_name = 'fleet event listener'";
    assert_eq!(count(&mut conn, listeners).await, 1);

    let stopping = Instant::now();
    feed.stop().await;
    assert!(
        stopping.elapsed() < Duration::from_secs(2),
        "stopped at once"
    );
    let started = Instant::now();
    while count(&mut conn, listeners).await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the listener's connection is still open"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    store.provision(new_server("lab")).await.expect("provision");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        store.horizon().await.expect("horizon").latest,
        1,
        "no sequencer runs after the stop (its safety net would have numbered it by now)"
    );
    let unsequenced = count(
        &mut conn,
        "SELECT count(*) AS n FROM events WHERE seq IS NULL",
    )
    .await;
    assert_eq!(unsequenced, 1);
}
