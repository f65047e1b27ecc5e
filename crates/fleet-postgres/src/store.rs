//! The store: a deadpool of `AsyncPgConnection`s and the `Store`, `StoreStatus` and
//! `TenancyStore` ports over it (the event log and the action records: `event_store`).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::ops::RangeInclusive;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use anyhow::anyhow;
use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::result::{ConnectionError, ConnectionResult};
use diesel::sql_types::Text;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use fleet_domain::billing::LedgerEntry;
use fleet_domain::catalog::RegionSpec;
use fleet_domain::error::StoreError;
use fleet_domain::event::Event;
use fleet_domain::keys::StoredSecret;
use fleet_domain::page::LedgerCursor;
use fleet_domain::ports::{
    Applied, CostRate, DueWork, EarliestDue, Planner, PoolUsage, ProjectDeletion,
    ProjectStoreError, ProvisionStoreError, Store, StoreStatus, StoredKey, TenancyStore,
};
use fleet_domain::project_update::ProjectUpdate;
use fleet_domain::quota::{ProjectQuotas, Quotas};
use fleet_domain::tenancy::{ApiKey, Project};
use fleet_domain::{
    IpPool, KeyId, NewServer, PageRequest, ProjectId, Server, ServerFilter, ServerId, ServerState,
    ServerTally, StateChange,
};
use tokio::runtime::Handle;

use crate::config::PgPoolConfig;
use crate::errors::{self, TxError};
use crate::feed::{EventFeed, FeedReport, Horizon};
use crate::sequencer::{self, Pass};
use crate::{due, migrate, pools, provision, quotas, reads, tenancy, writes};

/// The Postgres store. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool<AsyncPgConnection>,
    shared: Arc<Shared>,
}

/// A pool known to [`PgStore::pool_status`] without keeping it alive.
type WeakPool = deadpool::managed::WeakPool<AsyncDieselConnectionManager<AsyncPgConnection>>;

/// What a store and the stores made from it with [`PgStore::thread_local_pool`] share.
struct Shared {
    url: String,
    config: PgPoolConfig,
    schema_version: String,
    /// Every pool of the family still in use, for [`PgStore::pool_status`].
    pools: Mutex<Vec<WeakPool>>,
    /// The pools of the regions provisioned in so far: a pool's CIDR never changes once
    /// stored (`sync_pools` refuses to), so it is read once.
    region_pools: RwLock<HashMap<String, IpPool>>,
    /// How far the event sequence goes, as this process knows, and what wakes its sequencer.
    horizon: Horizon,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (size, in_use) = self.pool_status();
        f.debug_struct("PgStore")
            .field("pool_size", &size)
            .field("in_use", &in_use)
            .field("schema_version", &self.shared.schema_version)
            .finish_non_exhaustive()
    }
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    version: Option<String>,
}

impl PgStore {
    /// Builds the pool for `url` and checks that one connection can be opened.
    ///
    /// Every connection of the pool is opened on the tokio runtime `connect` is called on,
    /// whichever runtime later asks the pool for it: a connection's socket and the task that
    /// drives it live there, so they outlast the short-lived runtime of a caller (an HTTP
    /// worker's current-thread runtime, stopped at shutdown while the engine still runs).
    /// Call it on the runtime that outlives the store.
    ///
    /// An unreachable database is `StoreError::Unavailable`.
    pub async fn connect(url: &str, config: PgPoolConfig) -> Result<PgStore, StoreError> {
        let runtime = Handle::try_current().map_err(|e| {
            StoreError::Unknown(anyhow!("the store must be opened on a tokio runtime: {e}"))
        })?;
        let pool = build_pool(url, &config, config.max_size, Some(runtime))?;
        let schema_version = migrate::known_versions()
            .map_err(StoreError::Unknown)?
            .pop()
            .unwrap_or_default();
        let store = PgStore {
            pool: pool.clone(),
            shared: Arc::new(Shared {
                url: url.to_owned(),
                config,
                schema_version,
                pools: Mutex::new(vec![pool.weak()]),
                region_pools: RwLock::new(HashMap::new()),
                horizon: Horizon::default(),
            }),
        };
        drop(store.conn().await?);
        Ok(store)
    }

