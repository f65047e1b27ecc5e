//! A fleet over an embedded store, driven by a manual clock, as fleetd wires it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use fleet_domain::catalog::{Catalog, RegionSpec, ServerTypeSpec};
use fleet_domain::ports::Store;
use fleet_domain::service::{Engine, ManualClock, ProvisionRequest, ServerService};
use fleet_domain::{Caller, LifecycleConfig, RequestContext, Server, TransitionDelays};
use fleet_sqlite::{SqliteLocation, SqliteStore};

/// 2026-01-01T00:00:00Z.
pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).expect("a valid timestamp")
}

/// Two regions: a roomy one and one of 14 addresses.
pub fn catalog() -> Arc<Catalog> {
    let region = |name: &str, cidr: &str| RegionSpec {
        name: name.to_owned(),
        cidr: cidr.parse().expect("a valid CIDR"),
    };
    Arc::new(
        Catalog::new(
            vec![
                region("eu-west", "10.1.0.0/24"),
                region("tiny", "10.2.0.0/28"),
            ],
            vec![ServerTypeSpec {
                name: "t2.micro".to_owned(),
                vcpus: 1,
                memory_mib: 1024,
                hourly_price_micros: 11_600,
                billing: None,
            }],
        )
        .expect("a valid catalog"),
    )
}

/// 10 s to provision, 5 s for the rest, billing every minute.
pub fn config() -> LifecycleConfig {
    let five = TimeDelta::seconds(5);
    LifecycleConfig {
        delays: TransitionDelays {
            provisioning: TimeDelta::seconds(10),
            starting: five,
            stopping: five,
            rebooting: five,
            terminating: five,
        },
        billing_period: TimeDelta::seconds(60),
        idle_timeout: TimeDelta::minutes(30),
    }
}

/// A database file in a fresh temporary directory, removed with the guard.
pub fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("fleet.db");
    (dir, path)
}

/// The services over one store.
pub struct Fleet {
    pub store: Arc<SqliteStore>,
    pub clock: Arc<ManualClock>,
    pub servers: ServerService,
    pub engine: Engine,
}

impl Fleet {
    /// Opens the store at `location` and syncs its pools, with the clock at `now`.
    pub async fn open(location: SqliteLocation, now: DateTime<Utc>) -> Fleet {
        let store = Arc::new(SqliteStore::open(location).await.expect("the store opens"));
        let catalog = catalog();
        store
            .sync_pools(catalog.regions())
            .await
            .expect("pools sync");
        let clock = Arc::new(ManualClock::new(now));
        Fleet {
            servers: ServerService::new(store.clone(), clock.clone(), catalog, config()),
            engine: Engine::new(store.clone(), clock.clone(), config(), 50),
            store,
            clock,
        }
    }

    /// Opens the database file at `path`.
    pub async fn file(path: &Path, now: DateTime<Utc>) -> Fleet {
        Fleet::open(SqliteLocation::File(path.to_owned()), now).await
    }

    /// Provisions a t2.micro in `region`.
    pub async fn provision(&self, region: &str) -> Server {
        self.servers
            .provision(
                &Caller::open(),
                ProvisionRequest {
                    region: region.to_owned(),
                    server_type: "t2.micro".to_owned(),
                    name: None,
                    labels: Default::default(),
                },
                &RequestContext::api("req-test"),
            )
            .await
            .expect("provision")
            .server
    }

    /// Moves time forward, doing the background work that falls due on the way.
    pub async fn advance(&self, delta: TimeDelta) {
        self.engine
            .advance(&self.clock, delta)
            .await
            .expect("the engine runs");
    }
}
