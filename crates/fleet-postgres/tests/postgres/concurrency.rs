//! What must hold with several replicas (separate connection pools) sharing one database.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::TimeDelta;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use fleet_domain::catalog::RegionSpec;
use fleet_domain::lifecycle::{self, LifecycleConfig};
use fleet_domain::ports::{DueWork, ProvisionStoreError, Store, StoreStatus};
use fleet_domain::{Action, RequestContext, Server};
use fleet_postgres::PgStore;
use futures::future::join_all;

use crate::support::{TestDb, count, new_server, t0};

/// Two replicas: two stores, each with its own pool, over one database.
async fn replicas(db: &TestDb, regions: &[(&str, &str)]) -> [Arc<PgStore>; 2] {
    let a: Arc<PgStore> = Arc::new(db.store().await);
    let b: Arc<PgStore> = Arc::new(db.store().await);
    let specs: Vec<RegionSpec> = regions
        .iter()
        .map(|(name, cidr)| RegionSpec {
            name: (*name).to_owned(),
            cidr: cidr.parse().expect("a valid CIDR"),
        })
        .collect();
    let (x, y) = tokio::join!(a.sync_pools(&specs), b.sync_pools(&specs));
    x.expect("sync on replica a");
    y.expect("sync on replica b");
    [a, b]
}

async fn provision_all(
    replicas: &[Arc<PgStore>; 2],
    regions: &[&str],
    n: usize,
) -> Vec<Result<Server, ProvisionStoreError>> {
    let tasks = (0..n).map(|i| {
        let store = Arc::clone(&replicas[i % 2]);
        let new = new_server(regions[(i / 2) % regions.len()]);
        tokio::spawn(async move { store.provision(new).await })
    });
    join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("the provisioning task finished"))
        .collect()
}

