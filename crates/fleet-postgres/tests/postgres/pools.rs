//! Postgres-specific pool errors: what a corrupt pool counter says (a changed CIDR is in the
//! conformance suite).

use fleet_domain::catalog::RegionSpec;
use fleet_domain::error::StoreError;
use fleet_domain::ip_pool::IpPool;
use fleet_domain::ports::{BadRow, PoolCounterError, Store, StoreStatus};

use crate::support::{self, TestDb, exec};

fn pool(cidr: &str) -> IpPool {
    cidr.parse().expect("a valid CIDR")
}

fn region(name: &str, cidr: &str) -> RegionSpec {
    RegionSpec {
        name: name.to_owned(),
        cidr: pool(cidr),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_free_list_longer_than_the_counter_is_reported_not_wrapped() {
    let db = TestDb::new().await;
    let store = db.store().await;
    store
        .sync_pools(&[region("lab", "10.10.0.0/24")])
        .await
        .expect("creating the pool");
    // Behind fleet's back: two offsets released that were never handed out.
    exec(
        &mut support::connect(&db.url).await,
        "INSERT INTO free_addresses (region, ip_offset) VALUES ('lab', 0), ('lab', 1)",
    )
    .await;
    let got = store.pool_usage().await;
    let counter = PoolCounterError {
        region: "lab".to_owned(),
        next_offset: 0,
        released: 2,
    };
    assert!(
        matches!(&got, Err(StoreError::Corrupt(BadRow { column: "ip_pools counter", value }))
            if *value == BadRow::new("", &counter).value),
        "{got:?}"
    );
}
