//! What the handlers share: the use cases, the authenticator, the optional virtual clock
//! and the shutdown signal of long-lived responses.

use std::sync::Arc;

use fleet_domain::service::{
    BudgetService, CatalogService, CostService, Engine, FaultService, IdempotencyService,
    ManualClock, ProjectService, ServerService, WatchService, WebhookService,
};
use futures::lock::Mutex;

use crate::auth::Authenticator;
use crate::shutdown::Shutdown;
use crate::spec::{self, Specs};

/// The virtual clock and the engine that runs the work falling due as it moves.
pub struct VirtualClock {
    /// The clock every use case reads.
    pub clock: Arc<ManualClock>,
    /// The engine over the same clock.
    pub engine: Arc<Engine>,
    /// Serializes moves, so two concurrent advances do their work in time order.
    pub(crate) moving: Mutex<()>,
}

impl VirtualClock {
    /// The admin API over `clock`, moved by `engine` (which must read `clock`).
    pub fn new(clock: Arc<ManualClock>, engine: Arc<Engine>) -> Self {
        Self {
            clock,
            engine,
            moving: Mutex::new(()),
        }
    }
}

/// The use cases of one server worker: over stores whose connections live on its thread.
pub struct Services {
    /// Servers.
    pub servers: Arc<ServerService>,
    /// Projects and keys.
    pub projects: Arc<ProjectService>,
    /// Events, waits and action records.
    pub watch: Arc<WatchService>,
    /// Idempotency keys.
    pub idempotency: Arc<IdempotencyService>,
    /// Fault rules.
    pub faults: Arc<FaultService>,
    /// Webhook subscriptions and their deliveries.
    pub webhooks: Arc<WebhookService>,
    /// Cost reports and forecasts.
    pub costs: Arc<CostService>,
    /// Budgets.
    pub budgets: Arc<BudgetService>,
}

/// The state every handler can reach; made once by [`AppState::new`], and given to each
/// server worker as is or, with use cases of its own, by [`AppState::with_services`].
#[derive(Clone)]
pub struct AppState {
    /// The client-facing use cases.
    pub servers: Arc<ServerService>,
    /// Projects and keys: the admin API's use cases, and checking a presented key.
    pub projects: Arc<ProjectService>,
    /// Events, waits and action records.
    pub watch: Arc<WatchService>,
    /// Idempotency keys.
    pub idempotency: Arc<IdempotencyService>,
    /// Fault rules.
    pub faults: Arc<FaultService>,
    /// Webhook subscriptions and their deliveries.
    pub webhooks: Arc<WebhookService>,
    /// Cost reports and forecasts.
    pub costs: Arc<CostService>,
    /// Budgets.
    pub budgets: Arc<BudgetService>,
    /// Who is calling; one per process, shared by every worker (with its key cache).
    pub auth: Authenticator,
    /// The catalog and its pools' usage.
    pub catalog: Arc<CatalogService>,
    /// Present only in virtual-clock mode; enables `/admin/clock`.
    pub virtual_clock: Option<Arc<VirtualClock>>,
    /// Ends event streams and waits when the service shuts down.
    pub shutdown: Shutdown,
    /// The OpenAPI documents of this API (with the admin routes when the virtual clock is
    /// present), generated once here rather than by every worker's [`crate::mount`].
    specs: Arc<Specs>,
}

impl AppState {
    /// The state of the API over these use cases; generates its OpenAPI documents.
    pub fn new(
        services: Services,
        auth: Authenticator,
        catalog: Arc<CatalogService>,
        virtual_clock: Option<VirtualClock>,
        shutdown: Shutdown,
    ) -> Self {
        let specs = Arc::new(spec::generate(virtual_clock.is_some()));
        Self {
            servers: services.servers,
            projects: services.projects,
            watch: services.watch,
            idempotency: services.idempotency,
            faults: services.faults,
            webhooks: services.webhooks,
            costs: services.costs,
            budgets: services.budgets,
            auth,
            catalog,
            virtual_clock: virtual_clock.map(Arc::new),
            shutdown,
            specs,
        }
    }

    /// The same state with other use cases: a server worker's own (over a store whose
    /// connections live on the worker's thread), sharing everything else, the
    /// authenticator's cache included.
    pub fn with_services(&self, services: Services) -> Self {
        Self {
            servers: services.servers,
            projects: services.projects,
            watch: services.watch,
            idempotency: services.idempotency,
            faults: services.faults,
            webhooks: services.webhooks,
            costs: services.costs,
            budgets: services.budgets,
            ..self.clone()
        }
    }

    /// The OpenAPI documents served at `/api/spec/v2` and `/api/spec/v3`.
    pub fn specs(&self) -> &Specs {
        &self.specs
    }
}
