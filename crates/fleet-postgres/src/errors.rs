//! How database and pool failures become domain errors: what a retry may fix is
//! `Unavailable` (a 503), everything else `Unknown`.

use anyhow::anyhow;
use diesel::result::{DatabaseErrorKind, Error as DbError};
use fleet_domain::error::StoreError;
use fleet_domain::ports::ProvisionStoreError;

use crate::mapping::MappingError;

/// Server messages of failures that are over when the database is back or less busy.
const TRANSIENT_MESSAGES: [&str; 5] = [
    "terminating connection",
    "the database system is",
    "deadlock detected",
    "could not serialize access",
    "too many connections",
];

/// A failed query.
pub(crate) fn db(error: DbError) -> StoreError {
    let transient = match &error {
        DbError::DatabaseError(kind, info) => match kind {
            DatabaseErrorKind::UnableToSendCommand
            | DatabaseErrorKind::ClosedConnection
            | DatabaseErrorKind::SerializationFailure => true,
            // Never expected (ids are random, addresses are allocated under locks), but a
            // client must see a retryable failure, never a 500.
            DatabaseErrorKind::UniqueViolation => true,
            _ => TRANSIENT_MESSAGES
                .iter()
                .any(|m| info.message().contains(m)),
        },
        _ => false,
    };
    if transient {
        StoreError::Unavailable(anyhow!(error))
    } else {
        StoreError::Unknown(anyhow!(error))
    }
}

/// No connection could be had from the pool: the database is down, unreachable or saturated.
pub(crate) fn pool(error: diesel_async::pooled_connection::deadpool::PoolError) -> StoreError {
    StoreError::Unavailable(anyhow!("no database connection: {error}"))
}

/// Why a transaction was rolled back.
#[derive(Debug)]
pub(crate) enum TxError {
    /// A query failed.
    Db(DbError),
    /// A stored row the code cannot read.
    Corrupt(MappingError),
    /// Provisioning was refused (no pool, pool exhausted).
    Provision(ProvisionStoreError),
    /// A refusal already expressed as a store error.
    Store(StoreError),
}

impl From<DbError> for TxError {
    fn from(error: DbError) -> Self {
        TxError::Db(error)
    }
}

impl From<TxError> for StoreError {
    fn from(error: TxError) -> Self {
        match error {
            TxError::Db(e) => db(e),
            TxError::Corrupt(e) => StoreError::Unknown(e.context("unreadable row")),
            TxError::Provision(ProvisionStoreError::Store(e)) | TxError::Store(e) => e,
            TxError::Provision(e) => StoreError::Unknown(anyhow!(e)),
        }
    }
}

impl From<TxError> for ProvisionStoreError {
    fn from(error: TxError) -> Self {
        match error {
            TxError::Provision(e) => e,
            other => ProvisionStoreError::Store(other.into()),
        }
    }
}
