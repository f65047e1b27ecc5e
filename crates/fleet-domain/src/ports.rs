//! The ports: what the use cases need from the outside world, implemented by adapters.

use std::num::NonZeroU32;
use std::ops::RangeInclusive;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::action::ActionRecord;
use crate::billing::LedgerEntry;
use crate::budgets::{Budget, Crossed};
use crate::catalog::RegionSpec;
use crate::costs::{GroupKey, HourlyCost};
use crate::error::StoreError;
use crate::event::{Event, EventHorizon, EventQuery, EventReadError, Interest, NewEvent};
use crate::faults::FaultRule;
use crate::idempotency::{ClaimToken, Claimed, IdempotencyKey, KeyClaim, StoredResponse};
use crate::ids::{
    ActionId, BudgetId, DeliveryId, FaultRuleId, KeyId, ProjectId, ServerId, WebhookId,
};
use crate::ip_pool::IpPool;
use crate::keys::StoredSecret;
use crate::lifecycle::StateChange;
use crate::money::Money;
use crate::page::{LedgerCursor, PageRequest};
use crate::project_update::ProjectUpdate;
use crate::quota::{ProjectQuotas, QuotaExceeded, Quotas};
use crate::server::{NewServer, Server, ServerFilter, ServerTally};
use crate::state::ServerState;
use crate::tenancy::{ApiKey, Project};
use crate::trace::TraceContext;
use crate::webhooks::{
    AttemptOutcome, AttemptRecord, ClaimedDelivery, Delivery, LeaseToken, NewDelivery, Subscription,
};

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
    /// The server's project does not exist (deleted while a key of it was still cached):
    /// nothing was stored.
    #[error("project {0} does not exist")]
    NoProject(ProjectId),
    /// The server would take its project past a quota: nothing was stored.
    #[error(transparent)]
    QuotaExceeded(#[from] QuotaExceeded),
    /// Anything else.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What became of a guarded change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// It was applied; this is the server now.
    Done(Box<Server>),
    /// The server had moved on from the generation the change was planned from (another
    /// writer won the race): nothing changed, and planning again from the new state may.
    Stale,
    /// The store has no such server: nothing changed.
    Missing,
    /// The change takes vCPUs (a start) and would take the server's project past its vCPU
    /// quota: nothing changed.
    QuotaExceeded(QuotaExceeded),
}

/// Which servers have background work due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueWork {
    /// Transitional states due by this instant, earliest first.
    Transitions {
        /// Completion due at or before this.
        due_by: DateTime<Utc>,
    },
    /// Open runs whose watermark is before this instant, oldest first.
    Accruals {
        /// Watermark strictly before this (`billing::accruals_due_before`).
        watermark_before: DateTime<Utc>,
    },
    /// Stopped servers stopped at or before this instant, oldest first.
    Idle {
        /// Stopped at or before this.
        stopped_by: DateTime<Utc>,
    },
    /// Servers with a pending fault due at or before this instant, earliest first.
    Faults {
        /// Due at or before this.
        due_by: DateTime<Utc>,
    },
    /// Running servers whose fault schedule was drawn under another epoch than this one
    /// (see `FaultBook::epoch`), in the order of the store's index for them.
    Unscheduled {
        /// The epoch in force.
        epoch: i64,
    },
}

