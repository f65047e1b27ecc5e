//! A minimal in-memory store, as plain as possible, that the suite is checked against: if a
//! case fails here, the case is wrong, not the store.

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, TryLockError};
use std::time::{Duration, Instant};

use fleet_domain::catalog::RegionSpec;
use fleet_domain::error::StoreError;
use fleet_domain::page::LedgerCursor;
use fleet_domain::ports::{
    Applied, BadRow, DueWork, EarliestDue, Planner, PoolCidrChanged, PoolUsage,
    ProvisionStoreError, Store, StoreStatus,
};
use fleet_domain::{
    Event, IpPool, Labels, LedgerEntry, NewServer, PageRequest, Server, ServerFilter, ServerId,
    ServerState, ServerTally, StateChange, StateReason, TerminatedServers,
};
use fleet_store_conformance::Tamper;
use quotas::QuotaState;
use tenancy::Tenancy;
use watching::Watching;

mod budgets;
mod costs;
mod faults;
mod keys;
mod quotas;
mod tenancy;
mod watching;
mod webhooks;

struct Pool {
    cidr: IpPool,
    next: u64,
    free: BTreeSet<u64>,
}

#[derive(Default)]
struct State {
    pools: HashMap<String, Pool>,
    servers: HashMap<ServerId, Server>,
    events: Vec<Event>,
    usage: Vec<LedgerEntry>,
    /// The last usage record's position: a table's serial, never reused.
    usage_position: i64,
    tenancy: Tenancy,
    quota: QuotaState,
    watching: Watching,
    keys: keys::Keys,
    faults: Vec<fleet_domain::faults::FaultRule>,
    webhooks: webhooks::Webhooks,
    budgets: Vec<fleet_domain::budgets::Budget>,
    /// Every usage record appended, with its server's project, region and type: what the
    /// stores' rollups sum, which pruning the ledger leaves.
    rollups: Vec<costs::Rolled>,
    /// Servers whose labels were tampered into ones that break the rules, with that text.
    unreadable_labels: HashMap<ServerId, String>,
    /// Servers whose state reason was tampered into a code no reason has, with that code.
    unreadable_reasons: HashMap<ServerId, String>,
}

impl State {
    /// `server`, or the corrupt row its tampered labels or state reason make it.
    fn readable(&self, server: &Server) -> Result<Server, StoreError> {
        if let Some(text) = self.unreadable_labels.get(&server.id) {
            return Err(StoreError::Corrupt(BadRow::new("servers.labels", text)));
        }
        match self.unreadable_reasons.get(&server.id) {
            Some(code) => Err(StoreError::Corrupt(BadRow::new(
                "servers.state_reason",
                code,
            ))),
            None => Ok(server.clone()),
        }
    }
}

/// How long a caller waits for the reference store's state.
pub const WAIT_LIMIT: Duration = Duration::from_millis(200);

/// The schema versions a tampered reference store reports.
const KNOWN_VERSION: &str = "20260101000000";

/// The reference store. Its "schema" and "write lock" exist only to be tampered with.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    applied_version: Mutex<Option<String>>,
    write_locked: Arc<AtomicBool>,
    horizon: tokio::sync::watch::Sender<i64>,
}

impl MemoryStore {
    /// The state, as a store's one connection: a caller waits for it at most
    /// [`WAIT_LIMIT`], then is `Saturated`.
    fn state(&self) -> Result<std::sync::MutexGuard<'_, State>, StoreError> {
        let started = Instant::now();
        loop {
            match self.state.try_lock() {
                Ok(state) => return Ok(state),
                Err(TryLockError::Poisoned(poisoned)) => return Ok(poisoned.into_inner()),
                Err(TryLockError::WouldBlock) if started.elapsed() < WAIT_LIMIT => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(StoreError::Saturated { waited: WAIT_LIMIT });
                }
            }
        }
    }

    fn writable(&self) -> Result<(), StoreError> {
        if self.write_locked.load(Ordering::SeqCst) {
            return Err(StoreError::Contended(anyhow::anyhow!("write lock held")));
        }
        Ok(())
    }
}

/// Tampers with a [`MemoryStore`].
pub struct MemoryTamper(pub Arc<MemoryStore>);

/// Releases the reference store's write lock when dropped.
struct Unlock(Arc<AtomicBool>);

