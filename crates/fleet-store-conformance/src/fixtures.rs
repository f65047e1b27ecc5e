//! Building blocks of the cases: fixed times, pools, and servers moved through their
//! lifecycle with the domain's own planning functions.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use fleet_domain::ServerFilter;
use fleet_domain::catalog::RegionSpec;
use fleet_domain::lifecycle::{self, LifecycleConfig, ServerSpec, StateChange, TransitionDelays};
use fleet_domain::page::LedgerCursor;
use fleet_domain::ports::{Applied, DueWork, Planner};
use fleet_domain::{
    Action, Event, IpPool, Labels, Money, NewServer, ProjectId, RequestContext, Server, ServerId,
    UsageRecord,
};

use crate::TestedStore;

/// The price of the servers the cases create.
pub(crate) const PRICE: Money = Money::from_micros(11_600);
/// The vCPUs of every server the suite provisions.
pub(crate) const VCPUS: u32 = 2;

/// 2026-01-01T00:00:00Z: every case's time starts here.
pub(crate) fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).expect("a valid timestamp")
}

/// `t0` plus whole seconds.
pub(crate) fn at(seconds: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(seconds)
}

/// 10 s to provision, 5 s for the other transitions, billing every 60 s, idle after 30 min.
pub(crate) fn config() -> LifecycleConfig {
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

/// A config whose transitions all complete at once.
pub(crate) fn instant_config() -> LifecycleConfig {
    LifecycleConfig {
        delays: TransitionDelays::ZERO,
        ..config()
    }
}

/// A region spec.
pub(crate) fn region(name: &str, cidr: &str) -> RegionSpec {
    RegionSpec {
        name: name.to_owned(),
        cidr: pool(cidr),
    }
}

/// A pool from its CIDR text.
pub(crate) fn pool(cidr: &str) -> IpPool {
    cidr.parse().expect("a valid CIDR in the suite")
}

/// Syncs the store's pools to `regions` (name, CIDR).
pub(crate) async fn pools(store: &Arc<dyn TestedStore>, regions: &[(&str, &str)]) {
    let specs: Vec<RegionSpec> = regions.iter().map(|(n, c)| region(n, c)).collect();
    store.sync_pools(&specs).await.expect("sync_pools");
}

/// What the provisioning use case hands the store for a server of the project `default`
/// created at `now`.
pub(crate) fn new_server(region: &str, server_type: &str, now: DateTime<Utc>) -> NewServer {
    new_server_in(ProjectId::DEFAULT, region, server_type, now)
}

/// What the provisioning use case hands the store for a server of `project` created at
/// `now`, with one label, so that every case stores, reads and deletes labels too.
pub(crate) fn new_server_in(
    project: ProjectId,
    region: &str,
    server_type: &str,
    now: DateTime<Utc>,
) -> NewServer {
    new_server_with_id(ServerId::random(), project, region, server_type, now)
}

/// [`new_server_in`] with this id.
pub(crate) fn new_server_with_id(
    id: ServerId,
    project: ProjectId,
    region: &str,
    server_type: &str,
    now: DateTime<Utc>,
) -> NewServer {
    lifecycle::plan_provision(
        ServerSpec {
            id,
            project,
            name: format!("{server_type}-{}", &id.to_string()[..8]),
            labels: Labels::from_client([("suite".to_owned(), "conformance".to_owned())].into())
                .expect("a valid label"),
            region: region.to_owned(),
            server_type: server_type.to_owned(),
            hourly_price: PRICE,
            policy: fleet_domain::billing::BillingPolicy::default(),
            vcpus: VCPUS,
        },
        now,
        &config(),
        // Every event a store writes for it carries a trace context to keep.
        &RequestContext::api(format!("req-{id}")).in_trace(fleet_domain::TraceContext::new(
            id.as_uuid().as_u128() | 1,
            0x00f0_67aa_0ba9_02b7,
        )),
        &fleet_domain::Entropy::os(),
    )
}

/// Provisions a `t2.micro` in `region` at `now`, which must succeed.
pub(crate) async fn provision(
    store: &Arc<dyn TestedStore>,
    region: &str,
    now: DateTime<Utc>,
) -> Server {
    store
        .provision(new_server(region, "t2.micro", now))
        .await
        .expect("provision")
}

/// Applies a change that must not be stale, and returns the server after it.
pub(crate) async fn apply(store: &Arc<dyn TestedStore>, change: &StateChange) -> Server {
    match store.apply(change).await.expect("apply") {
        Applied::Done(server) => *server,
        other => panic!("change to {} was {other:?}", change.server.id),
    }
}

/// The change an API client's `action` makes at `now`, which must be a transition.
pub(crate) fn plan(
    server: &Server,
    action: Action,
    now: DateTime<Utc>,
    config: &LifecycleConfig,
) -> StateChange {
    lifecycle::plan_action(
        server,
        action,
        now,
        config,
        &RequestContext::api("req-act"),
        &fleet_domain::Entropy::os(),
    )
    .expect("the action is allowed")
    .expect("the action changes the server")
}

/// Applies `action` at `now` with the suite's config.
pub(crate) async fn act(
    store: &Arc<dyn TestedStore>,
    server: &Server,
    action: Action,
    now: DateTime<Utc>,
) -> Server {
    apply(store, &plan(server, action, now, &config())).await
}

/// Completes the server's transitional state at its due time.
pub(crate) async fn complete(store: &Arc<dyn TestedStore>, server: &Server) -> Server {
    let due = server.transition_due_at.expect("a transitional server");
    let change = lifecycle::plan_completion(server, due, &config()).expect("a due completion");
    apply(store, &change).await
}

/// A server provisioned at `now` and brought to `running` (10 s later).
pub(crate) async fn running(
    store: &Arc<dyn TestedStore>,
    region: &str,
    now: DateTime<Utc>,
) -> Server {
    let server = provision(store, region, now).await;
    complete(store, &server).await
}

/// A server provisioned at `now`, run, and stopped (it is `stopped` from `now + 20 s`).
pub(crate) async fn stopped(
    store: &Arc<dyn TestedStore>,
    region: &str,
    now: DateTime<Utc>,
) -> Server {
    let server = running(store, region, now).await;
    let stopping = act(store, &server, Action::Stop, now + TimeDelta::seconds(15)).await;
    complete(store, &stopping).await
}

/// The stored server with this id, which must exist.
pub(crate) async fn get(store: &Arc<dyn TestedStore>, id: ServerId) -> Server {
    store
        .get(id)
        .await
        .expect("get")
        .expect("the server exists")
}

/// How many servers one `process_due` call changed.
pub(crate) async fn processed(
    store: &Arc<dyn TestedStore>,
    work: DueWork,
    limit: u32,
    plan: &Planner,
) -> u32 {
    store
        .process_due(work, limit, plan)
        .await
        .expect("process_due")
}

/// Every server, in list order.
pub(crate) async fn all_servers(store: &Arc<dyn TestedStore>) -> Vec<Server> {
    list(store, &ServerFilter::default(), 100, None, 0).await
}

/// One `list` call.
pub(crate) async fn list(
    store: &Arc<dyn TestedStore>,
    filter: &ServerFilter,
    limit: u32,
    after: Option<&Server>,
    offset: u64,
) -> Vec<Server> {
    let page = fleet_domain::PageRequest {
        limit,
        after: after.map(|s| fleet_domain::Cursor {
            created_at: s.created_at,
            id: s.id,
        }),
        offset,
    };
    store.list(filter, &page).await.expect("list")
}

/// The ids of servers, in order.
pub(crate) fn ids(servers: &[Server]) -> Vec<ServerId> {
    servers.iter().map(|s| s.id).collect()
}

/// Servers sorted as lists return them: by (created_at, id).
pub(crate) fn in_list_order(mut servers: Vec<Server>) -> Vec<Server> {
    servers.sort_by_key(|s| (s.created_at, s.id));
    servers
}

/// Records which servers a planner was offered, as it was offered them, in order.
#[derive(Default)]
pub(crate) struct Offered(Mutex<Vec<Server>>);

impl Offered {
    /// Notes that `server` was offered.
    pub(crate) fn note(&self, server: &Server) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(server.clone());
    }

    /// Takes what was offered so far.
    pub(crate) fn take(&self) -> Vec<Server> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Events without their sequence numbers, to compare histories read at different times: a
/// store may number a committed event a moment later (see `EventLog`).
pub(crate) fn unnumbered(events: Vec<Event>) -> Vec<Event> {
    events
        .into_iter()
        .map(|event| Event { seq: None, ..event })
        .collect()
}

/// Every usage record of a server, oldest first, read three at a time so that each case
/// that reads a ledger also pages it.
pub(crate) async fn ledger(store: &Arc<dyn TestedStore>, id: ServerId) -> Vec<UsageRecord> {
    let mut records = Vec::new();
    let mut after = None;
    loop {
        let page = store.usage(id, after, 3).await.expect("usage");
        let full = page.len() == 3;
        after = page.last().map(|entry| LedgerCursor(entry.position));
        records.extend(page.into_iter().map(|entry| entry.record));
        if !full {
            return records;
        }
    }
}