    /// A store over the same database with a pool of its own, of at most `max_size`
    /// connections, each opened on the runtime of the task that first needs it.
    ///
    /// For the tasks of one current-thread runtime, such as an HTTP worker's: their queries
    /// then never leave that thread (through the pool of [`PgStore::connect`], each query
    /// wakes the store's runtime and is woken back). The connections end with that runtime.
    pub fn thread_local_pool(&self, max_size: usize) -> Result<PgStore, StoreError> {
        let pool = build_pool(&self.shared.url, &self.shared.config, max_size, None)?;
        self.shared
            .pools
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(pool.weak());
        Ok(PgStore {
            pool,
            shared: self.shared.clone(),
        })
    }

    /// Applies the embedded migrations that the database lacks, refusing a database
    /// migrated by a newer fleet ([`StoreError::SchemaAhead`]). Replicas starting together
    /// migrate one at a time.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let url = self.shared.url.clone();
        tokio::task::spawn_blocking(move || migrate::run(&url))
            .await
            .map_err(|e| StoreError::Unknown(anyhow!("the migration task failed: {e}")))?
    }

    /// The connections open and in use, over every pool of this store and of the stores
    /// made from it that are still in use (a dropped store's pool is forgotten).
    pub fn pool_status(&self) -> (usize, usize) {
        let mut pools = self
            .shared
            .pools
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (mut size, mut in_use) = (0, 0);
        pools.retain(|pool| {
            let Some(pool) = pool.upgrade() else {
                return false;
            };
            let status = pool.status();
            size += status.size;
            in_use += status.size.saturating_sub(status.available);
            true
        });
        (size, in_use)
    }

    /// Starts this process's [`EventFeed`] on the current runtime (the one that outlives the
    /// store, as for [`PgStore::connect`]): the sequencer that numbers committed events, and
    /// the listener that learns every horizon a sequencer notifies. Start one per process,
    /// for any of the stores made from one `connect`; without one running, events stay
    /// unsequenced and `wait_beyond` waits out its patience. Failures go to `report`, and
    /// the tasks try again.
    pub fn start_event_feed(&self, report: FeedReport) -> EventFeed {
        EventFeed::start(self.clone(), self.shared.url.clone(), report)
    }

    /// The process's horizon, shared by every store made from one `connect`.
    pub(crate) fn horizon_watch(&self) -> &Horizon {
        &self.shared.horizon
    }

    /// Runs one sequencer pass.
    pub(crate) async fn sequence_once(&self) -> Result<Pass, StoreError> {
        let mut conn = self.conn().await?;
        Ok(sequencer::pass(&mut conn).await?)
    }

    /// Wakes the process's sequencer after a commit that appended events.
    pub(crate) fn events_committed(&self) {
        self.shared.horizon.events_committed();
    }

    pub(crate) async fn conn(&self) -> Result<Object<AsyncPgConnection>, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| errors::pool(e, self.shared.config.wait_timeout))
    }

    /// The pool of `region`, read from the database the first time.
    async fn region_pool(
        &self,
        conn: &mut AsyncPgConnection,
        region: &str,
    ) -> Result<IpPool, TxError> {
        let known = self
            .shared
            .region_pools
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(region)
            .copied();
        if let Some(pool) = known {
            return Ok(pool);
        }
        let pool = pools::find(conn, region)
            .await?
            .ok_or_else(|| TxError::Provision(ProvisionStoreError::NoPool(region.to_owned())))?;
        self.shared
            .region_pools
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(region.to_owned(), pool);
        Ok(pool)
    }
}

/// A pool of at most `max_size` connections to `url`, opened on `runtime` if given, else on
/// the runtime of the task that needs one.
fn build_pool(
    url: &str,
    config: &PgPoolConfig,
    max_size: usize,
    runtime: Option<Handle>,
) -> Result<Pool<AsyncPgConnection>, StoreError> {
    let mut manager_config = ManagerConfig::default();
    let lock_timeout = config.lock_timeout;
    manager_config.custom_setup =
        Box::new(move |url| establish_on(runtime.as_ref(), url, lock_timeout));
    manager_config.recycling_method = if config.check_connections {
        RecyclingMethod::Verified
    } else {
        RecyclingMethod::Fast
    };
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, manager_config);
    Pool::builder(manager)
        .max_size(max_size.max(1))
        .wait_timeout(Some(config.wait_timeout))
        .create_timeout(Some(config.create_timeout))
        .recycle_timeout(Some(config.recycle_timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| StoreError::Unknown(anyhow!("building the connection pool: {e}")))
}