/// The earliest instants at which timed work exists: where a manual clock must stop.
/// (Billing needs no stop: accruals catch up period by period from each watermark.)
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EarliestDue {
    /// The earliest transition due time.
    pub transition: Option<DateTime<Utc>>,
    /// The oldest stop time of a stopped server.
    pub stopped: Option<DateTime<Utc>>,
    /// The earliest pending fault's due time.
    pub fault: Option<DateTime<Utc>>,
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

impl PoolUsage {
    /// The usage of a pool that hands out addresses by offset: `next_offset` offsets have
    /// ever been handed out, and `released` of them are back on the free list.
    ///
    /// More released than ever handed out means the store's counter and free list disagree.
    pub fn from_counter(
        region: String,
        cidr: IpPool,
        next_offset: u64,
        released: u64,
    ) -> Result<PoolUsage, PoolCounterError> {
        let allocated = next_offset
            .checked_sub(released)
            .ok_or_else(|| PoolCounterError {
                region: region.clone(),
                next_offset,
                released,
            })?;
        Ok(PoolUsage {
            free: cidr.size().saturating_sub(allocated),
            region,
            cidr,
            allocated,
        })
    }
}

/// A pool's counter and free list that disagree: the store was changed behind fleet's back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the pool of region '{region}' has {released} addresses released but handed out only \
     {next_offset}"
)]
pub struct PoolCounterError {
    /// The region.
    pub region: String,
    /// Offsets ever handed out.
    pub next_offset: u64,
    /// Offsets on the free list.
    pub released: u64,
}

/// Why `Store::sync_pools` refuses a region (as [`StoreError::PoolCidrChanged`]): the
/// catalog gives the pool the store has for it another CIDR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "region '{region}' has the pool {stored} in the store but {wanted} in the catalog; a \
     pool's CIDR cannot change while servers may hold its addresses"
)]
pub struct PoolCidrChanged {
    /// The region.
    pub region: String,
    /// The pool the store has.
    pub stored: IpPool,
    /// The pool the catalog gives.
    pub wanted: IpPool,
}

/// A stored value this service cannot read (a state it does not know, an instant out of
/// range, an address that is not IPv4): the database was changed behind fleet's back.
/// Both stores report such a row as [`StoreError::Corrupt`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad {column} in the database: '{value}'")]
pub struct BadRow {
    /// What the value is, e.g. `servers.state`.
    pub column: &'static str,
    /// The value as stored (shortened to 64 characters).
    pub value: String,
}

impl BadRow {
    /// The longest part of a bad value kept, so a huge value cannot flood a log line.
    const MAX_VALUE_CHARS: usize = 64;

    /// A bad `value` of `column`.
    pub fn new(column: &'static str, value: impl ToString) -> Self {
        Self {
            column,
            value: value
                .to_string()
                .chars()
                .take(Self::MAX_VALUE_CHARS)
                .collect(),
        }
    }
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
    /// to change the CIDR of a pool that exists ([`StoreError::PoolCidrChanged`]).
    async fn sync_pools(&self, regions: &[RegionSpec]) -> Result<(), StoreError>;

    /// Allocates an address from the server's region pool, inserts the server with it and
    /// appends its event and its provisioning's action record, all or nothing; refused when
    /// it would take its project past a quota, checked in the same transaction so concurrent
    /// provisions cannot pass it.
    async fn provision(&self, new: NewServer) -> Result<Server, ProvisionStoreError>;

    /// The server with this id.
    async fn get(&self, id: ServerId) -> Result<Option<Server>, StoreError>;

    /// The server with the lowest id in `ids`: the server of an EC2 instance id
    /// ([`crate::instance_id::InstanceId::server_ids`]), found by the primary key.
    async fn first_in_id_range(
        &self,
        ids: RangeInclusive<ServerId>,
    ) -> Result<Option<Server>, StoreError>;

    /// Servers matching `filter` in (created_at, id) order, starting after the page cursor and
    /// offset, at most `page.limit` of them.
    async fn list(
        &self,
        filter: &ServerFilter,
        page: &PageRequest,
    ) -> Result<Vec<Server>, StoreError>;

    /// How many servers match `filter`.
    async fn count(&self, filter: &ServerFilter) -> Result<u64, StoreError>;

    /// How many servers match `filter` in each state and region that has any, in one pass
    /// (a dashboard's counts, without one count per cell).
    async fn tally(&self, filter: &ServerFilter) -> Result<Vec<ServerTally>, StoreError>;

    /// Applies a change if the server is still at its expected generation: updates the server
    /// (every field the change carries, its name included), appends its events and usage,
    /// ends the server's running action record and stores the one the change opens, and
    /// releases its address if asked, all or nothing. A change that takes vCPUs (from a
    /// state that holds none to one that holds them, a start) is checked against the
    /// project's vCPU quota in the same transaction.
    async fn apply(&self, change: &StateChange) -> Result<Applied, StoreError>;

