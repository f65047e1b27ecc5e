//! A database that cannot be reached is `Unavailable` (a 503), never an unknown failure.

mod support;

use std::time::Duration;

use fleet_domain::ServerId;
use fleet_domain::error::StoreError;
use fleet_domain::ports::{ProvisionStoreError, Store};
use fleet_postgres::{PgPoolConfig, PgStore};
use support::{TestDb, admin, exec};

fn quick() -> PgPoolConfig {
    PgPoolConfig {
        max_size: 2,
        wait_timeout: Duration::from_secs(2),
        create_timeout: Duration::from_secs(2),
        recycle_timeout: Duration::from_secs(2),
        check_connections: true,
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
