//! A database that cannot be reached is `Unavailable` (a 503), never an unknown failure
//! (saturation and contention are in the conformance suite).

use std::time::Duration;

use fleet_domain::ServerId;
use fleet_domain::catalog::RegionSpec;
use fleet_domain::error::StoreError;
use fleet_domain::ports::{ProvisionStoreError, Store, StoreStatus};
use fleet_postgres::{PgPoolConfig, PgStore};

use crate::support::{self, TestDb, admin, exec};

fn quick() -> PgPoolConfig {
    PgPoolConfig {
        max_size: 2,
        wait_timeout: Duration::from_secs(2),
        create_timeout: Duration::from_secs(2),
        recycle_timeout: Duration::from_secs(2),
        check_connections: true,
        ..PgPoolConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn connecting_to_nothing_is_unavailable() {
    let result = PgStore::connect("postgres://postgres@127.0.0.1:1/postgres", quick()).await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_that_goes_away_makes_every_call_unavailable() {
    let db = TestDb::new().await;
    let store = PgStore::connect(&db.url, quick())
        .await
        .expect("connecting");
    store
        .ping()
        .await
        .expect("ping while the database is there");
    exec(
        &mut admin().await,
        &format!("DROP DATABASE \"{}\" WITH (FORCE)", db.name),
    )
    .await;
    let got = store.get(ServerId::random()).await;
    assert!(matches!(got, Err(StoreError::Unavailable(_))), "{got:?}");
    let pinged = store.ping().await;
    assert!(
        matches!(pinged, Err(StoreError::Unavailable(_))),
        "{pinged:?}"
    );
    let provisioned = store.provision(support::new_server("lab")).await;
    assert!(
        matches!(
            provisioned,
            Err(ProvisionStoreError::Store(StoreError::Unavailable(_)))
        ),
        "{provisioned:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_database_is_unavailable_not_an_unknown_failure() {
    let db = TestDb::new().await;
    db.store()
        .await
        .sync_pools(&[RegionSpec {
            name: "lab".to_owned(),
            cidr: "10.9.0.0/24".parse().expect("a CIDR"),
        }])
        .await
        .expect("creating the pool");
    // As a standby, or a primary being failed over, would be.
    exec(
        &mut admin().await,
        &format!(
            "ALTER DATABASE \"{}\" SET default_transaction_read_only = on",
            db.name
        ),
    )
    .await;
    let store = PgStore::connect(&db.url, quick())
        .await
        .expect("connecting");
    let provisioned = store.provision(support::new_server("lab")).await;
    assert!(
        matches!(
            provisioned,
            Err(ProvisionStoreError::Store(StoreError::Unavailable(_)))
        ),
        "{provisioned:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_statement_timeout_is_unavailable_not_an_unknown_failure() {
    let db = TestDb::new().await;
    exec(
        &mut admin().await,
        &format!(
            "ALTER DATABASE \"{}\" SET statement_timeout = '100ms'",
            db.name
        ),
    )
    .await;
    let store = PgStore::connect(&db.url, quick())
        .await
        .expect("connecting");
    let mut locker = support::connect(&db.url).await;
    exec(&mut locker, "BEGIN").await;
    exec(&mut locker, "LOCK TABLE servers IN ACCESS EXCLUSIVE MODE").await;
    let got = store.get(ServerId::random()).await;
    exec(&mut locker, "ROLLBACK").await;
    assert!(matches!(got, Err(StoreError::Unavailable(_))), "{got:?}");
}
