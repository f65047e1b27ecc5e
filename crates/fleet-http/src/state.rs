//! What the handlers share: the use cases, the optional virtual clock, and the probes the
//! binary provides for readiness and metrics.

use std::sync::Arc;

use fleet_domain::service::{Engine, ManualClock, ServerService};
use futures::lock::Mutex;
use slog::Logger;

/// Whether the service can serve; implemented by the binary, which knows the store and the
/// workers.
#[async_trait::async_trait]
pub trait Readiness: Send + Sync {
    /// `Ok` when ready, or the reason it is not.
    async fn check(&self) -> Result<(), String>;
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

/// The state every handler can reach.
pub struct AppState {
    /// The client-facing use cases.
    pub servers: Arc<ServerService>,
    /// Present only in virtual-clock mode; enables `/admin/clock`.
    pub virtual_clock: Option<VirtualClock>,
    /// Answers `/readyz`.
    pub readiness: Arc<dyn Readiness>,
    /// Answers `/metrics`.
    pub metrics: Arc<dyn MetricsExporter>,
    /// The logger request loggers derive from.
    pub logger: Logger,
}
