//! Operational HTTP shared by every driving adapter of fleet (the REST API today, the EC2
//! Query API later): what an operator needs from any HTTP endpoint, whatever API it serves.
//!
//! - [`observe`], the outermost middleware: gives each request its [`RequestScope`] (request
//!   id and logger), echoes the id in `X-Request-Id`, writes the access-log line and records
//!   the HTTP metrics, whose labels all come from fixed sets ([`labels`]).
//! - Tracing: [`observe`] gives each request a server span in its W3C trace (`traceparent`),
//!   runs the request in that span's context, and puts its trace id in the scope's logger;
//!   adapters put it on what the request records ([`RequestScope::trace_ids`]).
//! - [`session`]: the console's session cookie and CSRF header, which the console sets and
//!   the REST API accepts.
//! - [`usage`]: when a key was last used, recorded at most once a minute per key.
//! - [`routes`]: `GET /metrics`, `/healthz` and `/readyz`, outside every API spec, answered
//!   through the [`Readiness`] and [`MetricsExporter`] traits the binary implements.
//!
//! The binary composes an application as: these routes first, then each adapter's routes,
//! all wrapped in [`observe`]. An adapter renders its own errors (a REST problem, an EC2 XML
//! error) and reads the request id from the [`RequestScope`] extension.
//!
//! It must never depend on an adapter crate (`fleet-http`), a store crate, the binary, the
//! domain, or an API-spec generator: it knows HTTP, not servers.

pub mod labels;
pub mod metrics;
mod observe;
mod ports;
mod problem;
pub mod ratelimit;
mod routes;
mod scope;
pub mod session;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod trace;
pub mod usage;

pub use observe::observe;
pub use ports::{MetricsExporter, NotReady, Readiness};
pub use problem::{FailureCause, PROBLEM_JSON, problem};
pub use routes::{HEALTHZ_PATH, METRICS_PATH, Ops, PROMETHEUS_TEXT, READYZ_PATH, routes};
pub use scope::{MAX_REQUEST_ID_LEN, REQUEST_ID_HEADER, RequestIds, RequestScope, is_sane};

#[cfg(test)]
mod tests;
