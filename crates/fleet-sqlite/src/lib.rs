//! The embedded store: fleet's store ports (`Store`, `StoreStatus`, `TenancyStore`,
//! `EventLog`, `ActionStore`, `IdempotencyStore`, `FaultStore`, `WebhookStore`) over one
//! SQLite database (file or memory), so a fresh checkout runs with no database to install.
//!
//! It holds every guarantee of the `Store` port that can hold in one process, and across
//! processes sharing one file: every write is a `BEGIN IMMEDIATE` transaction, state changes
//! are guarded by generation, addresses come from a counter plus a free list.
//!
//! It depends on `fleet-domain`, diesel and tokio: never on another adapter (Postgres, HTTP)
//! or on `fleetd`, and no type of its rows, schema or SQL leaves the crate.

mod budget_store;
mod db;
mod errors;
mod event_store;
mod fault_store;
mod group;
mod horizon;
mod key_store;
mod location;
mod mapping;
mod migrate;
mod open;
mod ops;
mod readers;
mod rows;
mod schema;
mod store;
mod webhook_outbox;
mod webhook_rows;
mod webhook_store;

pub use location::{LocationError, SqliteLocation};
pub use open::SqliteOptions;
pub use store::SqliteStore;
