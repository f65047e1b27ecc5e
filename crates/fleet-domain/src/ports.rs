//! The ports: what the use cases need from the outside world, implemented by adapters.

use chrono::{DateTime, Utc};

use crate::billing::UsageRecord;
use crate::catalog::RegionSpec;
use crate::error::StoreError;
use crate::event::Event;
use crate::ids::ServerId;
use crate::ip_pool::IpPool;
use crate::lifecycle::StateChange;
use crate::page::PageRequest;
use crate::server::{NewServer, Server, ServerFilter};
use crate::state::ServerState;

/// The source of time. The domain never reads the system clock itself.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// Why provisioning could not store a server.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionStoreError {
    /// Every address of the region's pool is held by a server.
    #[error("the address pool of region '{0}' is exhausted")]
    PoolExhausted(String),
    /// The store has no pool for the region (pools are synced from the catalog at start-up).
    #[error("region '{0}' has no address pool in the store")]
    NoPool(String),
    /// Anything else.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What became of a guarded change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// It was applied; this is the server now.
    Done(Box<Server>),
    /// The server had moved on from the generation the change was planned from: nothing changed.
    Stale,
}

/// Which servers have background work due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueWork {
    /// Transitional states due by this instant, earliest first.
    Transitions {
        /// Completion due at or before this.
        due_by: DateTime<Utc>,
    },
    /// Open runs whose watermark is at or before this instant, oldest first.
    Accruals {
        /// Watermark at or before this.
        watermark_by: DateTime<Utc>,
    },
    /// Stopped servers stopped at or before this instant, oldest first.
    Idle {
        /// Stopped at or before this.
        stopped_by: DateTime<Utc>,
    },
}

/// The earliest instants at which each kind of background work exists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EarliestDue {
    /// The earliest transition due time.
    pub transition: Option<DateTime<Utc>>,
    /// The oldest open-run watermark.
    pub watermark: Option<DateTime<Utc>>,
    /// The oldest stop time of a stopped server.
    pub stopped: Option<DateTime<Utc>>,
}

/// How a region's pool is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolUsage {
    /// The region.
    pub region: String,
    /// Its pool.
    pub cidr: IpPool,
    /// Addresses held by servers.
    pub allocated: u64,
    /// Addresses free to hand out.
    pub free: u64,
}

/// Plans the change for one server of a due batch; `None` leaves it as it is.
pub type Planner = dyn Fn(&Server) -> Option<StateChange> + Send + Sync;

/// The store of servers, their events, the usage ledger and the address pools.
///
/// Every method that changes more than one thing does it in one transaction, and every
/// guarantee here holds with several service processes sharing one store.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// Makes the store's pools match the catalog's regions: creates missing pools and refuses
    /// to change the CIDR of a pool that exists.
    async fn sync_pools(&self, regions: &[RegionSpec]) -> Result<(), StoreError>;

    /// Allocates an address from the server's region pool, inserts the server with it and
    /// appends its event, all or nothing.
    async fn provision(&self, new: NewServer) -> Result<Server, ProvisionStoreError>;

    /// The server with this id.
    async fn get(&self, id: ServerId) -> Result<Option<Server>, StoreError>;

    /// Servers matching `filter` in (created_at, id) order, starting after the page cursor and
    /// offset, at most `page.limit` of them.
    async fn list(
        &self,
        filter: &ServerFilter,
        page: &PageRequest,
    ) -> Result<Vec<Server>, StoreError>;

    /// Applies a change if the server is still at its expected generation: updates the server,
    /// appends its events and usage, and releases its address if asked, all or nothing.
    async fn apply(&self, change: &StateChange) -> Result<Applied, StoreError>;

    /// The newest `limit` events of a server, newest first.
    async fn events(&self, id: ServerId, limit: u32) -> Result<Vec<Event>, StoreError>;

    /// A server's usage records, oldest first.
    async fn usage(&self, id: ServerId) -> Result<Vec<UsageRecord>, StoreError>;

    /// Usage of every pool.
    async fn pool_usage(&self) -> Result<Vec<PoolUsage>, StoreError>;

    /// How many servers are in each state (states with none may be left out).
    async fn count_by_state(&self) -> Result<Vec<(ServerState, i64)>, StoreError>;

    /// Claims up to `limit` servers with `work` due, so that no other process can claim them
    /// at the same time, applies what `plan` makes of each, and returns how many changed.
    async fn process_due(
        &self,
        work: DueWork,
        limit: u32,
        plan: &Planner,
    ) -> Result<u32, StoreError>;

    /// When each kind of background work is next due.
    async fn earliest_due(&self) -> Result<EarliestDue, StoreError>;

    /// Whether the store answers and its schema is current.
    async fn ping(&self) -> Result<(), StoreError>;
}
