//! The REST adapter of fleet: actix-web handlers over the domain's use cases, the OpenAPI
//! documents paperclip generates from them, Swagger UI, RFC 9457 problem responses, and the
//! metrics of what clients ask (actions, provisioning). The binary mounts it with
//! [`mount`] beside the operational routes and middleware of `fleet_ops` (request id,
//! access log, HTTP metrics, `/metrics`, `/healthz`, `/readyz`), which are not REST's.
//!
//! Handlers only parse, call one use case and map the result; every domain error becomes a
//! problem response in [`errors`], and only this crate knows the REST API's statuses and
//! JSON shapes. Handlers that change something run once per `Idempotency-Key`
//! ([`idempotency`]). Every API route takes its caller from [`auth::ApiCaller`], which checks the
//! request's API key (or, in open mode, lets a keyless request act as the admin of
//! `default`); the use cases decide what that caller may see and do.
//!
//! It must never depend on a store crate, diesel, SQL, another driving adapter or the
//! binary: it sees the store only through the domain's use cases. It must not own the
//! operational routes either (`cargo xtask arch` checks both).

mod app;
pub mod auth;
pub mod body;
pub mod conditional;
pub mod dto;
pub mod errors;
pub mod extract;
pub mod handlers;
pub mod idempotency;
pub mod metrics;
mod middleware;
pub mod negotiate;
pub mod pause;
pub mod problem;
pub mod query;
pub mod request;
mod responses;
pub mod resume;
mod routes;
pub mod server_key;
pub mod shutdown;
pub mod spec;
pub mod state;
pub mod swagger;

pub use app::mount;
pub use auth::{AuthMode, Authenticator};
pub use problem::Problem;
pub use shutdown::{Shutdown, ShutdownTrigger};
pub use state::{AppState, Services, VirtualClock};
