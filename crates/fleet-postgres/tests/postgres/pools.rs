//! Postgres-specific pool errors: what a refused CIDR change and a corrupt pool counter say.

use fleet_domain::catalog::RegionSpec;
use fleet_domain::error::StoreError;
use fleet_domain::ip_pool::IpPool;
use fleet_domain::ports::{PoolCidrChanged, PoolCounterError, Store};

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
async fn a_changed_cidr_is_refused_with_the_domain_s_refusal() {
    let db = TestDb::new().await;
    let store = db.store().await;
    store
        .sync_pools(&[region("lab", "10.10.0.0/24")])
        .await
        .expect("creating the pool");
    let refused = store
        .sync_pools(&[region("lab", "10.99.0.0/24")])
        .await
        .expect_err("a changed CIDR");
    let StoreError::Unknown(error) = refused else {
        panic!("{refused:?}");
    };
    assert_eq!(
        error.downcast_ref::<PoolCidrChanged>(),
        Some(&PoolCidrChanged {
            region: "lab".to_owned(),
            stored: pool("10.10.0.0/24"),
            wanted: pool("10.99.0.0/24"),
        }),
        "{error:#}"
    );
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
        "INSERT INTO ip_free (region, ip_offset) VALUES ('lab', 0), ('lab', 1)",
    )
    .await;
    let got = store.pool_usage().await;
    let Err(StoreError::Unknown(error)) = got else {
        panic!("{got:?}");
    };
    let counter = error
        .chain()
        .find_map(|e| e.downcast_ref::<PoolCounterError>())
        .unwrap_or_else(|| panic!("no PoolCounterError in {error:#}"));
    assert_eq!(
        counter,
        &PoolCounterError {
            region: "lab".to_owned(),
            next_offset: 0,
            released: 2,
        }
    );
}
