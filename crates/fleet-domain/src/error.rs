//! Domain errors: one enum per use case, with typed variants the HTTP layer maps to statuses.

use crate::ids::ServerId;
use crate::page::BadCursor;
use crate::state::Conflict;

/// A store failure, split by what a client can do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached or is overloaded; retrying later may work.
    #[error("the store is unavailable: {0}")]
    Unavailable(anyhow::Error),
    /// Anything else.
    #[error("store failure: {0}")]
    Unknown(anyhow::Error),
}

/// Why a server could not be provisioned.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// Not a region of the catalog.
    #[error("unknown region '{name}'; known regions: {known}")]
    UnknownRegion {
        /// What was asked for.
        name: String,
        /// The catalog's regions, comma separated.
        known: String,
    },
    /// Not a server type of the catalog.
    #[error("unknown server type '{name}'; known types: {known}")]
    UnknownServerType {
        /// What was asked for.
        name: String,
        /// The catalog's types, comma separated.
        known: String,
    },
    /// A name that is empty, too long or has control characters.
    #[error("invalid name: {0}")]
    InvalidName(&'static str),
    /// The region has no free address.
    #[error("the address pool of region '{0}' is exhausted")]
    PoolExhausted(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a server could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GetError {
    /// No server has this id.
    #[error("server {0} not found")]
    NotFound(ServerId),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why servers could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// A filter names a region or type the catalog does not have.
    #[error("unknown {kind} '{name}' in filter")]
    UnknownFilter {
        /// "region" or "type".
        kind: &'static str,
        /// The value given.
        name: String,
    },
    /// A page size outside 1 to 100.
    #[error("limit must be between 1 and {max}, got {given}")]
    BadLimit {
        /// What was given.
        given: i64,
        /// The largest page.
        max: u32,
    },
    /// A cursor this service did not hand out.
    #[error(transparent)]
    BadCursor(#[from] BadCursor),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an action on a server failed.
#[derive(Debug, thiserror::Error)]
pub enum ActError {
    /// No server has this id.
    #[error("server {0} not found")]
    NotFound(ServerId),
    /// The server's state does not allow the action.
    #[error(transparent)]
    Conflict(#[from] Conflict),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a server's history (events or usage) could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// No server has this id.
    #[error("server {0} not found")]
    NotFound(ServerId),
    /// A page size outside what the history allows.
    #[error("limit must be between 1 and {max}, got {given}")]
    BadLimit {
        /// What was given.
        given: i64,
        /// The largest page.
        max: u32,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