    /// The newest `limit` events of a server, newest first.
    async fn events(&self, id: ServerId, limit: u32) -> Result<Vec<Event>, StoreError>;

    /// Up to `limit` of a server's usage records, oldest first, after `after`.
    async fn usage(
        &self,
        id: ServerId,
        after: Option<LedgerCursor>,
        limit: u32,
    ) -> Result<Vec<LedgerEntry>, StoreError>;

    /// Deletes up to `limit` usage records whose period ended before `ended_before`, oldest
    /// first; how many it deleted. Servers' totals keep what they billed.
    async fn prune_usage(&self, ended_before: DateTime<Utc>, limit: u32)
    -> Result<u32, StoreError>;

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
}

/// The global event sequence, which clients follow with a cursor (`GET /events`, the
/// stream, waits).
///
/// Every event a store commits gets a sequence number, and numbers become visible in order:
/// once a reader can see N, every event it will ever see numbered below N is visible too, so
/// a reader that has seen everything up to N and reads after N never misses one — also when
/// transactions commit in another order than they began. A committed event is sequenced
/// within a moment (a store that writes one transaction at a time numbers it at commit).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait::async_trait]
pub trait EventLog: Send + Sync {
    /// Sequenced events matching `query` after its cursor, oldest first; refused as
    /// [`EventReadError::Expired`] when events after the cursor have been pruned.
    async fn events_after(&self, query: &EventQuery) -> Result<Vec<Event>, EventReadError>;

    /// How far the sequence goes now.
    async fn horizon(&self) -> Result<EventHorizon, StoreError>;

    /// Waits until the sequence goes beyond `seen`, or at most `patience`, and returns how far
    /// it goes then. Events committed by another process sharing the store count: the store
    /// learns of them by its own notifications (Postgres `LISTEN`), not by a caller's polling.
    async fn wait_beyond(&self, seen: i64, patience: Duration) -> Result<i64, StoreError>;

    /// Like [`EventLog::wait_beyond`], but it may sleep through events that `interest` does
    /// not cover (it may also wake for some it does not). What a reader following a project
    /// or a server calls, so that a fan-out wakes it only for its own news.
    async fn wait_beyond_for(
        &self,
        seen: i64,
        interest: Interest,
        patience: Duration,
    ) -> Result<i64, StoreError> {
        let _ = interest;
        self.wait_beyond(seen, patience).await
    }

    /// Deletes at most `limit` events recorded before `before`, except the newest
    /// `keep_per_server` of each server (which its history keeps showing) and those an
    /// enabled webhook subscription has not taken deliveries from yet (after its cursor),
    /// and moves the horizon's `pruned_through` past them; returns how many it deleted.
    async fn prune_events(
        &self,
        before: DateTime<Utc>,
        keep_per_server: u32,
        limit: u32,
    ) -> Result<u32, StoreError>;
}

/// The action records: written by [`Store::provision`] and [`Store::apply`] with the changes
/// that open and end them, read here.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait::async_trait]
pub trait ActionStore: Send + Sync {
    /// The action with this id.
    async fn action(&self, id: ActionId) -> Result<Option<ActionRecord>, StoreError>;

    /// A server's actions, newest first (by start, then id), at most `limit`, starting after
    /// the page cursor, which is [`ActionRecord::cursor`] of the last action of the page
    /// before.
    async fn server_actions(
        &self,
        server: ServerId,
        page: &PageRequest,
    ) -> Result<Vec<ActionRecord>, StoreError>;
}

