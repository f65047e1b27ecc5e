//! The client-facing use cases: provision, read, list, act on a server, read its history.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use super::visible;
use crate::action::{ActionEnd, ActionRecord};
use crate::billing::{self, BillingSummary, UsageRecord};
use crate::catalog::Catalog;
use crate::entropy::Entropy;
use crate::error::{ActError, GetError, HistoryError, ListError, ProvisionError, StoreError};
use crate::event::{Actor, Event, RequestContext};
use crate::faults::{FaultError, FaultInjector, FaultTarget, Operation};
use crate::ids::ServerId;
use crate::instance_id::InstanceId;
use crate::labels::Labels;
use crate::lifecycle::{self, LifecycleConfig, ServerSpec};
use crate::money::Money;
use crate::page::{
    Cursor, DEFAULT_PAGE_SIZE, LedgerCursor, MAX_OFFSET, MAX_PAGE_SIZE, Page, PageRequest,
};
use crate::ports::{Applied, Clock, ProvisionStoreError, Store};
use crate::precondition::{GenerationMatch, PreconditionFailed};
use crate::selector::Selector;
use crate::server::{Server, ServerFilter, TerminatedServers};
use crate::service::engine::billed_by;
use crate::service::input::{page_limit, validate_name};
use crate::state::{Action, ServerState, join};
use crate::tenancy::{Caller, Role};

/// How many times an action or an update is re-planned when another writer changed the
/// server first.
pub(super) const ACT_ATTEMPTS: usize = 5;
/// The most events one history read returns.
pub const MAX_EVENTS: u32 = 100;
/// The most usage records one page of a server's billing holds, and the page size when none
/// is asked for.
pub const MAX_USAGE_RECORDS: u32 = 100;

/// A request to create a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionRequest {
    /// The region to place it in.
    pub region: String,
    /// Its server type.
    pub server_type: String,
    /// Its name; a default is made from the type and id when absent.
    pub name: Option<String>,
    /// Its labels, checked by the label rules (the service's prefix refused).
    pub labels: BTreeMap<String, String>,
}

/// A request to list servers, as the client gave it; validated by [`ServerService::list`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListRequest {
    /// Only this region.
    pub region: Option<String>,
    /// Only this server type.
    pub server_type: Option<String>,
    /// Only this state.
    pub state: Option<ServerState>,
    /// Only servers whose labels match this selector (the Kubernetes grammar).
    pub label_selector: Option<String>,
    /// Page size, 1 to 100; 20 when absent.
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items to skip first, at most [`MAX_OFFSET`].
    pub offset: Option<u64>,
}

/// A server with what it has cost so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerView {
    /// The server.
    pub server: Server,
    /// Its billing at the time of reading.
    pub billing: BillingSummary,
    /// The action record the request that returns the view opened (a provisioning or an
    /// accepted action), as it stood then; `None` for reads and no-ops.
    pub action: Option<ActionRecord>,
}

impl ServerView {
    /// The server as of `now`, with no action record.
    pub fn at(server: Server, now: DateTime<Utc>) -> Self {
        let billing = billing::summary(&server, now);
        ServerView {
            server,
            billing,
            action: None,
        }
    }
}

/// What an action did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActOutcome {
    /// The server after the action.
    pub view: ServerView,
    /// False when the action was a no-op.
    pub changed: bool,
    /// The amount the action added to the usage ledger (a run it closed).
    pub billed: Money,
}

/// A page of a server's usage ledger, with its totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageReport {
    /// The server, with its running totals.
    pub view: ServerView,
    /// A page of its usage records, oldest first.
    pub records: Vec<UsageRecord>,
    /// Where the next page starts, if there is one.
    pub next: Option<LedgerCursor>,
}

/// The client-facing use cases.
pub struct ServerService {
    pub(super) store: Arc<dyn Store>,
    pub(super) clock: Arc<dyn Clock>,
    catalog: Arc<Catalog>,
    config: LifecycleConfig,
    pub(super) ids: Arc<Entropy>,
    /// How long a terminated server stays in lists; `None`: for as long as it is stored.
    terminated_listed_for: Option<TimeDelta>,
    faults: Option<FaultInjector>,
}

