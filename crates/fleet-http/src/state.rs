//! What the handlers share: the use cases, the optional virtual clock, and the probes the
//! binary provides for readiness and metrics.

use std::fmt;
use std::sync::Arc;

use fleet_domain::service::{CatalogService, Engine, ManualClock, ServerService};
use futures::lock::Mutex;
use slog::Logger;

use crate::spec::{self, Specs};

/// Whether the service can serve; implemented by the binary, which knows the store and the
/// workers.
#[async_trait::async_trait]
pub trait Readiness: Send + Sync {
    /// `Ok` when ready, or why it is not.
    async fn check(&self) -> Result<(), NotReady>;
}

/// Why the service cannot serve. `/readyz` answers with the short [`NotReady::reason`]
/// only; the detail (a driver message with hosts and ports, say) goes to the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReady {
    /// The database does not answer.
    DatabaseUnreachable(String),
    /// The database schema is older than this service's: migrations are to be applied.
    MigrationsPending(String),
    /// The database schema is newer than this service's: a newer version migrated it.
    SchemaNewer(String),
    /// The lifecycle workers do not run.
    WorkersStopped(String),
    /// The lifecycle workers run, but their last pass failed.
    WorkersFailing(String),
}

impl NotReady {
    /// The short reason, safe to show to any caller.
    pub fn reason(&self) -> &'static str {
        match self {
            NotReady::DatabaseUnreachable(_) => "database unreachable",
            NotReady::MigrationsPending(_) => "migrations pending",
            NotReady::SchemaNewer(_) => "database schema newer than this service",
            NotReady::WorkersStopped(_) => "workers stopped",
            NotReady::WorkersFailing(_) => "worker passes failing",
        }
    }

    /// The detail, for the log only.
    pub fn detail(&self) -> &str {
        match self {
            NotReady::DatabaseUnreachable(detail)
            | NotReady::MigrationsPending(detail)
            | NotReady::SchemaNewer(detail)
            | NotReady::WorkersStopped(detail)
            | NotReady::WorkersFailing(detail) => detail,
        }
    }
}

impl fmt::Display for NotReady {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason(), self.detail())
    }
}

/// Renders the metrics in the Prometheus text format; implemented by the binary, which owns
/// the recorder and samples the store's gauges.
#[async_trait::async_trait]
pub trait MetricsExporter: Send + Sync {
    /// The current metrics.
    async fn render(&self) -> String;
}

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

/// The state every handler can reach; made once by [`AppState::new`], and given to each
/// server worker as is or, with use cases of its own, by [`AppState::with_servers`].
#[derive(Clone)]
pub struct AppState {
    /// The client-facing use cases.
    pub servers: Arc<ServerService>,
    /// The catalog and its pools' usage.
    pub catalog: Arc<CatalogService>,
    /// Present only in virtual-clock mode; enables `/admin/clock`.
    pub virtual_clock: Option<Arc<VirtualClock>>,
    /// Answers `/readyz`.
    pub readiness: Arc<dyn Readiness>,
    /// Answers `/metrics`.
    pub metrics: Arc<dyn MetricsExporter>,
    /// The logger request loggers derive from.
    pub logger: Logger,
    /// The OpenAPI documents of this API (with the admin routes when the virtual clock is
    /// present), generated once here rather than by every worker's [`crate::app`].
    specs: Arc<Specs>,
}

impl AppState {
    /// The state of the API over these use cases and probes; generates its OpenAPI
    /// documents.
    pub fn new(
        servers: Arc<ServerService>,
        catalog: Arc<CatalogService>,
        virtual_clock: Option<VirtualClock>,
        readiness: Arc<dyn Readiness>,
        metrics: Arc<dyn MetricsExporter>,
        logger: Logger,
    ) -> Self {
        let specs = Arc::new(spec::generate(virtual_clock.is_some()));
        Self {
            servers,
            catalog,
            virtual_clock: virtual_clock.map(Arc::new),
            readiness,
            metrics,
            logger,
            specs,
        }
    }

    /// The same state with other use cases: a server worker's own (over a store whose
    /// connections live on the worker's thread), sharing everything else.
    pub fn with_servers(&self, servers: Arc<ServerService>) -> Self {
        Self {
            servers,
            ..self.clone()
        }
    }

    /// The OpenAPI documents served at `/api/spec/v2` and `/api/spec/v3`.
    pub fn specs(&self) -> &Specs {
        &self.specs
    }
}