impl Drop for Unlock {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl Tamper for MemoryTamper {
    async fn record_unknown_migration(&self) {
        *self.0.applied_version.lock().expect("lock") = Some("99991231235959".to_owned());
    }

    async fn forget_newest_migration(&self) {
        *self.0.applied_version.lock().expect("lock") = Some("20250101000000".to_owned());
    }

    async fn hold_write_lock(&self) -> Box<dyn Any + Send> {
        self.0.write_locked.store(true, Ordering::SeqCst);
        Box::new(Unlock(self.0.write_locked.clone()))
    }

    fn wait_limit(&self) -> Duration {
        WAIT_LIMIT
    }

    async fn write_labels(&self, server: ServerId, json: &str) {
        let map: BTreeMap<String, String> = serde_json::from_str(json).expect("an object");
        let mut state = self.0.state().expect("the state");
        match Labels::from_stored(map) {
            Ok(labels) => {
                state.unreadable_labels.remove(&server);
                state.servers.get_mut(&server).expect("a server").labels = labels;
            }
            Err(_) => {
                state.unreadable_labels.insert(server, json.to_owned());
            }
        }
    }

    async fn write_state_reason(&self, server: ServerId, code: &str) {
        let mut state = self.0.state().expect("the state");
        match StateReason::parse(code) {
            Some(reason) => {
                state.unreadable_reasons.remove(&server);
                state
                    .servers
                    .get_mut(&server)
                    .expect("a server")
                    .state_reason = Some(reason);
            }
            None => {
                state.unreadable_reasons.insert(server, code.to_owned());
            }
        }
    }
}

impl State {
    fn apply(&mut self, change: &StateChange) -> Applied {
        let Some(current) = self.servers.get(&change.server.id) else {
            return Applied::Missing;
        };
        if current.generation != change.expected_generation {
            return Applied::Stale;
        }
        if let Err(exceeded) = self.check_change(change) {
            return Applied::QuotaExceeded(exceeded);
        }
        if let (true, Some(ip)) = (change.release_address, current.ip) {
            let pool = self
                .pools
                .get_mut(&current.region)
                .expect("the server's pool");
            pool.free
                .insert(pool.cidr.offset_of(ip).expect("an address of the pool"));
        }
        self.servers.insert(change.server.id, change.server.clone());
        for event in &change.events {
            self.append(event.clone(), &change.server);
        }
        if let Some(end) = &change.action_ended {
            self.end_action(change.server.id, end);
        }
        self.watching.actions.extend(change.action_opened.clone());
        for record in &change.usage {
            self.rollups.push(costs::Rolled::of(&change.server, record));
            self.usage_position += 1;
            self.usage.push(LedgerEntry {
                position: self.usage_position,
                record: record.clone(),
            });
        }
        Applied::Done(Box::new(change.server.clone()))
    }
}

#[async_trait::async_trait]
impl Store for MemoryStore {
    async fn sync_pools(&self, regions: &[RegionSpec]) -> Result<(), StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        for region in regions {
            if let Some(pool) = state
                .pools
                .get(&region.name)
                .filter(|pool| pool.cidr != region.cidr)
            {
                return Err(StoreError::PoolCidrChanged(PoolCidrChanged {
                    region: region.name.clone(),
                    stored: pool.cidr,
                    wanted: region.cidr,
                }));
            }
        }
        for region in regions {
            state.pools.entry(region.name.clone()).or_insert(Pool {
                cidr: region.cidr,
                next: 0,
                free: BTreeSet::new(),
            });
        }
        Ok(())
    }

    async fn provision(&self, new: NewServer) -> Result<Server, ProvisionStoreError> {
        self.writable()?;
        let mut state = self.state()?;
        if !state.tenancy.has_project(new.server.project) {
            return Err(ProvisionStoreError::NoProject(new.server.project));
        }
        state.check_quota(new.server.project, 1, u64::from(new.vcpus))?;
        let region = new.server.region.clone();
        let pool = state
            .pools
            .get_mut(&region)
            .ok_or_else(|| ProvisionStoreError::NoPool(region.clone()))?;
        let offset = match pool.free.pop_first() {
            Some(offset) => offset,
            None if pool.next < pool.cidr.size() => {
                pool.next += 1;
                pool.next - 1
            }
            None => return Err(ProvisionStoreError::PoolExhausted(region)),
        };
        let mut server = new.server;
        server.ip = pool.cidr.address(offset);
        state.quota.vcpus.insert(server.id, new.vcpus);
        state.servers.insert(server.id, server.clone());
        state.append(new.event, &server);
        state.watching.actions.push(new.action);
        self.publish(&state);
        Ok(server)
    }

