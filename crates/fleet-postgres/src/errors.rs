//! How database and pool failures become domain errors: what a retry may fix is
//! `Unavailable` (a 503), everything else `Unknown`.
//!
//! The SQLSTATE is the right thing to classify by, but diesel hands over only part of it:
//! diesel-async turns the codes it knows into a `DatabaseErrorKind` (40001
//! `SerializationFailure`, 25006 `ReadOnlyTransaction`, 23505 `UniqueViolation`, ...) and
//! keeps the server's message; neither `DatabaseErrorInformation` nor the error's source
//! chain carries the code itself. So the failures with a kind of their own are classified
//! by it, and the other transient ones (deadlock 40P01, statement and lock timeouts 57014
//! and 55P03, server shutting down or starting 57P01/57P03, too many connections 53300) by
//! the server's message text.
//!
//! **The database server must therefore report errors in English** (`lc_messages` set to
//! `C` or an English locale, the default of the official images and packages): with
//! translated messages those failures become `Unknown` (a 500) instead of `Unavailable`.

use anyhow::anyhow;
use diesel::result::{DatabaseErrorKind, Error as DbError};
use fleet_domain::error::StoreError;
use fleet_domain::ports::ProvisionStoreError;

use crate::mapping::MappingError;

/// Server messages (in English: see the module's note) of failures that are over when the
/// database is back, less busy, or writable again, and that have no `DatabaseErrorKind`.
const TRANSIENT_MESSAGES: [&str; 8] = [
    // 57P01 admin_shutdown, 57P02 crash_shutdown, 25P03/57P05 idle timeouts.
    "terminating connection",
    // 57P03 cannot_connect_now: "the database system is starting up / shutting down / ...".
    "the database system is",
    // 40P01 deadlock_detected.
    "deadlock detected",
    // 40001 when it comes without its kind (e.g. "could not serialize access due to ...").
    "could not serialize access",
    // 53300 too_many_connections: "too many connections for role/database ...".
    "too many connections",
    // 53300 too_many_connections: "sorry, too many clients already".
    "too many clients",
    // 57014 query_canceled by statement_timeout.
    "canceling statement due to statement timeout",
    // 55P03 lock_not_available by lock_timeout.
    "canceling statement due to lock timeout",
];

/// Whether a database error is one a retry may get past.
fn is_transient(kind: &DatabaseErrorKind, message: &str) -> bool {
    match kind {
        DatabaseErrorKind::UnableToSendCommand
        | DatabaseErrorKind::ClosedConnection
        | DatabaseErrorKind::SerializationFailure
        // 25006: a read-only server (a standby, or a primary being failed over) or a
        // database set read-only; writes work again once the primary is back.
        | DatabaseErrorKind::ReadOnlyTransaction => true,
        // Never expected (ids are random, addresses are allocated under locks), but a
        // client must see a retryable failure, never a 500.
        DatabaseErrorKind::UniqueViolation => true,
        _ => TRANSIENT_MESSAGES.iter().any(|m| message.contains(m)),
    }
}

/// A failed query.
pub(crate) fn db(error: DbError) -> StoreError {
    let transient = match &error {
        DbError::DatabaseError(kind, info) => is_transient(kind, info.message()),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(kind: DatabaseErrorKind, message: &str) -> StoreError {
        db(DbError::DatabaseError(kind, Box::new(message.to_owned())))
    }

    fn is_unavailable(error: &StoreError) -> bool {
        matches!(error, StoreError::Unavailable(_))
    }

    #[test]
    fn failures_with_a_kind_of_their_own_are_classified_by_it_whatever_the_message() {
        for kind in [
            DatabaseErrorKind::UnableToSendCommand,
            DatabaseErrorKind::ClosedConnection,
            DatabaseErrorKind::SerializationFailure,
            DatabaseErrorKind::ReadOnlyTransaction,
            DatabaseErrorKind::UniqueViolation,
        ] {
            let error = classify(kind, "ne peut pas exécuter INSERT (message traduit)");
            assert!(is_unavailable(&error), "{kind:?}: {error:?}");
        }
    }

    #[test]
    fn transient_server_messages_without_a_kind_are_unavailable() {
        for message in [
            "terminating connection due to administrator command",
            "terminating connection due to idle-in-transaction timeout",
            "the database system is shutting down",
            "the database system is starting up",
            "deadlock detected",
            "could not serialize access due to concurrent update",
            "too many connections for role \"fleet\"",
            "sorry, too many clients already",
            "canceling statement due to statement timeout",
            "canceling statement due to lock timeout",
        ] {
            let error = classify(DatabaseErrorKind::Unknown, message);
            assert!(is_unavailable(&error), "{message}: {error:?}");
        }
    }

    #[test]
    fn a_read_only_transaction_is_unavailable() {
        // What diesel-async makes of SQLSTATE 25006.
        let error = classify(
            DatabaseErrorKind::ReadOnlyTransaction,
            "cannot execute INSERT in a read-only transaction",
        );
        assert!(is_unavailable(&error), "{error:?}");
    }

    #[test]
    fn failures_a_retry_cannot_fix_are_unknown() {
        for (kind, message) in [
            (
                DatabaseErrorKind::CheckViolation,
                "new row for relation \"servers\" violates check constraint",
            ),
            (
                DatabaseErrorKind::ForeignKeyViolation,
                "insert or update on table \"events\" violates foreign key constraint",
            ),
            (
                DatabaseErrorKind::NotNullViolation,
                "null value in column \"ip\" violates not-null constraint",
            ),
            (
                DatabaseErrorKind::Unknown,
                "relation \"servers\" does not exist",
            ),
        ] {
            let error = classify(kind, message);
            assert!(
                matches!(error, StoreError::Unknown(_)),
                "{kind:?} {message}: {error:?}"
            );
        }
    }

    #[test]
    fn errors_that_are_not_the_database_s_are_unknown() {
        for error in [DbError::NotFound, DbError::RollbackTransaction] {
            assert!(matches!(db(error), StoreError::Unknown(_)));
        }
    }
}