/// Reads for cost reports.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait::async_trait]
pub trait CostStore: Send + Sync {
    /// The usage records of `project`'s servers (every project's for `None`) whose period
    /// starts in `[from, to)`, summed per clock hour of their start (UTC) and per value of
    /// each of `group_by`'s keys, in its order. A server's label is read as it is now. A
    /// read the rollups answer ([`crate::costs::rollups_answer`]: whole hours, grouped by
    /// project, region or type) counts every record ever appended, those pruned by the
    /// ledger's retention too.
    async fn hourly_costs(
        &self,
        project: Option<ProjectId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        group_by: &[GroupKey],
    ) -> Result<Vec<HourlyCost>, StoreError>;

    /// The servers of `project` (every project's for `None`) whose billing is open: those
    /// with a watermark, running or (if their policy bills it) stopped; with `before`, only
    /// those whose watermark is earlier (the others have nothing open before it).
    async fn open_billing(
        &self,
        project: Option<ProjectId>,
        before: Option<DateTime<Utc>>,
    ) -> Result<Vec<Server>, StoreError>;
}

/// Budgets, and the announcements of their crossings.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait::async_trait]
pub trait BudgetStore: Send + Sync {
    /// Stores a new budget unless its project has `at_most` budgets already; whether it was
    /// stored. The count and the insert are one step: creates at once never pass the limit.
    async fn create_budget(&self, budget: &Budget, at_most: usize) -> Result<bool, StoreError>;

    /// The budget with this id, if any.
    async fn budget(&self, id: BudgetId) -> Result<Option<Budget>, StoreError>;

    /// The budgets of `project` (every project's for `None`), oldest first.
    async fn budgets(&self, project: Option<ProjectId>) -> Result<Vec<Budget>, StoreError>;

    /// Deletes a budget; whether it existed. Its events stay.
    async fn delete_budget(&self, id: BudgetId) -> Result<bool, StoreError>;

    /// Moves the budget's mark from `from` to `to` and appends `events` (in the budget's
    /// project, with no labels), in one transaction, only if the mark is still `from`:
    /// whether it was moved. Of several processes seeing the same crossing, one announces it.
    async fn record_crossing(
        &self,
        id: BudgetId,
        from: Crossed,
        to: Crossed,
        events: &[NewEvent],
    ) -> Result<bool, StoreError>;
}

/// What operators, probes and the catalog read about the store as a whole, apart from the
/// use cases' [`Store`] so that mocks of either stay small.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait::async_trait]
pub trait StoreStatus: Send + Sync {
    /// Whether the store answers and its schema is the one this service expects
    /// ([`StoreError::SchemaBehind`] or [`StoreError::SchemaAhead`] when not).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Usage of every pool.
    async fn pool_usage(&self) -> Result<Vec<PoolUsage>, StoreError>;

    /// How many servers are in each state (states with none may be left out).
    async fn count_by_state(&self) -> Result<Vec<(ServerState, i64)>, StoreError>;

    /// What the servers billing now cost per hour, by region and type (those with none may
    /// be left out): a running server its price, a stopped one whose policy bills it its
    /// stopped price ([`crate::billing::BillingPolicy::stopped_price`]).
    async fn cost_rates(&self) -> Result<Vec<CostRate>, StoreError>;
}

/// What the servers billing now in one region and of one type cost per hour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostRate {
    /// The region.
    pub region: String,
    /// The server type.
    pub server_type: String,
    /// Their hourly cost.
    pub hourly: Money,
}

/// Why a project could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum ProjectStoreError {
    /// Another project has the name.
    #[error("a project named '{0}' exists")]
    NameTaken(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What deleting a project did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectDeletion {
    /// It is gone, with its keys and its terminated servers' records.
    Deleted,
    /// There is no such project.
    Missing,
    /// It has servers that are not terminated: nothing was deleted.
    HasLiveServers(u64),
}

/// A key as authentication reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    /// The key.
    pub key: ApiKey,
    /// The hash of its secret.
    pub secret_hash: String,
    /// Its secret sealed under the pepper; `None` for a key stored before secrets were
    /// sealed, which signs nothing.
    pub sealed_secret: Option<String>,
    /// Its project's rate-limit override.
    pub project_rate_limit: Option<NonZeroU32>,
}