    async fn get(&self, id: ServerId) -> Result<Option<Server>, StoreError> {
        let state = self.state()?;
        state
            .servers
            .get(&id)
            .map(|s| state.readable(s))
            .transpose()
    }

    async fn first_in_id_range(
        &self,
        ids: std::ops::RangeInclusive<ServerId>,
    ) -> Result<Option<Server>, StoreError> {
        let state = self.state()?;
        state
            .servers
            .values()
            .filter(|s| ids.contains(&s.id))
            .min_by_key(|s| s.id)
            .map(|s| state.readable(s))
            .transpose()
    }

    async fn list(
        &self,
        filter: &ServerFilter,
        page: &PageRequest,
    ) -> Result<Vec<Server>, StoreError> {
        let state = self.state()?;
        let mut servers: Vec<Server> = state
            .servers
            .values()
            .filter(|s| matches(filter, s))
            .filter(|s| {
                page.after
                    .is_none_or(|c| (s.created_at, s.id) > (c.created_at, c.id))
            })
            .map(|s| state.readable(s))
            .collect::<Result<_, _>>()?;
        servers.sort_by_key(|s| (s.created_at, s.id));
        Ok(servers
            .into_iter()
            .skip(page.offset as usize)
            .take(page.limit as usize)
            .collect())
    }

    async fn tally(&self, filter: &ServerFilter) -> Result<Vec<ServerTally>, StoreError> {
        let state = self.state()?;
        let mut tallies: Vec<ServerTally> = Vec::new();
        for server in state.servers.values().filter(|s| matches(filter, s)) {
            match tallies
                .iter_mut()
                .find(|t| t.state == server.state && t.region == server.region)
            {
                Some(tally) => tally.count += 1,
                None => tallies.push(ServerTally {
                    state: server.state,
                    region: server.region.clone(),
                    count: 1,
                }),
            }
        }
        Ok(tallies)
    }

    async fn count(&self, filter: &ServerFilter) -> Result<u64, StoreError> {
        let state = self.state()?;
        Ok(state
            .servers
            .values()
            .filter(|s| matches(filter, s))
            .count() as u64)
    }

