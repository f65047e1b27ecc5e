//! The store's work, as synchronous functions over one connection; each runs whole on the
//! blocking thread (see `db`).

pub(crate) mod actions;
pub(crate) mod batch;
pub(crate) mod changes;
pub(crate) mod costs;
pub(crate) mod due;
pub(crate) mod event_selector;
pub(crate) mod idempotency;
pub(crate) mod listing;
pub(crate) mod pools;
pub(crate) mod quotas;
pub(crate) mod reads;
pub(crate) mod rollups;
pub(crate) mod selector;
pub(crate) mod sequence;
pub(crate) mod tenancy;

/// Rows per multi-row insert, far below SQLite's limit on bound parameters.
pub(crate) const INSERT_CHUNK: usize = 500;

/// The database's clock (the host's), in microseconds since the epoch, as every instant is
/// stored: what leases are measured on.
pub(crate) const DB_NOW: &str = "CAST(unixepoch('subsec') * 1000000 AS INTEGER)";
