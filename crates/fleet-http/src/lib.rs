//! The HTTP adapter of fleet: actix-web handlers over the domain's use cases, the OpenAPI
//! documents paperclip generates from them, Swagger UI, RFC 9457 problem responses, the
//! request-id and access-log middleware, and the HTTP metrics.
//!
//! Handlers only parse, call one use case and map the result; every domain error becomes a
//! problem response in [`errors`], and only this crate knows HTTP statuses and JSON shapes.
//!
//! It must never depend on a store crate, diesel, SQL or the binary: it sees the store only
//! through the domain's use cases, and readiness and metrics rendering through the
//! [`Readiness`] and [`MetricsExporter`] traits the binary implements.

mod app;
pub mod body;
pub mod dto;
pub mod errors;
pub mod extract;
pub mod handlers;
pub mod metrics;
mod middleware;
pub mod problem;
pub mod request;
mod responses;
mod routes;
pub mod spec;
pub mod state;
pub mod swagger;

pub use app::app;
pub use problem::Problem;
pub use state::{AppState, MetricsExporter, NotReady, Readiness, VirtualClock};