/// The store of projects and API keys.
///
/// Every method that changes more than one thing does it in one transaction, and holds with
/// several service processes sharing one store.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait::async_trait]
pub trait TenancyStore: Send + Sync {
    /// Stores a new project with its quotas (no row when they are unlimited), all or
    /// nothing.
    async fn create_project(
        &self,
        project: &Project,
        quotas: &Quotas,
    ) -> Result<(), ProjectStoreError>;

    /// The project with this id.
    async fn project(&self, id: ProjectId) -> Result<Option<Project>, StoreError>;

    /// The project with this name.
    async fn project_named(&self, name: &str) -> Result<Option<Project>, StoreError>;

    /// Every project, by name.
    async fn projects(&self) -> Result<Vec<Project>, StoreError>;

    /// Changes what `update` names of a project, in one statement, and returns the project
    /// as it is now (an empty update only reads it); `None` when there is no such project.
    async fn update_project(
        &self,
        id: ProjectId,
        update: &ProjectUpdate,
    ) -> Result<Option<Project>, ProjectStoreError>;

    /// Deletes a project that has no server but terminated ones, with its keys and those
    /// servers, their events and usage, all or nothing.
    async fn delete_project(&self, id: ProjectId) -> Result<ProjectDeletion, StoreError>;

    /// Stores a new key with what is kept of its secret.
    async fn create_key(&self, key: &ApiKey, secret: &StoredSecret) -> Result<(), StoreError>;

    /// The keys of a project, oldest first, revoked ones included.
    async fn keys(&self, project: ProjectId) -> Result<Vec<ApiKey>, StoreError>;

    /// A key with the hash of its secret, to check a presented key against, and its
    /// project's rate limit, read in the same query so that authenticating a request costs
    /// one round trip.
    async fn key_with_hash(&self, id: KeyId) -> Result<Option<StoredKey>, StoreError>;

    /// Revokes a key at `at` (a key revoked already keeps its first revocation time);
    /// `None` when there is no such key.
    async fn revoke_key(&self, id: KeyId, at: DateTime<Utc>) -> Result<Option<ApiKey>, StoreError>;

    /// Keeps `sealed` as the sealed secret of a key stored without one (made before a pepper
    /// was set); whether it did (a key already sealed keeps its own).
    async fn seal_key(&self, id: KeyId, sealed: &str) -> Result<bool, StoreError>;

    /// Records that these keys were used at `at`. A key already marked used later keeps its
    /// time: processes flush their marks in any order.
    async fn mark_keys_used(&self, ids: &[KeyId], at: DateTime<Utc>) -> Result<(), StoreError>;

    /// A project's quotas and its use of them; `None` when there is no such project.
    async fn project_quotas(&self, id: ProjectId) -> Result<Option<ProjectQuotas>, StoreError>;

    /// Sets a project's quotas (whatever its use: a limit below it stops growth only), and
    /// returns them with its use; `None` when there is no such project.
    async fn set_project_quotas(
        &self,
        id: ProjectId,
        limits: &Quotas,
    ) -> Result<Option<ProjectQuotas>, StoreError>;
}

/// The idempotency keys of every project, each with its first request's fingerprint and,
/// once it is answered, its answer.
///
/// A claim is decided by the database itself (a unique key on project and key), so two
/// processes claiming one key at once never both win.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait::async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Takes the key for a request when no record holds it, when its record was made
    /// before `claim.forget_before`, or when an unanswered claim of the same fingerprint
    /// outlived its lease (measured on the store's clock); otherwise the record that holds
    /// it, unchanged. Committed on its own, before the request runs.
    async fn claim_key(&self, claim: &KeyClaim) -> Result<Claimed, StoreError>;

    /// Records the answer of the claim `token` holds; `false` when the claim no longer
    /// holds the key (taken over or forgotten), and nothing is written.
    async fn complete_key(
        &self,
        project: ProjectId,
        key: &IdempotencyKey,
        token: ClaimToken,
        response: &StoredResponse,
    ) -> Result<bool, StoreError>;

    /// Forgets the key if the unanswered claim `token` still holds it, so that a retry
    /// runs anew; `false` when it did not.
    async fn release_key(
        &self,
        project: ProjectId,
        key: &IdempotencyKey,
        token: ClaimToken,
    ) -> Result<bool, StoreError>;

    /// Deletes at most `limit` keys made before `before`, oldest first; how many it deleted.
    async fn prune_keys(&self, before: DateTime<Utc>, limit: u32) -> Result<u32, StoreError>;
}

