//! Locking across connections: two stores on one file behave as two fleetd processes would.

use std::collections::HashSet;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Waker};

use chrono::TimeDelta;
use fleet_domain::error::ProvisionError;
use fleet_domain::lifecycle;
use fleet_domain::ports::{Clock, DueWork, Store, StoreStatus};
use fleet_domain::service::ProvisionRequest;
use fleet_domain::{Caller, EventKind, PageRequest, RequestContext, ServerFilter, ServerState};
use fleet_sqlite::{SqliteLocation, SqliteStore};

use crate::common::{Fleet, config, t0, temp_db};

fn request(region: &str) -> ProvisionRequest {
    ProvisionRequest {
        region: region.to_owned(),
        server_type: "t2.micro".to_owned(),
        name: None,
        labels: Default::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_hand_out_each_address_once() {
    let (_dir, path) = temp_db();
    let replicas = [
        Arc::new(Fleet::file(&path, t0()).await),
        Arc::new(Fleet::file(&path, t0()).await),
    ];
    let mut tasks = Vec::new();
    for i in 0..200 {
        let fleet = replicas[i % 2].clone();
        let region = if i % 4 == 0 { "tiny" } else { "eu-west" };
        tasks.push(tokio::spawn(async move {
            let outcome = fleet
                .servers
                .provision(
                    &Caller::open(),
                    request(region),
                    &RequestContext::api(format!("req-{i}")),
                )
                .await;
            (region, outcome)
        }));
    }
    let mut addresses = HashSet::new();
    let (mut tiny_ok, mut tiny_exhausted) = (0, 0);
    for task in tasks {
        match task.await.expect("the task finishes") {
            (region, Ok(view)) => {
                let ip = view.server.ip.expect("a provisioned server has an address");
                assert!(addresses.insert(ip), "{ip} handed out twice");
                if region == "tiny" {
                    tiny_ok += 1;
                }
            }
            ("tiny", Err(ProvisionError::PoolExhausted(_))) => tiny_exhausted += 1,
            (region, Err(e)) => panic!("provision in {region} failed: {e}"),
        }
    }
    assert_eq!((tiny_ok, tiny_exhausted), (14, 36));
    assert_eq!(addresses.len(), 150 + 14);
    let stored = replicas[0]
        .store
        .list(
            &ServerFilter::default(),
            &PageRequest {
                limit: 1000,
                after: None,
                offset: 0,
            },
        )
        .await
        .expect("list");
    assert_eq!(
        stored.len(),
        addresses.len(),
        "no server without an address, none extra"
    );
    let pools = replicas[1].store.pool_usage().await.expect("pool usage");
    let allocated: u64 = pools.iter().map(|p| p.allocated).sum();
    assert_eq!(allocated, 164);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_never_complete_a_transition_twice() {
    let (_dir, path) = temp_db();
    let first = Arc::new(Fleet::file(&path, t0()).await);
    let second = Arc::new(Fleet::file(&path, t0()).await);
    let mut ids = Vec::new();
    for _ in 0..120 {
        ids.push(first.provision("eu-west").await.id);
    }
    first.clock.advance(TimeDelta::seconds(10));
    second.clock.advance(TimeDelta::seconds(10));
    let workers = [first.clone(), second.clone(), first.clone(), second.clone()]
        .map(|fleet| tokio::spawn(async move { fleet.engine.complete_transitions().await }));
    let mut completed = 0;
    for worker in workers {
        completed += worker
            .await
            .expect("the worker finishes")
            .expect("completions");
    }
    assert_eq!(completed, 120);
    for id in ids {
        let events = second.store.events(id, 100).await.expect("events");
        let completions = events
            .iter()
            .filter(|e| e.event.kind == EventKind::TransitionCompleted)
            .count();
        assert_eq!(completions, 1, "server {id} completed {completions} times");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_abandoned_mid_way_is_rolled_back_and_releases_the_file() {
    let (_dir, path) = temp_db();
    let fleet = Arc::new(Fleet::file(&path, t0()).await);
    let other = Fleet::file(&path, t0()).await;
    let server = fleet.provision("eu-west").await;
    let due_by = fleet.clock.now() + TimeDelta::seconds(10);

    let claimer = fleet.clone();
    let abandoned = tokio::spawn(async move {
        claimer
            .store
            .process_due(DueWork::Transitions { due_by }, 10, &|_| {
                panic!("the planner fails mid-claim")
            })
            .await
    });
    assert!(
        abandoned.await.is_err(),
        "the planner's panic ends the claim"
    );

    let second = fleet.provision("eu-west").await;
    let completed = other
        .store
        .process_due(DueWork::Transitions { due_by }, 10, &move |s| {
            lifecycle::plan_completion(s, due_by, &config())
        })
        .await
        .expect("another store can claim once the abandoned claim is gone");
    assert_eq!(completed, 2);
    for id in [server.id, second.id] {
        let after = fleet.store.get(id).await.expect("get").expect("exists");
        assert_eq!(after.state, ServerState::Running);
    }
}

#[test]
fn callers_that_give_up_on_a_single_threaded_runtime_leave_the_store_working() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let store = SqliteStore::open(SqliteLocation::Memory)
            .await
            .expect("open");
        let (filter, page) = (ServerFilter::default(), PageRequest::default());
        let mut cx = Context::from_waker(Waker::noop());
        // A call abandoned after one poll; one whose query ran whole within that poll is
        // not abandoned, so at least one must have been under way.
        let mut abandoned = 0;
        for _ in 0..20 {
            let mut call = pin!(store.list(&filter, &page));
            if call.as_mut().poll(&mut cx).is_pending() {
                abandoned += 1;
            }
        }
        assert!(abandoned > 0, "some calls were given up under way");
        assert!(store.count_by_state().await.expect("count").is_empty());
        store.ping().await.expect("ping");
    });
}

/// In WAL mode reads have connections of their own: a worker pass holding the writer (here,
/// for two seconds of planning) does not hold up a read, and the read sees the last commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_is_answered_while_a_write_holds_the_writer() {
    let (_dir, path) = temp_db();
    let fleet = Arc::new(Fleet::file(&path, t0()).await);
    let (server, pass) = hold_the_writer(&fleet).await;

    let started = std::time::Instant::now();
    let read = fleet
        .store
        .get(server.id)
        .await
        .expect("get")
        .expect("exists");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "the read waited {:?} for the writer",
        started.elapsed()
    );
    assert_eq!(read.state, ServerState::Provisioning, "the last commit");
    assert_eq!(pass.await.expect("the pass"), 1);
    let after = fleet
        .store
        .get(server.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        after.state,
        ServerState::Running,
        "the pass's commit is seen"
    );
}

