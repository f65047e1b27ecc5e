//! `SqliteStore`: opening the database and the store ports over it (the event log and the
//! action records: `event_store`).

use std::ops::RangeInclusive;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use fleet_domain::StateChange;
use fleet_domain::billing::LedgerEntry;
use fleet_domain::catalog::RegionSpec;
use fleet_domain::costs::{GroupKey, HourlyCost};
use fleet_domain::error::StoreError;
use fleet_domain::event::Event;
use fleet_domain::ids::{KeyId, ProjectId, ServerId};
use fleet_domain::keys::StoredSecret;
use fleet_domain::page::{LedgerCursor, PageRequest};
use fleet_domain::ports::{
    Applied, CostRate, CostStore, DueWork, EarliestDue, Planner, PoolUsage, ProjectDeletion,
    ProjectStoreError, ProvisionStoreError, Store, StoreStatus, StoredKey, TenancyStore,
};
use fleet_domain::project_update::ProjectUpdate;
use fleet_domain::quota::{ProjectQuotas, Quotas};
use fleet_domain::server::{NewServer, Server, ServerFilter, ServerTally};
use fleet_domain::state::ServerState;
use fleet_domain::tenancy::{ApiKey, Project};

use crate::db::{Db, roll_back_leftovers};
use crate::errors::TxError;
use crate::horizon::Horizon;
use crate::location::SqliteLocation;
use crate::open::SqliteOptions;
use crate::ops::{changes, costs, due, listing, pools, quotas, reads, sequence, tenancy};
use crate::readers::Readers;
use crate::{migrate, open};

/// The embedded store: one SQLite database, file or memory, behind the domain's store ports.
#[derive(Clone)]
pub struct SqliteStore {
    db: Db,
    location: SqliteLocation,
    horizon: Arc<Horizon>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the database at `location` with the default [`SqliteOptions`].
    pub async fn open(location: SqliteLocation) -> Result<SqliteStore, StoreError> {
        Self::open_with(location, SqliteOptions::default()).await
    }

    /// Opens (creating if missing) the database at `location`, in WAL mode with a busy
    /// timeout and foreign keys on, and applies the migrations it lacks.
    ///
    /// A database written by a newer fleet is [`StoreError::SchemaAhead`]. Call inside a
    /// tokio runtime.
    pub async fn open_with(
        location: SqliteLocation,
        options: SqliteOptions,
    ) -> Result<SqliteStore, StoreError> {
        let target = location.clone();
        let wait_timeout = options.wait_timeout;
        let readers = match &location {
            SqliteLocation::File(path) => {
                Some(Readers::new(open::file_path(path)?, options.clone()))
            }
            SqliteLocation::Memory => None,
        };
        let conn = tokio::task::spawn_blocking(move || open::connect(&target, &options))
            .await
            .map_err(|e| {
                StoreError::Unknown(anyhow::anyhow!("opening the database failed: {e}"))
            })??;
        let store = SqliteStore {
            db: Db::new(conn, readers, wait_timeout),
            location,
            horizon: Arc::new(Horizon::default()),
        };
        let latest = store.run(sequence::horizon).await?.latest;
        store.horizon.reached(latest);
        Ok(store)
    }

    /// The horizon this process's writes moved, where `wait_beyond` waits.
    pub(crate) fn horizon_watch(&self) -> &Horizon {
        &self.horizon
    }

    /// Where the database is.
    pub fn location(&self) -> &SqliteLocation {
        &self.location
    }

