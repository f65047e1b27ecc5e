//! What the binary provides to the operational routes: whether the service can serve, and
//! the metrics page. Both know the store and the workers, which this crate must not.

use std::fmt;

/// Whether the service can serve; answers `/readyz`.
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

/// Renders the metrics in the Prometheus text format; answers `/metrics`. The binary owns
/// the recorder and samples the store's gauges.
#[async_trait::async_trait]
pub trait MetricsExporter: Send + Sync {
    /// The current metrics.
    async fn render(&self) -> String;
}