/// The address bookkeeping agrees with the servers: every offset handed out and not
/// released is held by exactly one live server, and every live server holds one.
async fn assert_addresses_consistent(db: &TestDb) {
    let mut conn = AsyncPgConnection::establish(&db.url)
        .await
        .expect("a connection to the test database");
    let live_without_address = count(
        &mut conn,
        "SELECT count(*) AS n FROM servers WHERE state <> 'terminated' AND ip IS NULL",
    )
    .await;
    assert_eq!(live_without_address, 0, "a live server has no address");
    let used_without_server = count(
        &mut conn,
        "SELECT count(*) AS n FROM ip_pools p, generate_series(0, p.next_offset - 1) AS o \
         WHERE NOT EXISTS (SELECT 1 FROM free_addresses f WHERE f.region = p.region AND f.ip_offset = o) \
           AND NOT EXISTS (SELECT 1 FROM servers s WHERE s.region = p.region AND s.ip_offset = o)",
    )
    .await;
    assert_eq!(used_without_server, 0, "an address is used by no server");
    let held_but_free = count(
        &mut conn,
        "SELECT count(*) AS n FROM servers s JOIN free_addresses f \
         ON f.region = s.region AND f.ip_offset = s.ip_offset",
    )
    .await;
    assert_eq!(held_but_free, 0, "a held address is on the free list");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_concurrent_provisions_through_two_pools_get_distinct_addresses() {
    let db = TestDb::new().await;
    let regions = [
        ("r-1", "10.1.0.0/24"),
        ("r-2", "10.2.0.0/24"),
        ("r-3", "10.3.0.0/24"),
        ("r-4", "10.4.0.0/24"),
    ];
    let replicas = replicas(&db, &regions).await;
    let names: Vec<&str> = regions.iter().map(|(n, _)| *n).collect();
    let results = provision_all(&replicas, &names, 500).await;
    let mut addresses = HashSet::new();
    for result in results {
        let server = result.expect("every provision succeeds");
        assert!(addresses.insert(server.ip.expect("an address")));
    }
    assert_eq!(addresses.len(), 500);
    let usage = replicas[0].pool_usage().await.expect("pool_usage");
    assert_eq!(usage.iter().map(|u| u.allocated).sum::<u64>(), 500);
    assert_addresses_consistent(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pool_of_n_gives_n_successes_and_clean_exhaustion_even_while_addresses_are_released() {
    let db = TestDb::new().await;
    let replicas = replicas(&db, &[("small", "10.9.0.0/27")]).await;
    let results = provision_all(&replicas, &["small"], 120).await;
    let mut servers = Vec::new();
    let mut exhausted = 0;
    for result in results {
        match result {
            Ok(server) => servers.push(server),
            Err(ProvisionStoreError::PoolExhausted(region)) => {
                assert_eq!(region, "small");
                exhausted += 1;
            }
            Err(other) => panic!("expected success or PoolExhausted, got {other:?}"),
        }
    }
    assert_eq!((servers.len(), exhausted), (30, 90));
    assert_addresses_consistent(&db).await;

    let config = LifecycleConfig {
        delays: lifecycle::TransitionDelays::ZERO,
        ..LifecycleConfig::default()
    };
    let released: HashSet<_> = servers[..10].iter().map(|s| s.ip).collect();
    let terminations = servers[..10].iter().enumerate().map(|(i, server)| {
        let store = Arc::clone(&replicas[i % 2]);
        let change = lifecycle::plan_action(
            server,
            Action::Terminate,
            t0() + TimeDelta::seconds(60),
            &config,
            &RequestContext::api("req-terminate"),
            &fleet_domain::Entropy::os(),
        )
        .expect("terminate is allowed")
        .expect("terminate changes the server");
        tokio::spawn(async move { store.apply(&change).await })
    });
    let provisions = provision_all(&replicas, &["small"], 25);
    let (terminated, reprovisioned) = tokio::join!(join_all(terminations), provisions);
    for result in terminated {
        result.expect("the task finished").expect("terminated");
    }
    let mut winners = 0;
    for result in reprovisioned {
        match result {
            Ok(server) => {
                winners += 1;
                assert!(
                    released.contains(&server.ip),
                    "{:?} was never released",
                    server.ip
                );
            }
            Err(ProvisionStoreError::PoolExhausted(_)) => {}
            Err(other) => panic!("expected success or PoolExhausted, got {other:?}"),
        }
    }
    assert!(winners <= 10, "{winners} servers got 10 released addresses");
    let late = provision_all(&replicas, &["small"], 15).await;
    let late_winners = late.iter().filter(|r| r.is_ok()).count();
    assert_eq!(
        winners + late_winners,
        10,
        "every released address is handed out again, once"
    );
    assert!(
        late.iter()
            .all(|r| matches!(r, Ok(_) | Err(ProvisionStoreError::PoolExhausted(_))))
    );
    let usage = replicas[1].pool_usage().await.expect("pool_usage");
    assert_eq!((usage[0].allocated, usage[0].free), (30, 0));
    assert_addresses_consistent(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_draining_due_work_together_complete_each_server_exactly_once() {
    let db = TestDb::new().await;
    let replicas = replicas(&db, &[("busy", "10.8.0.0/16")]).await;
    for result in provision_all(&replicas, &["busy"], 200).await {
        result.expect("provisioned");
    }
    let now = t0() + TimeDelta::minutes(5);
    let config = LifecycleConfig::default();
    let workers = replicas.iter().map(|store| {
        let store = Arc::clone(store);
        tokio::spawn(async move {
            let mut done = 0;
            loop {
                let changed = store
                    .process_due(DueWork::Transitions { due_by: now }, 16, &move |server| {
                        lifecycle::plan_completion(server, now, &config)
                    })
                    .await
                    .expect("process_due");
                if changed == 0 {
                    return done;
                }
                done += changed;
            }
        })
    });
    let done: u32 = join_all(workers)
        .await
        .into_iter()
        .map(|r| r.expect("the worker finished"))
        .sum();
    assert_eq!(done, 200);
    let mut conn = AsyncPgConnection::establish(&db.url)
        .await
        .expect("a connection to the test database");
    let completions = count(
        &mut conn,
        "SELECT count(*) AS n FROM events WHERE kind = 'transition_completed'",
    )
    .await;
    assert_eq!(completions, 200, "each server completed exactly once");
    let running = count(
        &mut conn,
        "SELECT count(*) AS n FROM servers WHERE state = 'running' AND generation = 1",
    )
    .await;
    assert_eq!(running, 200);
}
