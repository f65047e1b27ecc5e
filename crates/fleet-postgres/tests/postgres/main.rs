//! The Postgres store against a real server, each test on a database of its own (see
//! `support`): the shared conformance suite, and what only Postgres has to prove.
//!
//! One test binary for the crate, so the tests link once, not once per file.

mod concurrency;
mod conformance;
mod labels;
mod migrations;
mod pools;
mod runtimes;
mod schema;
mod sequence;
mod statements;
mod support;
mod tenancy;
mod unavailable;
mod webhooks;
