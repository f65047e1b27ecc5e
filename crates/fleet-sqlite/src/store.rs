//! `SqliteStore`: opening the database and the `Store` port over it.

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use fleet_domain::catalog::RegionSpec;
use fleet_domain::error::StoreError;
use fleet_domain::event::Event;
use fleet_domain::ids::ServerId;
use fleet_domain::page::PageRequest;
use fleet_domain::ports::{
    Applied, DueWork, EarliestDue, Planner, PoolUsage, ProvisionStoreError, Store,
};
use fleet_domain::server::{NewServer, Server, ServerFilter};
use fleet_domain::state::ServerState;
use fleet_domain::{StateChange, UsageRecord};

use crate::db::{Db, roll_back_leftovers, store_error};
use crate::location::SqliteLocation;
use crate::ops::pools::PoolRefusal;
use crate::ops::{Refused, changes, due, pools, reads};
use crate::{migrate, open};

/// The embedded store: one SQLite database, file or memory, behind the domain's `Store` port.
#[derive(Clone)]
pub struct SqliteStore {
    db: Db,
    location: SqliteLocation,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `location`, in WAL mode with a busy
    /// timeout and foreign keys on, and applies the migrations it lacks.
    ///
    /// A database written by a newer fleet is refused. Call inside a tokio runtime.
    pub async fn open(location: SqliteLocation) -> Result<SqliteStore, StoreError> {
        let target = location.clone();
        let conn = tokio::task::spawn_blocking(move || open::connect(&target))
            .await
            .map_err(|e| {
                StoreError::Unknown(anyhow::anyhow!("opening the database failed: {e}"))
            })??;
        Ok(SqliteStore {
            db: Db::new(conn),
            location,
        })
    }

    /// Where the database is.
    pub fn location(&self) -> &SqliteLocation {
        &self.location
    }
}

/// A refused transaction as the port's error for provisioning.
fn provision_error(refused: Refused<PoolRefusal>) -> ProvisionStoreError {
    match refused {
        Refused::Db(e) => ProvisionStoreError::Store(store_error(e)),
        Refused::Because(PoolRefusal::NoPool(region)) => ProvisionStoreError::NoPool(region),
        Refused::Because(PoolRefusal::Exhausted(region)) => {
            ProvisionStoreError::PoolExhausted(region)
        }
        Refused::Because(refusal) => ProvisionStoreError::Store(pool_error(refusal)),
    }
}

fn pool_error(refusal: PoolRefusal) -> StoreError {
    StoreError::Unknown(match refusal {
        PoolRefusal::CidrChanged(refusal) => anyhow::Error::new(refusal),
        PoolRefusal::NoPool(region) => anyhow::anyhow!("region '{region}' has no pool"),
        PoolRefusal::Exhausted(region) => anyhow::anyhow!("region '{region}' is exhausted"),
    })
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn sync_pools(&self, regions: &[RegionSpec]) -> Result<(), StoreError> {
        let regions = regions.to_vec();
        let outcome = self
            .db
            .run(move |conn| Ok(conn.immediate_transaction(|conn| pools::sync(conn, &regions))))
            .await?;
        outcome.map_err(|refused| match refused {
            Refused::Db(e) => store_error(e),
            Refused::Because(refusal) => pool_error(refusal),
        })
    }

    async fn provision(&self, new: NewServer) -> Result<Server, ProvisionStoreError> {
        let outcome = self
            .db
            .run(move |conn| Ok(conn.immediate_transaction(|conn| changes::provision(conn, &new))))
            .await?;
        outcome.map_err(provision_error)
    }

    async fn get(&self, id: ServerId) -> Result<Option<Server>, StoreError> {
        self.db.run(move |conn| reads::get(conn, id)).await
    }

    async fn list(
        &self,
        filter: &ServerFilter,
        page: &PageRequest,
    ) -> Result<Vec<Server>, StoreError> {
        let (filter, page) = (filter.clone(), *page);
        self.db
            .run(move |conn| reads::list(conn, &filter, &page))
            .await
    }

    async fn apply(&self, change: &StateChange) -> Result<Applied, StoreError> {
        let change = change.clone();
        let mut applied = self
            .db
            .run(move |conn| {
                conn.immediate_transaction(|conn| {
                    changes::apply_all(conn, std::slice::from_ref(&change))
                })
            })
            .await?;
        Ok(match applied.pop().flatten() {
            Some(server) => Applied::Done(Box::new(server)),
            None => Applied::Stale,
        })
    }

    async fn events(&self, id: ServerId, limit: u32) -> Result<Vec<Event>, StoreError> {
        self.db
            .run(move |conn| reads::events(conn, id, limit))
            .await
    }

    async fn usage(&self, id: ServerId) -> Result<Vec<UsageRecord>, StoreError> {
        self.db.run(move |conn| reads::usage(conn, id)).await
    }

    async fn pool_usage(&self) -> Result<Vec<PoolUsage>, StoreError> {
        self.db.run(pools::usage).await
    }

    async fn count_by_state(&self) -> Result<Vec<(ServerState, i64)>, StoreError> {
        self.db.run(reads::count_by_state).await
    }

    /// The claim is a `BEGIN IMMEDIATE` transaction held from reading the due servers to
    /// committing their changes: no other writer, in this process or another, runs meanwhile.
    async fn process_due(
        &self,
        work: DueWork,
        limit: u32,
        plan: &Planner,
    ) -> Result<u32, StoreError> {
        let mut session = self.db.session().await;
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
        session
            .run(move |conn| match changes::apply_all(conn, &planned) {
                Ok(applied) => {
                    AnsiTransactionManager::commit_transaction(conn)?;
                    Ok(applied.iter().flatten().count())
                }
                Err(e) => {
                    let _ = AnsiTransactionManager::rollback_transaction(conn);
                    Err(e)
                }
            })
            .await
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn earliest_due(&self) -> Result<EarliestDue, StoreError> {
        self.db.run(due::earliest).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let schema = self
            .db
            .run(|conn| {
                conn.batch_execute("SELECT 1")?;
                Ok(migrate::check(conn))
            })
            .await?;
        schema.map_err(|e| {
            StoreError::Unknown(anyhow::anyhow!("SQLite database {}: {e}", self.location))
        })
    }
}