/// Which fault rules to list: those a project sees, or every one; then a page of them in
/// creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultListing {
    /// Only rules of this project and rules for every project; every rule when `None`.
    pub visible_to: Option<ProjectId>,
    /// At most this many.
    pub limit: u32,
    /// After this rule, in (creation time, id) order.
    pub after: Option<(DateTime<Utc>, FaultRuleId)>,
}

/// The store of fault rules and how often each has fired.
///
/// `fire_fault` is what keeps a rule's `max_count` across every process sharing the store:
/// it counts a firing in one statement only while the count is below the maximum.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait::async_trait]
pub trait FaultStore: Send + Sync {
    /// Stores a new rule.
    async fn create_fault(&self, rule: &FaultRule) -> Result<(), StoreError>;

    /// The rule with this id.
    async fn fault(&self, id: FaultRuleId) -> Result<Option<FaultRule>, StoreError>;

    /// A page of rules, oldest first.
    async fn faults(&self, listing: &FaultListing) -> Result<Vec<FaultRule>, StoreError>;

    /// Deletes a rule; `false` when there was none.
    async fn delete_fault(&self, id: FaultRuleId) -> Result<bool, StoreError>;

    /// Counts one firing of the rule if it exists and has fired fewer times than its
    /// `max_count`, and appends `record` (an event of the server involved, if it still
    /// exists, with its labels then) in the same transaction; `false`, with nothing
    /// written, when it may not fire.
    async fn fire_fault(
        &self,
        id: FaultRuleId,
        record: Option<NewEvent>,
    ) -> Result<bool, StoreError>;

    /// How many servers in `regions` (any when empty) of `server_types` (any when empty),
    /// in `project` (every one when `None`), hold capacity: running or heading there.
    async fn count_holding(
        &self,
        project: Option<ProjectId>,
        regions: &[String],
        server_types: &[String],
    ) -> Result<u64, StoreError>;

    /// Lets every transition the rule holds stuck go on: each falls due at `now`, as if it
    /// had just been allowed to finish. Returns how many.
    async fn release_stuck(&self, id: FaultRuleId, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Which webhook subscriptions to list: a project's, or every one; then a page of them in
/// creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookListing {
    /// Only this project's; every one when `None`.
    pub project: Option<ProjectId>,
    /// At most this many.
    pub limit: u32,
    /// After this subscription, in (creation time, id) order.
    pub after: Option<(DateTime<Utc>, WebhookId)>,
}

/// What [`WebhookStore::update_webhook`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookWrite {
    /// The subscription was written, and its generation is one more than the one written
    /// over.
    Done,
    /// Nothing was written: the stored subscription's generation is no longer the one the
    /// update was made from (a client, a rotation or an attempt wrote it since).
    Stale,
    /// Nothing was written: there is no such subscription.
    Missing,
}

/// Which deliveries of a subscription to list, newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryListing {
    /// The subscription.
    pub webhook: WebhookId,
    /// At most this many.
    pub limit: u32,
    /// After this delivery, in (creation time, id) descending order.
    pub after: Option<(DateTime<Utc>, DeliveryId)>,
}

/// A claim of due deliveries for attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryClaim {
    /// Deliveries due at or before this instant (the service's clock).
    pub due_by: DateTime<Utc>,
    /// At most this many.
    pub limit: u32,
    /// At most this many of one subscription.
    pub per_webhook: u32,
    /// None of these subscriptions' (their receivers are busy in this process).
    pub skip: Vec<WebhookId>,
    /// How long the claim holds, on the store's own clock: after it, another process may
    /// claim a delivery whose attempt was never recorded (its process died).
    pub lease: Duration,
    /// The claim's token, which recording an attempt must present.
    pub token: LeaseToken,
}