/// Provisions a server and holds the store's writer with a worker pass that plans its
/// completion for two seconds; returns once the pass holds it, with the server and the
/// pass's handle (its answer: the servers it changed).
async fn hold_the_writer(
    fleet: &Arc<Fleet>,
) -> (fleet_domain::Server, tokio::task::JoinHandle<u32>) {
    let server = fleet.provision("eu-west").await;
    let due_by = fleet.clock.now() + TimeDelta::seconds(10);
    let (planning, planned) = std::sync::mpsc::channel();
    let claimer = fleet.clone();
    let pass = tokio::spawn(async move {
        let slow = move |s: &fleet_domain::Server| {
            let _ = planning.send(());
            tokio::task::block_in_place(|| std::thread::sleep(std::time::Duration::from_secs(2)));
            lifecycle::plan_completion(s, due_by, &config())
        };
        claimer
            .store
            .process_due(DueWork::Transitions { due_by }, 10, &slow)
            .await
            .expect("the pass commits")
    });
    tokio::task::spawn_blocking(move || planned.recv())
        .await
        .expect("the planning thread")
        .expect("the pass plans");
    (server, pass)
}

/// Writes queued behind the writer are committed together (one transaction, a savepoint
/// each): each caller gets its own outcome, a refused one takes nothing from the others,
/// and every address is handed out once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisionings_queued_behind_the_writer_each_get_their_own_outcome() {
    let (_dir, path) = temp_db();
    let fleet = Arc::new(Fleet::file(&path, t0()).await);
    let (_, pass) = hold_the_writer(&fleet).await;
    let queued: Vec<_> = (0..30)
        .map(|i| {
            let fleet = fleet.clone();
            tokio::spawn(async move {
                fleet
                    .servers
                    .provision(
                        &Caller::open(),
                        request("tiny"),
                        &RequestContext::api(format!("queued-{i}")),
                    )
                    .await
            })
        })
        .collect();
    assert_eq!(pass.await.expect("the pass"), 1);
    let mut addresses = HashSet::new();
    let mut exhausted = 0;
    for outcome in queued {
        match outcome.await.expect("the task finishes") {
            Ok(view) => {
                let seen = fleet
                    .store
                    .get(view.server.id)
                    .await
                    .expect("get")
                    .expect("a server answered as provisioned is stored");
                assert!(addresses.insert(seen.ip.expect("an address")));
            }
            Err(ProvisionError::PoolExhausted(_)) => exhausted += 1,
            Err(e) => panic!("a queued provisioning failed: {e}"),
        }
    }
    assert_eq!((addresses.len(), exhausted), (14, 16));
    let stored = fleet.store.count_by_state().await.expect("count");
    let total: i64 = stored.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 15, "the 14 and the first");
}

/// A write whose caller gives up while it waits for the writer is withdrawn: it is never
/// written, by this caller or by the one that commits the writes waiting after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provisioning_given_up_while_queued_is_never_written() {
    let (_dir, path) = temp_db();
    let fleet = Arc::new(Fleet::file(&path, t0()).await);
    let (_, pass) = hold_the_writer(&fleet).await;
    let given_up = tokio::time::timeout(
        std::time::Duration::from_millis(200),
        fleet.servers.provision(
            &Caller::open(),
            request("eu-west"),
            &RequestContext::api("given-up"),
        ),
    )
    .await;
    assert!(given_up.is_err(), "the provisioning waited for the writer");
    assert_eq!(pass.await.expect("the pass"), 1);
    fleet.provision("eu-west").await;
    let stored = fleet.store.count_by_state().await.expect("count");
    let total: i64 = stored.iter().map(|(_, n)| n).sum();
    assert_eq!(
        total, 2,
        "the first server and the last, not the one given up: {stored:?}"
    );
}
