//! The HTTP adapter: its behaviour against mocked ports, and the OpenAPI documents it
//! generates.
//!
//! One test binary for the crate, so the tests link once, not once per file.

mod admin;
mod auth;
mod http;
mod idempotency;
mod labels;
mod limits;
mod problems;
mod spec;
mod support;
mod watch;