    /// Runs a write transaction, committed with the other writes waiting (`Db::write`).
    pub(crate) async fn write<R: Send + 'static>(
        &self,
        task: impl FnOnce(&mut diesel::SqliteConnection) -> Result<R, TxError> + Send + 'static,
    ) -> Result<R, StoreError> {
        self.db.write(task).await.map_err(StoreError::from)
    }

    /// Runs work on the writer as it is, outside any transaction of its own.
    pub(crate) async fn run<R: Send + 'static>(
        &self,
        task: impl FnOnce(&mut diesel::SqliteConnection) -> Result<R, TxError> + Send + 'static,
    ) -> Result<R, StoreError> {
        self.db.run(task).await.map_err(StoreError::from)
    }

    /// Runs a point read (rows by their key) on a reader, on the caller's thread.
    pub(crate) async fn read<R: Send + 'static>(
        &self,
        task: impl FnOnce(&mut diesel::SqliteConnection) -> Result<R, TxError> + Send + 'static,
    ) -> Result<R, StoreError> {
        self.db.read(task).await.map_err(StoreError::from)
    }

    /// Runs a read that may scan many rows on a reader, on a blocking thread.
    pub(crate) async fn scan<R: Send + 'static>(
        &self,
        task: impl FnOnce(&mut diesel::SqliteConnection) -> Result<R, TxError> + Send + 'static,
    ) -> Result<R, StoreError> {
        self.db.scan(task).await.map_err(StoreError::from)
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn sync_pools(&self, regions: &[RegionSpec]) -> Result<(), StoreError> {
        let regions = regions.to_vec();
        self.write(move |conn| pools::sync(conn, &regions)).await
    }

    async fn provision(&self, new: NewServer) -> Result<Server, ProvisionStoreError> {
        let (server, seq) = self
            .db
            .write(move |conn| changes::provision(conn, &new))
            .await
            .map_err(ProvisionStoreError::from)?;
        self.horizon.reached(seq);
        Ok(server)
    }

    async fn get(&self, id: ServerId) -> Result<Option<Server>, StoreError> {
        self.read(move |conn| reads::get(conn, id)).await
    }

    async fn first_in_id_range(
        &self,
        ids: RangeInclusive<ServerId>,
    ) -> Result<Option<Server>, StoreError> {
        self.read(move |conn| reads::first_in_id_range(conn, ids))
            .await
    }

    async fn list(
        &self,
        filter: &ServerFilter,
        page: &PageRequest,
    ) -> Result<Vec<Server>, StoreError> {
        let (filter, page) = (filter.clone(), *page);
        self.scan(move |conn| listing::list(conn, &filter, &page))
            .await
    }

    async fn count(&self, filter: &ServerFilter) -> Result<u64, StoreError> {
        let filter = filter.clone();
        self.scan(move |conn| listing::count(conn, &filter)).await
    }

    async fn tally(&self, filter: &ServerFilter) -> Result<Vec<ServerTally>, StoreError> {
        let filter = filter.clone();
        self.scan(move |conn| listing::tally(conn, &filter)).await
    }

    async fn apply(&self, change: &StateChange) -> Result<Applied, StoreError> {
        let change = change.clone();
        let (applied, latest) = self
            .write(move |conn| {
                let id = change.server.id;
                if let Some(exceeded) = changes::exceeds_quota(conn, &change)? {
                    return Ok((Applied::QuotaExceeded(exceeded), None));
                }
                let written = changes::apply_all(conn, std::slice::from_ref(&change))?;
                let applied = match written.servers.into_iter().next().flatten() {
                    Some(server) => Applied::Done(Box::new(server)),
                    None if reads::exists(conn, id)? => Applied::Stale,
                    None => Applied::Missing,
                };
                Ok((applied, written.latest))
            })
            .await?;
        if let Some(latest) = latest {
            self.horizon.reached(latest);
        }
        Ok(applied)
    }

    async fn events(&self, id: ServerId, limit: u32) -> Result<Vec<Event>, StoreError> {
        self.read(move |conn| reads::events(conn, id, limit)).await
    }

    async fn usage(
        &self,
        id: ServerId,
        after: Option<LedgerCursor>,
        limit: u32,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        self.read(move |conn| reads::usage(conn, id, after, limit))
            .await
    }

    async fn prune_usage(
        &self,
        ended_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<u32, StoreError> {
        self.run(move |conn| reads::prune_usage(conn, ended_before, limit))
            .await
    }

    /// The claim is a `BEGIN IMMEDIATE` transaction held from reading the due servers to
    /// committing their changes: no other writer, in this process or another, runs meanwhile.
    async fn process_due(
        &self,
        work: DueWork,
        limit: u32,
        plan: &Planner,
    ) -> Result<u32, StoreError> {
        let mut session = self.db.session().await?;
        let due = session
            .run(move |conn| {
                roll_back_leftovers(conn)?;
                AnsiTransactionManager::begin_transaction_sql(conn, "BEGIN IMMEDIATE")?;
                due::load(conn, work, limit).inspect_err(|_| {
                    let _ = AnsiTransactionManager::rollback_transaction(conn);
                })
            })
            .await?;
        let planned: Vec<StateChange> = due.iter().filter_map(plan).collect();
        let applied = session
            .run(move |conn| match changes::apply_all(conn, &planned) {
                Ok(applied) => {
                    AnsiTransactionManager::commit_transaction(conn)?;
                    Ok(applied)
                }
                Err(e) => {
                    let _ = AnsiTransactionManager::rollback_transaction(conn);
                    Err(e)
                }
            })
            .await?;
        if let Some(latest) = applied.latest {
            self.horizon.reached(latest);
        }
        let changed = applied.servers.iter().flatten().count();
        Ok(u32::try_from(changed).unwrap_or(u32::MAX))
    }

    async fn earliest_due(&self) -> Result<EarliestDue, StoreError> {
        self.read(due::earliest).await
    }
}

#[async_trait::async_trait]
impl CostStore for SqliteStore {
    async fn hourly_costs(
        &self,
        project: Option<ProjectId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        group_by: &[GroupKey],
    ) -> Result<Vec<HourlyCost>, StoreError> {
        let group_by = group_by.to_vec();
        self.scan(move |conn| costs::hourly(conn, project, from, to, &group_by))
            .await
    }

    async fn open_billing(
        &self,
        project: Option<ProjectId>,
        before: Option<DateTime<Utc>>,
    ) -> Result<Vec<Server>, StoreError> {
        self.scan(move |conn| costs::open_billing(conn, project, before))
            .await
    }
}

#[async_trait::async_trait]
impl StoreStatus for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.run(|conn| {
            conn.batch_execute("SELECT 1")?;
            migrate::check(conn)
        })
        .await
    }

    async fn pool_usage(&self) -> Result<Vec<PoolUsage>, StoreError> {
        self.scan(pools::usage).await
    }

    async fn count_by_state(&self) -> Result<Vec<(ServerState, i64)>, StoreError> {
        self.scan(reads::count_by_state).await
    }

    async fn cost_rates(&self) -> Result<Vec<CostRate>, StoreError> {
        self.scan(costs::rates).await
    }
}

