//! The Postgres store of fleet: the domain's store ports (`Store`, `StoreStatus`,
//! `TenancyStore`) over diesel-async (`AsyncPgConnection`, no libpq) and a deadpool
//! connection pool, with its migrations embedded from `migrations/postgres`.
//!
//! Every guarantee of the port holds across processes sharing the database: addresses are
//! allocated under row locks in the provisioning statement, changes are guarded by the
//! server's generation in the `UPDATE`, and due work is claimed with `FOR UPDATE SKIP LOCKED`.
//!
//! This crate depends on the domain only: never on actix, HTTP types, or another adapter.

mod changes;
mod config;
mod due;
mod errors;
mod fixed;
mod mapping;
mod migrate;
mod pools;
mod provision;
mod quotas;
mod reads;
mod rows;
mod schema;
mod store;
mod tenancy;
mod writes;

pub use config::PgPoolConfig;
pub use provision::PROVISION_STATEMENT;
pub use store::PgStore;
