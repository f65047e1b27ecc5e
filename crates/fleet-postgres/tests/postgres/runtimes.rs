//! The pool of `PgStore::connect` keeps its connections on the runtime the store was opened
//! on, not on the runtime of whichever caller happened to need a new one: an HTTP worker's
//! current-thread runtime stopping (as at graceful shutdown, before the engine stops) takes
//! no pooled connection down with it. A thread-local pool's connections live on the runtime
//! that uses them, and end with it.

use std::time::Duration;

use diesel_async::AsyncPgConnection;
use fleet_domain::ServerId;
use fleet_domain::ports::Store;
use fleet_postgres::{PgPoolConfig, PgStore};
use futures::future::join_all;

use crate::support::{self, TestDb, exec};

const POOL: usize = 4;

/// How many backends of the current database wait for a lock.
async fn waiting_on_locks(conn: &mut AsyncPgConnection) -> i64 {
    support::count(
        conn,
        "SELECT count(*) AS n FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    .await
}

/// Returns once every pooled connection waits on a lock.
async fn all_waiting_on_the_lock(observer: &mut AsyncPgConnection) {
    tokio::time::timeout(Duration::from_secs(30), async {
        while waiting_on_locks(observer).await < POOL as i64 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("every pooled connection waits on the lock");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_in_flight_survive_the_runtime_that_opened_their_connection_stopping() {
    let db = TestDb::new().await;
    let store = PgStore::connect(
        &db.url,
        PgPoolConfig {
            max_size: POOL,
            ..support::test_pool()
        },
    )
    .await
    .expect("connecting");

    // An HTTP worker: a thread with a current-thread runtime of its own, which needs more
    // connections than the pool has open, so the pool opens them while it is the caller.
    // Its reads wait on a lock until all of them hold a connection at once, so the pool
    // must open every connection it has, whatever order the reads are scheduled in.
    let mut admin = support::connect(&db.url).await;
    let mut observer = support::connect(&db.url).await;
    exec(&mut admin, "BEGIN").await;
    exec(&mut admin, "LOCK TABLE servers IN ACCESS EXCLUSIVE MODE").await;
    let (opened_tx, opened_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let worker_store = store.clone();
    let worker = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime");
        runtime.block_on(async move {
            let gets = (0..POOL).map(|_| worker_store.get(ServerId::random()));
            let all_ok = join_all(gets).await.iter().all(Result::is_ok);
            let _ = opened_tx.send(all_ok);
            // The worker serves until it is told to shut down.
            let _ = stop_rx.await;
        });
        drop(runtime);
    });
    all_waiting_on_the_lock(&mut observer).await;
    exec(&mut admin, "COMMIT").await;
    assert!(
        opened_rx.await.expect("the worker reports"),
        "reads on the worker's runtime"
    );
    assert_eq!(store.pool_status(), (POOL, 0), "the worker filled the pool");

    // Every pooled connection busy with a query from this runtime, held up on a lock.
    exec(&mut admin, "BEGIN").await;
    exec(&mut admin, "LOCK TABLE servers IN ACCESS EXCLUSIVE MODE").await;
    let in_flight: Vec<_> = (0..POOL)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.get(ServerId::random()).await })
        })
        .collect();
    all_waiting_on_the_lock(&mut observer).await;

    // The worker shuts down while those queries are in flight, then the lock goes.
    stop_tx.send(()).expect("the worker is waiting");
    worker.join().expect("the worker thread");
    exec(&mut admin, "COMMIT").await;

    for (i, task) in in_flight.into_iter().enumerate() {
        let got = tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("the query finishes")
            .expect("the task");
        assert!(
            matches!(got, Ok(None)),
            "query {i} failed when the worker's runtime stopped: {got:?}"
        );
    }
    // And the store goes on serving from here, with the connections it has.
    let after = join_all((0..POOL).map(|_| store.get(ServerId::random()))).await;
    assert!(after.iter().all(|r| matches!(r, Ok(None))), "{after:?}");
    assert_eq!(store.pool_status().0, POOL, "no connection was lost");
}

/// A thread-local pool serves the runtime that uses it, and its connections die with that
/// runtime; the pool status of the family counts them while the pool is in use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_local_pool_serves_its_runtime_and_is_counted_with_the_family() {
    let db = TestDb::new().await;
    let store = PgStore::connect(
        &db.url,
        PgPoolConfig {
            max_size: 1,
            ..support::test_pool()
        },
    )
    .await
    .expect("connecting");
    assert_eq!(store.pool_status(), (1, 0), "connect opens one connection");
    let local = store.thread_local_pool(POOL).expect("a thread-local pool");

    let (served_tx, served_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let worker = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime");
        runtime.block_on(async move {
            let gets = (0..POOL).map(|_| local.get(ServerId::random()));
            let all_ok = join_all(gets).await.iter().all(|r| matches!(r, Ok(None)));
            let _ = served_tx.send((all_ok, local.clone()));
            let _ = stop_rx.await;
        });
        drop(runtime);
    });
    let (all_ok, local) = served_rx.await.expect("the worker reports");
    assert!(all_ok, "reads on the worker's runtime");
    assert_eq!(
        store.pool_status(),
        (1 + POOL, 0),
        "the family counts the thread-local pool's connections"
    );

    stop_tx.send(()).expect("the worker is waiting");
    worker.join().expect("the worker thread");
    // The worker's runtime is gone, and its connections with it: a closed connection is
    // dropped on checkout and a new one opened on the runtime that asks (this one).
    let after = local.get(ServerId::random()).await;
    assert!(matches!(after, Ok(None)), "{after:?}");
    let (open, in_use) = store.pool_status();
    assert_eq!(in_use, 0);
    assert!(
        open >= 2,
        "the main pool and the reopened connection: {open}"
    );
    assert!(matches!(store.get(ServerId::random()).await, Ok(None)));
}