    async fn apply(&self, change: &StateChange) -> Result<Applied, StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        let applied = state.apply(change);
        self.publish(&state);
        Ok(applied)
    }

    async fn events(&self, id: ServerId, limit: u32) -> Result<Vec<Event>, StoreError> {
        let state = self.state()?;
        let mut events: Vec<Event> = state
            .events
            .iter()
            .filter(|e| e.event.server_id() == Some(id))
            .cloned()
            .collect();
        events.sort_by_key(|e| std::cmp::Reverse((e.event.at, e.id)));
        events.truncate(limit as usize);
        Ok(events)
    }

    async fn usage(
        &self,
        id: ServerId,
        after: Option<LedgerCursor>,
        limit: u32,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let state = self.state()?;
        let after = after.map_or(0, |cursor| cursor.0);
        Ok(state
            .usage
            .iter()
            .filter(|u| u.record.server_id == id && u.position > after)
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn prune_usage(
        &self,
        ended_before: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> Result<u32, StoreError> {
        let mut state = self.state()?;
        let mut oldest: Vec<(chrono::DateTime<chrono::Utc>, i64)> = state
            .usage
            .iter()
            .filter(|u| u.record.period_end < ended_before)
            .map(|u| (u.record.period_end, u.position))
            .collect();
        oldest.sort();
        oldest.truncate(limit as usize);
        let gone: std::collections::HashSet<i64> = oldest.iter().map(|(_, p)| *p).collect();
        state.usage.retain(|u| !gone.contains(&u.position));
        Ok(gone.len() as u32)
    }

    async fn process_due(
        &self,
        work: DueWork,
        limit: u32,
        plan: &Planner,
    ) -> Result<u32, StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        let mut due: Vec<(chrono::DateTime<chrono::Utc>, Server)> = state
            .servers
            .values()
            .filter_map(|s| {
                let key = match work {
                    DueWork::Transitions { due_by } => s.transition_due_at.filter(|t| *t <= due_by),
                    DueWork::Accruals { watermark_before } => {
                        s.billed_until.filter(|t| *t < watermark_before)
                    }
                    DueWork::Idle { stopped_by } => s
                        .stopped_at
                        .filter(|t| *t <= stopped_by && s.state == ServerState::Stopped),
                    DueWork::Faults { due_by } => s.chaos.due_at.filter(|t| *t <= due_by),
                    DueWork::Unscheduled { epoch } => (s.state == ServerState::Running
                        && s.chaos.epoch != epoch)
                        .then_some(chrono::DateTime::UNIX_EPOCH),
                };
                key.map(|k| (k, s.clone()))
            })
            .collect();
        due.sort_by_key(|(k, s)| (*k, s.id));
        let mut changed = 0;
        for (_, server) in due.into_iter().take(limit as usize) {
            let Some(change) = plan(&server) else {
                continue;
            };
            if let Applied::Done(_) = state.apply(&change) {
                changed += 1;
                for fired in &change.faults_fired {
                    if let Some(rule) = state.faults.iter_mut().find(|r| r.id == *fired) {
                        rule.fired += 1;
                    }
                }
            }
        }
        self.publish(&state);
        Ok(changed)
    }

    async fn earliest_due(&self) -> Result<EarliestDue, StoreError> {
        let state = self.state()?;
        let servers = state.servers.values();
        Ok(EarliestDue {
            transition: servers.clone().filter_map(|s| s.transition_due_at).min(),
            stopped: servers
                .clone()
                .filter(|s| s.state == ServerState::Stopped)
                .filter_map(|s| s.stopped_at)
                .min(),
            fault: servers.filter_map(|s| s.chaos.due_at).min(),
        })
    }
}

#[async_trait::async_trait]
impl StoreStatus for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        match self.applied_version.lock().expect("lock").clone() {
            Some(applied) if applied.as_str() > KNOWN_VERSION => Err(StoreError::SchemaAhead {
                applied,
                known: KNOWN_VERSION.to_owned(),
            }),
            Some(applied) => Err(StoreError::SchemaBehind {
                applied: Some(applied),
                expected: KNOWN_VERSION.to_owned(),
            }),
            None => Ok(()),
        }
    }

    async fn pool_usage(&self) -> Result<Vec<PoolUsage>, StoreError> {
        let state = self.state()?;
        Ok(state
            .pools
            .iter()
            .map(|(region, pool)| {
                let allocated = pool.next - pool.free.len() as u64;
                PoolUsage {
                    region: region.clone(),
                    cidr: pool.cidr,
                    allocated,
                    free: pool.cidr.size() - allocated,
                }
            })
            .collect())
    }

    async fn count_by_state(&self) -> Result<Vec<(ServerState, i64)>, StoreError> {
        let state = self.state()?;
        Ok(ServerState::ALL
            .into_iter()
            .map(|st| {
                (
                    st,
                    state.servers.values().filter(|s| s.state == st).count() as i64,
                )
            })
            .collect())
    }

    async fn cost_rates(&self) -> Result<Vec<fleet_domain::ports::CostRate>, StoreError> {
        let state = self.state()?;
        let mut rates: BTreeMap<(String, String), fleet_domain::Money> = BTreeMap::new();
        for server in state.servers.values().filter(|s| s.billed_until.is_some()) {
            let hourly = fleet_domain::billing::hourly_rate(server);
            let rate = rates
                .entry((server.region.clone(), server.server_type.clone()))
                .or_default();
            *rate = *rate + hourly;
        }
        Ok(rates
            .into_iter()
            .map(
                |((region, server_type), hourly)| fleet_domain::ports::CostRate {
                    region,
                    server_type,
                    hourly,
                },
            )
            .collect())
    }
}

/// Whether `server` passes every filter of `filter`.
fn matches(filter: &ServerFilter, server: &Server) -> bool {
    filter.project.is_none_or(|p| p == server.project)
        && filter.region.as_ref().is_none_or(|r| *r == server.region)
        && filter
            .server_type
            .as_ref()
            .is_none_or(|t| *t == server.server_type)
        && filter.state.is_none_or(|st| st == server.state)
        && match filter.terminated {
            TerminatedServers::All => true,
            TerminatedServers::Since(instant) => server.terminated_at.is_none_or(|t| t >= instant),
            TerminatedServers::None => server.state != ServerState::Terminated,
        }
        && filter
            .selector
            .as_ref()
            .is_none_or(|sel| sel.matches(&server.labels))
}