/// How full the outbox is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxStats {
    /// Pending deliveries of enabled subscriptions.
    pub pending: u64,
    /// When the longest-waiting of them was made.
    pub oldest: Option<DateTime<Utc>>,
}

/// The store of webhook subscriptions and their deliveries: the outbox.
///
/// Taking events into deliveries is guarded by the subscription's cursor, and a delivery is
/// unique per subscription and event, so processes racing to take the same events store
/// each delivery once; claims lock what they take (`SKIP LOCKED` on Postgres), so no two
/// processes attempt one delivery at once.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait::async_trait]
pub trait WebhookStore: Send + Sync {
    /// Stores a new subscription.
    async fn create_webhook(&self, webhook: &Subscription) -> Result<(), StoreError>;

    /// The subscription with this id.
    async fn webhook(&self, id: WebhookId) -> Result<Option<Subscription>, StoreError>;

    /// A page of subscriptions, oldest first.
    async fn webhooks(&self, listing: &WebhookListing) -> Result<Vec<Subscription>, StoreError>;

    /// How many subscriptions a project has.
    async fn count_webhooks(&self, project: ProjectId) -> Result<u64, StoreError>;

    /// Every enabled subscription: what the outbox takes events for.
    async fn enabled_webhooks(&self) -> Result<Vec<Subscription>, StoreError>;

    /// Writes what a client or a rotation changed (URL, description, filter, enabled and
    /// why not, secrets, the time of the change), and the cursor and failing time too when
    /// `moved` (a re-enabled subscription starts from now), only if the stored
    /// subscription's generation is still `webhook.generation` (the one it was read at),
    /// and moves the generation one on; [`WebhookWrite::Stale`], with nothing written, when
    /// the subscription was written since, [`WebhookWrite::Missing`] when there is none.
    async fn update_webhook(
        &self,
        webhook: &Subscription,
        moved: bool,
    ) -> Result<WebhookWrite, StoreError>;

    /// Deletes a subscription with its deliveries; `false` when there was none.
    async fn delete_webhook(&self, id: WebhookId) -> Result<bool, StoreError>;

    /// Stores `deliveries` (skipping any stored already) and moves the subscription's
    /// cursor from `from` to `to`, in one transaction, only if the cursor is still at
    /// `from`; `false`, with nothing written, when another process moved it first.
    async fn enqueue_deliveries(
        &self,
        webhook: WebhookId,
        from: i64,
        to: i64,
        deliveries: &[NewDelivery],
    ) -> Result<bool, StoreError>;

    /// Stores one delivery (a test message); `false`, with nothing written, when its
    /// subscription does not exist (it was deleted since it was read).
    async fn add_delivery(&self, delivery: &NewDelivery) -> Result<bool, StoreError>;

    /// Claims pending deliveries of enabled subscriptions that are due and not claimed
    /// under a lease still running, earliest due first.
    async fn claim_deliveries(
        &self,
        claim: &DeliveryClaim,
    ) -> Result<Vec<ClaimedDelivery>, StoreError>;

    /// Records an attempt and what it does to the subscription, in one transaction, if the
    /// delivery is still claimed under the record's lease; `false`, with nothing written,
    /// when it is not (the lease ran out and another process took it).
    ///
    /// The subscription's row is written only when its health changes: its failing time
    /// set or cleared, or the subscription disabled (with the reason, and `updated_at` set
    /// to the attempt's time); each such write moves its generation one on, so an update
    /// made from an earlier read is [`WebhookWrite::Stale`] rather than undoing it.
    async fn record_attempt(&self, record: &AttemptRecord) -> Result<bool, StoreError>;

    /// A page of a subscription's deliveries, newest first.
    async fn deliveries(&self, listing: &DeliveryListing) -> Result<Vec<Delivery>, StoreError>;

