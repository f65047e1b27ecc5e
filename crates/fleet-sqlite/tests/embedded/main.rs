//! The embedded store: the shared conformance suite, and what only the embedded store has
//! to prove: its file outlives the process, its memory mode is a real store, it refuses a
//! newer schema and migrates an older one with its data, its locking holds across
//! connections, and a batch writes only its fresh changes in a bounded number of statements.
//!
//! One test binary for the crate, so the tests link once, not once per file.

mod batch;
mod common;
mod concurrency;
mod conformance;
mod migrations;
mod persistence;
mod statements;
mod webhooks;
