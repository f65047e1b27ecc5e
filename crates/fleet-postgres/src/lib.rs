//! The Postgres store of fleet: the domain's store ports (`Store`, `StoreStatus`,
//! `TenancyStore`, `EventLog`, `ActionStore`, `IdempotencyStore`, `FaultStore`,
//! `WebhookStore`) over diesel-async (`AsyncPgConnection`, no libpq) and a deadpool
//! connection pool, with its migrations embedded from `migrations/postgres`.
//!
//! Every guarantee of the port holds across processes sharing the database: addresses are
//! allocated under row locks in the provisioning statement, changes are guarded by the
//! server's generation in the `UPDATE`, due work is claimed with `FOR UPDATE SKIP LOCKED`,
//! and events are numbered by passes serialized on one row lock (see `sequencer`), which the
//! process's [`EventFeed`] runs and whose horizons it learns by `LISTEN`.
//!
//! This crate depends on the domain only: never on actix, HTTP types, or another adapter.

mod actions;
mod budget_store;
mod changes;
mod config;
mod costs;
mod due;
mod errors;
mod event_log;
mod event_store;
mod fault_store;
mod feed;
mod fixed;
mod idempotency;
mod key_store;
mod mapping;
mod migrate;
mod pools;
mod provision;
mod quotas;
mod reads;
mod rows;
mod schema;
mod selector;
mod sequencer;
mod store;
mod tenancy;
mod usage;
mod webhook_outbox;
mod webhook_rows;
mod webhook_store;
mod writes;

pub use config::PgPoolConfig;
pub use feed::{EventFeed, FeedReport};
pub use provision::PROVISION_STATEMENT;
// The fixed-text statements of a lifecycle action's transaction (`Store::apply`), for the
// benchmark's database limit of an action; the others it sends are built by diesel.
pub use actions::INSERT as INSERT_ACTIONS_STATEMENT;
pub use changes::UPDATE_SERVERS as UPDATE_SERVERS_STATEMENT;
pub use rows::SERVER_COLUMNS;
pub use store::PgStore;
pub use usage::INSERT as INSERT_USAGE_STATEMENT;