/// Opens a connection whose statements wait at most `lock_timeout` for a lock another
/// transaction holds (then fail as `Contended`, rather than queue without end). On
/// `runtime` if given, so that its socket is registered with that runtime and the task
/// diesel-async spawns to drive it runs there, not on the caller's runtime.
fn establish_on(
    runtime: Option<&Handle>,
    url: &str,
    lock_timeout: Duration,
) -> Pin<Box<dyn Future<Output = ConnectionResult<AsyncPgConnection>> + Send>> {
    let url = url.to_owned();
    let establish = async move {
        let mut conn = AsyncPgConnection::establish(&url).await?;
        conn.batch_execute(&format!(
            "SET lock_timeout = {}",
            lock_timeout.as_millis().max(1)
        ))
        .await
        .map_err(|e| ConnectionError::BadConnection(format!("setting lock_timeout: {e}")))?;
        Ok(conn)
    };
    let Some(runtime) = runtime else {
        return Box::pin(establish);
    };
    let task = runtime.spawn(establish);
    Box::pin(async move {
        task.await.unwrap_or_else(|e| {
            Err(ConnectionError::BadConnection(format!(
                "the task opening the connection did not finish: {e}"
            )))
        })
    })
}

#[async_trait::async_trait]
impl Store for PgStore {
    async fn sync_pools(&self, regions: &[RegionSpec]) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        conn.transaction::<_, TxError, _>(async |conn| pools::sync(conn, regions).await)
            .await
            .map_err(StoreError::from)
    }

    async fn provision(&self, new: NewServer) -> Result<Server, ProvisionStoreError> {
        let mut conn = self.conn().await?;
        let pool = self.region_pool(&mut conn, &new.server.region).await?;
        let server = provision::provision(&mut conn, pool, &new).await?;
        self.shared.horizon.events_committed();
        Ok(server)
    }

    async fn get(&self, id: ServerId) -> Result<Option<Server>, StoreError> {
        let mut conn = self.conn().await?;
        Ok(reads::get(&mut conn, id).await?)
    }

    async fn first_in_id_range(
        &self,
        ids: RangeInclusive<ServerId>,
    ) -> Result<Option<Server>, StoreError> {
        let mut conn = self.conn().await?;
        Ok(reads::first_in_id_range(&mut conn, ids).await?)
    }

    async fn list(
        &self,
        filter: &ServerFilter,
        page: &PageRequest,
    ) -> Result<Vec<Server>, StoreError> {
        let mut conn = self.conn().await?;
        Ok(reads::list(&mut conn, filter, page).await?)
    }

    async fn count(&self, filter: &ServerFilter) -> Result<u64, StoreError> {
        let mut conn = self.conn().await?;
        Ok(reads::count(&mut conn, filter).await?)
    }

    async fn tally(&self, filter: &ServerFilter) -> Result<Vec<ServerTally>, StoreError> {
        let mut conn = self.conn().await?;
        Ok(reads::tally(&mut conn, filter).await?)
    }

    async fn apply(&self, change: &StateChange) -> Result<Applied, StoreError> {
        let mut conn = self.conn().await?;
        let applied = conn
            .transaction::<_, TxError, _>(async |conn| writes::apply(conn, change).await)
            .await?;
        if matches!(applied, Applied::Done(_)) && !change.events.is_empty() {
            self.shared.horizon.events_committed();
        }
        Ok(applied)
    }

    async fn events(&self, id: ServerId, limit: u32) -> Result<Vec<Event>, StoreError> {
        let mut conn = self.conn().await?;
        Ok(reads::events(&mut conn, id, limit).await?)
    }

    async fn usage(
        &self,
        id: ServerId,
        after: Option<LedgerCursor>,
        limit: u32,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let mut conn = self.conn().await?;
        Ok(reads::usage(&mut conn, id, after, limit).await?)
    }

    async fn prune_usage(
        &self,
        ended_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u32, StoreError> {
        let mut conn = self.conn().await?;
        Ok(reads::prune_usage(&mut conn, ended_before, limit).await?)
    }

    async fn process_due(
        &self,
        work: DueWork,
        limit: u32,
        plan: &Planner,
    ) -> Result<u32, StoreError> {
        let mut conn = self.conn().await?;
        let limit = i64::from(limit);
        let changed = conn
            .transaction::<_, TxError, _>(async |conn| due::process(conn, work, limit, plan).await)
            .await?;
        if changed > 0 {
            self.shared.horizon.events_committed();
        }
        Ok(changed)
    }

    async fn earliest_due(&self) -> Result<EarliestDue, StoreError> {
        let mut conn = self.conn().await?;
        Ok(due::earliest(&mut conn).await?)
    }
}