    /// A delivery of a subscription.
    async fn delivery(
        &self,
        webhook: WebhookId,
        id: DeliveryId,
    ) -> Result<Option<Delivery>, StoreError>;

    /// Makes a delivery pending and due at `now` again (its attempts so far are kept);
    /// `None` when the subscription has no such delivery.
    async fn retry_delivery(
        &self,
        webhook: WebhookId,
        id: DeliveryId,
        now: DateTime<Utc>,
    ) -> Result<Option<Delivery>, StoreError>;

    /// How full the outbox is.
    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError>;

    /// Deletes at most `limit` deliveries that are settled (succeeded or failed) and were
    /// made before `before`; how many it deleted.
    async fn prune_deliveries(&self, before: DateTime<Utc>, limit: u32) -> Result<u32, StoreError>;
}

/// A signed message ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// Where to.
    pub url: String,
    /// The `webhook-id` header.
    pub id: String,
    /// The `webhook-timestamp` header: Unix seconds on the wall clock.
    pub timestamp: i64,
    /// The `webhook-signature` header.
    pub signature: String,
    /// The body, sent as `application/json`.
    pub body: String,
    /// The trace it continues: its request carries `traceparent` in it.
    pub trace: Option<TraceContext>,
}

/// What sending a message met, and how long it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The answer, or why there was none.
    pub outcome: AttemptOutcome,
    /// How long it took.
    pub latency: Duration,
}

/// Sends webhook messages over HTTP: never following redirects, never connecting to an
/// address the delivery policy forbids, within its timeouts.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait::async_trait]
pub trait WebhookSender: Send + Sync {
    /// Sends one message.
    async fn send(&self, message: &OutgoingMessage) -> Sent;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(cidr: &str) -> IpPool {
        cidr.parse().expect("a valid CIDR")
    }

    #[test]
    fn usage_from_a_counter_counts_released_offsets_as_free() {
        let usage = PoolUsage::from_counter("lab".to_owned(), pool("10.0.0.0/29"), 5, 2)
            .expect("a consistent counter");
        assert_eq!(
            usage,
            PoolUsage {
                region: "lab".to_owned(),
                cidr: pool("10.0.0.0/29"),
                allocated: 3,
                free: 3,
            }
        );
    }

    #[test]
    fn usage_of_a_new_pool_and_a_full_one() {
        let new = PoolUsage::from_counter("a".to_owned(), pool("10.0.0.0/30"), 0, 0);
        assert_eq!(new.map(|u| (u.allocated, u.free)), Ok((0, 2)));
        let full = PoolUsage::from_counter("a".to_owned(), pool("10.0.0.0/30"), 2, 0);
        assert_eq!(full.map(|u| (u.allocated, u.free)), Ok((2, 0)));
        let all_back = PoolUsage::from_counter("a".to_owned(), pool("10.0.0.0/30"), 2, 2);
        assert_eq!(all_back.map(|u| (u.allocated, u.free)), Ok((0, 2)));
    }

    #[test]
    fn more_released_than_handed_out_is_an_error_naming_the_pool() {
        let error = PoolUsage::from_counter("lab".to_owned(), pool("10.0.0.0/24"), 1, 2)
            .expect_err("an inconsistent counter");
        assert_eq!(
            error,
            PoolCounterError {
                region: "lab".to_owned(),
                next_offset: 1,
                released: 2,
            }
        );
        assert!(error.to_string().contains("'lab'"), "{error}");
    }

    #[test]
    fn a_changed_cidr_names_the_region_and_both_pools() {
        let refusal = PoolCidrChanged {
            region: "lab".to_owned(),
            stored: pool("10.0.0.0/24"),
            wanted: pool("10.1.0.0/24"),
        }
        .to_string();
        for part in ["'lab'", "10.0.0.0/24", "10.1.0.0/24", "cannot change"] {
            assert!(refusal.contains(part), "{refusal}");
        }
    }
}