#[async_trait::async_trait]
impl TenancyStore for SqliteStore {
    async fn create_project(
        &self,
        project: &Project,
        quotas: &Quotas,
    ) -> Result<(), ProjectStoreError> {
        let (project, quotas) = (project.clone(), *quotas);
        self.db
            .write(move |conn| {
                tenancy::create_project(conn, &project)?;
                if !quotas.is_unlimited() {
                    quotas::set(conn, project.id, &quotas)?;
                }
                Ok(())
            })
            .await
            .map_err(ProjectStoreError::from)
    }

    async fn project(&self, id: ProjectId) -> Result<Option<Project>, StoreError> {
        self.read(move |conn| tenancy::project(conn, id)).await
    }

    async fn project_named(&self, name: &str) -> Result<Option<Project>, StoreError> {
        let name = name.to_owned();
        self.read(move |conn| tenancy::project_named(conn, &name))
            .await
    }

    async fn projects(&self) -> Result<Vec<Project>, StoreError> {
        self.scan(tenancy::projects).await
    }

    async fn update_project(
        &self,
        id: ProjectId,
        update: &ProjectUpdate,
    ) -> Result<Option<Project>, ProjectStoreError> {
        let update = update.clone();
        self.db
            .write(move |conn| tenancy::update_project(conn, id, &update))
            .await
            .map_err(ProjectStoreError::from)
    }

    async fn delete_project(&self, id: ProjectId) -> Result<ProjectDeletion, StoreError> {
        self.write(move |conn| tenancy::delete_project(conn, id))
            .await
    }

    async fn create_key(&self, key: &ApiKey, secret: &StoredSecret) -> Result<(), StoreError> {
        let (key, secret) = (key.clone(), secret.clone());
        self.run(move |conn| tenancy::create_key(conn, &key, &secret))
            .await
    }

    async fn keys(&self, project: ProjectId) -> Result<Vec<ApiKey>, StoreError> {
        self.read(move |conn| tenancy::keys(conn, project)).await
    }

    async fn key_with_hash(&self, id: KeyId) -> Result<Option<StoredKey>, StoreError> {
        self.read(move |conn| tenancy::key_with_hash(conn, id))
            .await
    }

    async fn revoke_key(&self, id: KeyId, at: DateTime<Utc>) -> Result<Option<ApiKey>, StoreError> {
        self.run(move |conn| tenancy::revoke_key(conn, id, at))
            .await
    }

    async fn project_quotas(&self, id: ProjectId) -> Result<Option<ProjectQuotas>, StoreError> {
        self.read(move |conn| quotas::read(conn, id)).await
    }

    async fn set_project_quotas(
        &self,
        id: ProjectId,
        limits: &Quotas,
    ) -> Result<Option<ProjectQuotas>, StoreError> {
        let limits = *limits;
        self.write(move |conn| quotas::set(conn, id, &limits)).await
    }

    async fn seal_key(&self, id: KeyId, sealed: &str) -> Result<bool, StoreError> {
        let sealed = sealed.to_owned();
        self.run(move |conn| tenancy::seal_key(conn, id, &sealed))
            .await
    }

    async fn mark_keys_used(&self, ids: &[KeyId], at: DateTime<Utc>) -> Result<(), StoreError> {
        let ids = ids.to_vec();
        self.run(move |conn| tenancy::mark_keys_used(conn, &ids, at))
            .await
    }
}