#[async_trait::async_trait]
impl StoreStatus for PgStore {
    /// A database without the migrations table (never migrated) is `SchemaBehind`.
    async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let applied = diesel::sql_query(
            "SELECT CASE WHEN to_regclass('__diesel_schema_migrations') IS NULL THEN NULL \
             ELSE (SELECT max(version) FROM __diesel_schema_migrations) END AS version",
        )
        .get_result::<Version>(&mut conn)
        .await
        .map_err(errors::db)?;
        migrate::compare(applied.version, &self.shared.schema_version)
    }

    async fn pool_usage(&self) -> Result<Vec<PoolUsage>, StoreError> {
        let mut conn = self.conn().await?;
        Ok(pools::usage(&mut conn).await?)
    }

    async fn count_by_state(&self) -> Result<Vec<(ServerState, i64)>, StoreError> {
        let mut conn = self.conn().await?;
        Ok(reads::count_by_state(&mut conn).await?)
    }

    async fn cost_rates(&self) -> Result<Vec<CostRate>, StoreError> {
        let mut conn = self.conn().await?;
        Ok(crate::costs::rates(&mut conn).await?)
    }
}

#[async_trait::async_trait]
impl TenancyStore for PgStore {
    async fn create_project(
        &self,
        project: &Project,
        quotas: &Quotas,
    ) -> Result<(), ProjectStoreError> {
        let mut conn = self.conn().await?;
        Ok(conn
            .transaction::<_, TxError, _>(async |conn| {
                tenancy::create_project(conn, project).await?;
                if !quotas.is_unlimited() {
                    quotas::set(conn, project.id, quotas).await?;
                }
                Ok(())
            })
            .await?)
    }

    async fn project(&self, id: ProjectId) -> Result<Option<Project>, StoreError> {
        let mut conn = self.conn().await?;
        Ok(tenancy::project(&mut conn, id).await?)
    }

    async fn project_named(&self, name: &str) -> Result<Option<Project>, StoreError> {
        let mut conn = self.conn().await?;
        Ok(tenancy::project_named(&mut conn, name).await?)
    }

    async fn projects(&self) -> Result<Vec<Project>, StoreError> {
        let mut conn = self.conn().await?;
        Ok(tenancy::projects(&mut conn).await?)
    }

    async fn update_project(
        &self,
        id: ProjectId,
        update: &ProjectUpdate,
    ) -> Result<Option<Project>, ProjectStoreError> {
        let mut conn = self.conn().await?;
        Ok(tenancy::update_project(&mut conn, id, update).await?)
    }

    async fn delete_project(&self, id: ProjectId) -> Result<ProjectDeletion, StoreError> {
        let mut conn = self.conn().await?;
        conn.transaction::<_, TxError, _>(async |conn| tenancy::delete_project(conn, id).await)
            .await
            .map_err(StoreError::from)
    }

    async fn create_key(&self, key: &ApiKey, secret: &StoredSecret) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        Ok(tenancy::create_key(&mut conn, key, secret).await?)
    }

    async fn keys(&self, project: ProjectId) -> Result<Vec<ApiKey>, StoreError> {
        let mut conn = self.conn().await?;
        Ok(tenancy::keys(&mut conn, project).await?)
    }

    async fn key_with_hash(&self, id: KeyId) -> Result<Option<StoredKey>, StoreError> {
        let mut conn = self.conn().await?;
        Ok(tenancy::key_with_hash(&mut conn, id).await?)
    }

    async fn revoke_key(&self, id: KeyId, at: DateTime<Utc>) -> Result<Option<ApiKey>, StoreError> {
        let mut conn = self.conn().await?;
        Ok(tenancy::revoke_key(&mut conn, id, at).await?)
    }

    async fn seal_key(&self, id: KeyId, sealed: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn().await?;
        Ok(tenancy::seal_key(&mut conn, id, sealed).await?)
    }

    async fn mark_keys_used(&self, ids: &[KeyId], at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        Ok(tenancy::mark_keys_used(&mut conn, ids, at).await?)
    }

    async fn project_quotas(&self, id: ProjectId) -> Result<Option<ProjectQuotas>, StoreError> {
        let mut conn = self.conn().await?;
        Ok(quotas::read(&mut conn, id).await?)
    }

    async fn set_project_quotas(
        &self,
        id: ProjectId,
        limits: &Quotas,
    ) -> Result<Option<ProjectQuotas>, StoreError> {
        let mut conn = self.conn().await?;
        conn.transaction::<_, TxError, _>(async |conn| quotas::set(conn, id, limits).await)
            .await
            .map_err(StoreError::from)
    }
}