impl ServerService {
    /// The service over its ports.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        catalog: Arc<Catalog>,
        config: LifecycleConfig,
    ) -> Self {
        Self {
            store,
            clock,
            catalog,
            config,
            ids: Arc::new(Entropy::os()),
            terminated_listed_for: None,
            faults: None,
        }
    }

    /// The same service, checking every operation against the fault rules of `faults`
    /// before it runs.
    pub fn with_faults(self, faults: FaultInjector) -> Self {
        Self {
            faults: Some(faults),
            ..self
        }
    }

    /// Lets `operation` on `target` run (after any latency a fault rule adds) or refuses it
    /// with a rule's error.
    pub(super) async fn admit(
        &self,
        operation: Operation,
        target: FaultTarget<'_>,
        ctx: &RequestContext,
    ) -> Result<(), FaultError> {
        match &self.faults {
            None => Ok(()),
            Some(faults) => faults.admit(operation, target, ctx).await,
        }
    }

    /// The service listing a terminated server only for `period` after it terminated
    /// (EC2 lists one for about an hour; `None`: for as long as it is stored), unless a
    /// list asks for `terminated` servers by state; a server stays readable by its id, and
    /// in every count, for as long as it is stored.
    pub fn listing_terminated_for(mut self, period: Option<TimeDelta>) -> Self {
        self.terminated_listed_for = period;
        self
    }

    /// The service drawing the ids of the servers and action records it creates from
    /// `ids` (the operating system by default).
    pub fn with_entropy(mut self, ids: Arc<Entropy>) -> Self {
        self.ids = ids;
        self
    }

    /// The catalog the service provisions from.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Creates a server of the caller's project in `provisioning` with an address from its
    /// region's pool.
    pub async fn provision(
        &self,
        caller: &Caller,
        request: ProvisionRequest,
        ctx: &RequestContext,
    ) -> Result<ServerView, ProvisionError> {
        caller.require(Role::Member)?;
        let region =
            self.catalog
                .region(&request.region)
                .ok_or_else(|| ProvisionError::UnknownRegion {
                    name: request.region.clone(),
                    known: join(self.catalog.regions().iter().map(|r| r.name.as_str())),
                })?;
        let server_type = self
            .catalog
            .server_type(&request.server_type)
            .ok_or_else(|| ProvisionError::UnknownServerType {
                name: request.server_type.clone(),
                known: join(self.catalog.server_types().iter().map(|t| t.name.as_str())),
            })?;
        let labels = Labels::from_client(request.labels)?;
        let id = self.ids.server_id();
        let name = match request.name {
            Some(name) => validate_name(name)?,
            None => format!("{}-{}", server_type.name, &id.to_string()[..8]),
        };
        let target = FaultTarget::Request {
            project: caller.project,
            region: &region.name,
            server_type: &server_type.name,
            labels: &labels,
        };
        self.admit(Operation::Provision, target, ctx).await?;
        let now = self.clock.now();
        let new = lifecycle::plan_provision(
            ServerSpec {
                id,
                project: caller.project,
                name,
                labels,
                region: region.name.clone(),
                server_type: server_type.name.clone(),
                hourly_price: server_type.hourly_price(),
                policy: self.catalog.policy(server_type),
                vcpus: server_type.vcpus,
            },
            now,
            &self.config,
            ctx,
            &self.ids,
        );
        let mut action = new.action.clone();
        let created = self.store.provision(new).await.map_err(|e| match e {
            ProvisionStoreError::PoolExhausted(region) => ProvisionError::PoolExhausted(region),
            ProvisionStoreError::QuotaExceeded(exceeded) => ProvisionError::QuotaExceeded(exceeded),
            ProvisionStoreError::NoProject(project) => ProvisionError::ProjectGone(project),
            ProvisionStoreError::NoPool(region) => ProvisionError::Store(StoreError::Unknown(
                anyhow::anyhow!("region '{region}' is in the catalog but has no pool in the store"),
            )),
            ProvisionStoreError::Store(e) => ProvisionError::Store(e),
        })?;
        let (server, ended) = self.complete_if_due(created, now).await?;
        if let Some(end) = ended {
            action.end(end);
        }
        let mut view = self.view(server, now);
        view.action = Some(action);
        Ok(view)
    }

    /// The server with this id, if the caller sees its project.
    pub async fn get(&self, caller: &Caller, id: ServerId) -> Result<ServerView, GetError> {
        let server = visible(&*self.store, caller, id)
            .await?
            .ok_or(GetError::NotFound(id))?;
        self.admit(
            Operation::Get,
            FaultTarget::Server(&server),
            &reader(caller),
        )
        .await?;
        Ok(self.view(server, self.clock.now()))
    }

    /// The server of an EC2 instance id, if the caller sees its project; `None` otherwise.
    pub async fn get_instance(
        &self,
        caller: &Caller,
        instance: &InstanceId,
    ) -> Result<Option<ServerView>, GetError> {
        let Some(server) = self.visible_instance(caller, instance).await? else {
            return Ok(None);
        };
        self.admit(
            Operation::Get,
            FaultTarget::Server(&server),
            &reader(caller),
        )
        .await?;
        Ok(Some(self.view(server, self.clock.now())))
    }

    /// The id of the server of an EC2 instance id, if the caller sees it: how the REST API
    /// takes an instance id in place of a server id.
    pub async fn server_of_instance(
        &self,
        caller: &Caller,
        instance: &InstanceId,
    ) -> Result<ServerId, GetError> {
        self.visible_instance(caller, instance)
            .await?
            .map(|server| server.id)
            .ok_or_else(|| GetError::NoInstance(instance.clone()))
    }

    /// The server of an EC2 instance id, if the caller sees its project: as [`visible`] by
    /// id.
    async fn visible_instance(
        &self,
        caller: &Caller,
        instance: &InstanceId,
    ) -> Result<Option<Server>, StoreError> {
        Ok(self
            .store
            .first_in_id_range(instance.server_ids())
            .await?
            .filter(|server| caller.sees(server.project)))
    }

    /// A page of the servers the caller sees that match the request's filters, in creation
    /// order.
    pub async fn list(
        &self,
        caller: &Caller,
        request: ListRequest,
    ) -> Result<Page<ServerView>, ListError> {
        if let Some((kind, name)) =
            self.unknown_filter(request.region.as_deref(), request.server_type.as_deref())
        {
            return Err(ListError::UnknownFilter { kind, name });
        }
        let limit =
            page_limit(request.limit, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE).map_err(|given| {
                ListError::BadLimit {
                    given,
                    max: MAX_PAGE_SIZE,
                }
            })?;
        let offset = request.offset.unwrap_or(0);
        if offset > MAX_OFFSET {
            return Err(ListError::BadOffset {
                given: offset,
                max: MAX_OFFSET,
            });
        }
        let after = request.cursor.as_deref().map(Cursor::decode).transpose()?;
        let selector = Selector::parse_filter(request.label_selector.as_deref())?;
        self.admit(
            Operation::List,
            FaultTarget::Project(caller.project),
            &reader(caller),
        )
        .await?;
        let now = self.clock.now();
        let terminated = self.listed_terminated(request.state, now);
        let filter = ServerFilter {
            project: caller.scope(),
            region: request.region,
            server_type: request.server_type,
            state: request.state,
            selector,
            terminated,
        };
        let page = PageRequest {
            limit: limit + 1,
            after,
            offset,
        };
        let mut servers = self.store.list(&filter, &page).await?;
        let next = if servers.len() > limit as usize {
            servers.truncate(limit as usize);
            servers.last().map(|s| Cursor {
                created_at: s.created_at,
                id: s.id,
            })
        } else {
            None
        };
        Ok(Page {
            items: servers.into_iter().map(|s| self.view(s, now)).collect(),
            next,
        })
    }

    /// Which terminated servers a list filtered by `state` shows at `now`: those terminated
    /// within the listing period when no state is asked for, every one otherwise.
    pub(super) fn listed_terminated(
        &self,
        state: Option<ServerState>,
        now: DateTime<Utc>,
    ) -> TerminatedServers {
        match (state, self.terminated_listed_for) {
            (None, Some(period)) => now
                .checked_sub_signed(period)
                .map_or(TerminatedServers::All, TerminatedServers::Since),
            _ => TerminatedServers::All,
        }
    }

    /// The first filter that names a region or server type the catalog lacks: its kind
    /// (`region` or `type`) and the name.
    pub(super) fn unknown_filter(
        &self,
        region: Option<&str>,
        server_type: Option<&str>,
    ) -> Option<(&'static str, String)> {
        if let Some(region) = region.filter(|r| self.catalog.region(r).is_none()) {
            return Some(("region", region.to_owned()));
        }
        server_type
            .filter(|t| self.catalog.server_type(t).is_none())
            .map(|t| ("type", t.to_owned()))
    }

    /// Starts, stops, reboots or terminates a server, as the lifecycle table says; with
    /// `expected`, only if the server is at one of its generations.
    pub async fn act(
        &self,
        caller: &Caller,
        id: ServerId,
        action: Action,
        expected: Option<&GenerationMatch>,
        ctx: &RequestContext,
    ) -> Result<ActOutcome, ActError> {
        let server = visible(&*self.store, caller, id)
            .await?
            .ok_or(ActError::NotFound(id))?;
        caller.require(Role::Member)?;
        self.admit(Operation::Act(action), FaultTarget::Server(&server), ctx)
            .await?;
        self.act_on(caller, server, action, expected, ctx).await
    }

    /// Acts on `server` as read, for a caller allowed to.
    ///
    /// When another writer changes the server between the read and the write, the action is
    /// planned again from the new state, so of two conflicting actions exactly one wins. A
    /// conditional action is not: the store's generation guard refused to write over a
    /// change the client has not seen, so the condition failed.
    pub(super) async fn act_on(
        &self,
        caller: &Caller,
        mut server: Server,
        action: Action,
        expected: Option<&GenerationMatch>,
        ctx: &RequestContext,
    ) -> Result<ActOutcome, ActError> {
        let id = server.id;
        for _ in 0..ACT_ATTEMPTS {
            if let Some(expected) = expected {
                expected.check(server.generation)?;
            }
            let now = self.clock.now();
            let Some(change) =
                lifecycle::plan_action(&server, action, now, &self.config, ctx, &self.ids)?
            else {
                return Ok(ActOutcome {
                    view: self.view(server, now),
                    changed: false,
                    billed: Money::ZERO,
                });
            };
            match self.store.apply(&change).await? {
                Applied::Done(server) => {
                    let mut view = self.view(*server, now);
                    view.action = change.action_opened.clone();
                    return Ok(ActOutcome {
                        view,
                        changed: change.carries_action(),
                        billed: billed_by(&change),
                    });
                }
                Applied::Missing => return Err(ActError::NotFound(id)),
                Applied::QuotaExceeded(exceeded) => return Err(ActError::QuotaExceeded(exceeded)),
                Applied::Stale => {
                    server = visible(&*self.store, caller, id)
                        .await?
                        .ok_or(ActError::NotFound(id))?;
                    if expected.is_some() {
                        return Err(stale(&server).into());
                    }
                }
            }
        }
        Err(ActError::Contended {
            id,
            attempts: ACT_ATTEMPTS,
        })
    }

    /// The newest events of a server, newest first (at most 100).
    pub async fn events(
        &self,
        caller: &Caller,
        id: ServerId,
        limit: Option<i64>,
    ) -> Result<Vec<Event>, HistoryError> {
        let limit =
            page_limit(limit, MAX_EVENTS, MAX_EVENTS).map_err(|given| HistoryError::BadLimit {
                given,
                max: MAX_EVENTS,
            })?;
        let server = self.require(caller, id).await?;
        self.admit(
            Operation::Events,
            FaultTarget::Server(&server),
            &reader(caller),
        )
        .await?;
        Ok(self.store.events(id, limit).await?)
    }

    /// A server's totals and a page of its usage records, oldest first: at most `limit`
    /// (1 to 100, 100 when absent), after the `cursor` of the previous page.
    pub async fn usage(
        &self,
        caller: &Caller,
        id: ServerId,
        limit: Option<i64>,
        cursor: Option<&str>,
    ) -> Result<UsageReport, HistoryError> {
        let limit = page_limit(limit, MAX_USAGE_RECORDS, MAX_USAGE_RECORDS).map_err(|given| {
            HistoryError::BadLimit {
                given,
                max: MAX_USAGE_RECORDS,
            }
        })?;
        let after = cursor.map(LedgerCursor::decode).transpose()?;
        let server = self.require(caller, id).await?;
        let mut entries = self.store.usage(id, after, limit + 1).await?;
        let next = if entries.len() > limit as usize {
            entries.truncate(limit as usize);
            entries.last().map(|entry| LedgerCursor(entry.position))
        } else {
            None
        };
        Ok(UsageReport {
            view: self.view(server, self.clock.now()),
            records: entries.into_iter().map(|entry| entry.record).collect(),
            next,
        })
    }

    async fn require(&self, caller: &Caller, id: ServerId) -> Result<Server, HistoryError> {
        visible(&*self.store, caller, id)
            .await?
            .ok_or(HistoryError::NotFound(id))
    }

    /// The server with its transition completed if it is due (a zero delay), and how that
    /// ended its running action.
    async fn complete_if_due(
        &self,
        server: Server,
        now: DateTime<Utc>,
    ) -> Result<(Server, Option<ActionEnd>), StoreError> {
        let Some(change) = lifecycle::plan_completion(&server, now, &self.config) else {
            return Ok((server, None));
        };
        match self.store.apply(&change).await? {
            Applied::Done(server) => Ok((*server, change.action_ended)),
            // A completion takes no vCPUs, so no store refuses one for a quota.
            Applied::Stale | Applied::Missing | Applied::QuotaExceeded(_) => {
                Ok((self.store.get(server.id).await?.unwrap_or(server), None))
            }
        }
    }

    pub(super) fn view(&self, server: Server, now: DateTime<Utc>) -> ServerView {
        ServerView::at(server, now)
    }
}

/// The context a read records a fault under: reads carry no request context, so the event
/// names the key but no request id.
pub(super) fn reader(caller: &Caller) -> RequestContext {
    RequestContext {
        actor: Actor::Api,
        request_id: None,
        trace: None,
        key: caller.key,
    }
}

/// The failed condition of a conditional change the store found stale: `server` is as it
/// is now.
pub(super) fn stale(server: &Server) -> PreconditionFailed {
    PreconditionFailed {
        current_generation: server.generation,
    }
}
