//! Address pools synced from the catalog.

use std::sync::Arc;

use fleet_domain::error::StoreError;
use fleet_domain::ports::{PoolCidrChanged, PoolUsage};

use crate::TestedStore;
use crate::fixtures::{at, pool, pools, provision, region};

async fn usage_by_region(store: &Arc<dyn TestedStore>) -> Vec<PoolUsage> {
    let mut usage = store.pool_usage().await.expect("pool_usage");
    usage.sort_by(|a, b| a.region.cmp(&b.region));
    usage
}

/// `sync_pools` creates one empty pool per region, each with its whole CIDR free.
pub async fn sync_pools_creates_a_pool_per_region(store: Arc<dyn TestedStore>) {
    assert_eq!(
        usage_by_region(&store).await,
        vec![],
        "a fresh store has no pools"
    );
    pools(
        &store,
        &[("lab-a", "10.10.0.0/24"), ("lab-b", "10.20.0.0/30")],
    )
    .await;
    assert_eq!(
        usage_by_region(&store).await,
        vec![
            PoolUsage {
                region: "lab-a".to_owned(),
                cidr: pool("10.10.0.0/24"),
                allocated: 0,
                free: 254,
            },
            PoolUsage {
                region: "lab-b".to_owned(),
                cidr: pool("10.20.0.0/30"),
                allocated: 0,
                free: 2,
            },
        ]
    );
}

/// Syncing again changes nothing (allocations survive), and a new region gets its pool.
pub async fn sync_pools_is_idempotent_and_adds_new_regions(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let first = provision(&store, "lab-a", at(0)).await;
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    pools(
        &store,
        &[("lab-a", "10.10.0.0/24"), ("lab-b", "10.20.0.0/24")],
    )
    .await;
    let usage = usage_by_region(&store).await;
    assert_eq!(usage.len(), 2, "{usage:?}");
    assert_eq!((usage[0].allocated, usage[0].free), (1, 253), "{usage:?}");
    assert_eq!((usage[1].allocated, usage[1].free), (0, 254), "{usage:?}");
    let second = provision(&store, "lab-a", at(1)).await;
    assert_ne!(first.ip, second.ip, "re-syncing must not reset the pool");
}

/// A pool's CIDR cannot be changed by a sync: it is an error and the pool stays as it was.
pub async fn sync_pools_refuses_to_change_a_cidr(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let changed = store.sync_pools(&[region("lab-a", "10.99.0.0/24")]).await;
    assert!(
        matches!(
            &changed,
            Err(StoreError::PoolCidrChanged(PoolCidrChanged { region, stored, wanted }))
                if region == "lab-a"
                    && *stored == pool("10.10.0.0/24")
                    && *wanted == pool("10.99.0.0/24")
        ),
        "changing a pool's CIDR must be refused as such: {changed:?}"
    );
    let usage = usage_by_region(&store).await;
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0].cidr, pool("10.10.0.0/24"));
}
