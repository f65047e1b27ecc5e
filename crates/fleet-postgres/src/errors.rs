//! How database and pool failures become domain errors: a lost or refused connection is
//! `Unavailable`, a connection not free within the wait limit `Saturated`, a lock or
//! serialization conflict between transactions `Contended` (all three a 503 a retry may get
//! past), an unreadable row `Corrupt`, anything else `Unknown`. The SQLite store has the
//! same shape.
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

use std::time::Duration;

use anyhow::anyhow;
use deadpool::managed::TimeoutType;
use diesel::result::{DatabaseErrorKind, Error as DbError};
use diesel_async::pooled_connection::deadpool::PoolError;
use fleet_domain::error::StoreError;
use fleet_domain::ports::{BadRow, ProjectStoreError, ProvisionStoreError};

/// Server messages (in English: see the module's note) of conflicts between transactions
/// that have no `DatabaseErrorKind` of their own.
const CONTENTION_MESSAGES: [&str; 3] = [
    // 40P01 deadlock_detected.
    "deadlock detected",
    // 40001 when it comes without its kind (e.g. "could not serialize access due to ...").
    "could not serialize access",
    // 55P03 lock_not_available by lock_timeout.
    "canceling statement due to lock timeout",
];

/// Server messages (in English) of failures that are over when the database is back, less
/// busy, or writable again, and that have no `DatabaseErrorKind` of their own.
const UNAVAILABLE_MESSAGES: [&str; 5] = [
    // 57P01 admin_shutdown, 57P02 crash_shutdown, 25P03/57P05 idle timeouts.
    "terminating connection",
    // 57P03 cannot_connect_now: "the database system is starting up / shutting down / ...".
    "the database system is",
    // 53300 too_many_connections: "too many connections for role/database ...".
    "too many connections",
    // 53300 too_many_connections: "sorry, too many clients already".
    "too many clients",
    // 57014 query_canceled by statement_timeout.
    "canceling statement due to statement timeout",
];

/// A failed query.
pub(crate) fn db(error: DbError) -> StoreError {
    let DbError::DatabaseError(kind, info) = &error else {
        return StoreError::Unknown(anyhow!(error));
    };
    let message = info.message();
    match kind {
        DatabaseErrorKind::SerializationFailure => StoreError::Contended(anyhow!(error)),
        DatabaseErrorKind::UnableToSendCommand
        | DatabaseErrorKind::ClosedConnection
        // 25006: a read-only server (a standby, or a primary being failed over) or a
        // database set read-only; writes work again once the primary is back.
        | DatabaseErrorKind::ReadOnlyTransaction => StoreError::Unavailable(anyhow!(error)),
        // Ids are random and addresses are allocated under the pool's row lock, so a
        // violated unique key is a fault of the service, never a race a retry would win.
        DatabaseErrorKind::UniqueViolation => StoreError::Unknown(anyhow!(error)),
        _ if CONTENTION_MESSAGES.iter().any(|m| message.contains(m)) => {
            StoreError::Contended(anyhow!(error))
        }
        _ if UNAVAILABLE_MESSAGES.iter().any(|m| message.contains(m)) => {
            StoreError::Unavailable(anyhow!(error))
        }
        _ => StoreError::Unknown(anyhow!(error)),
    }
}

/// No connection could be had from the pool: none became free within `waited`
/// (`Saturated`), or the database is down or unreachable (`Unavailable`).
pub(crate) fn pool(error: PoolError, waited: Duration) -> StoreError {
    match error {
        PoolError::Timeout(TimeoutType::Wait) => StoreError::Saturated { waited },
        other => StoreError::Unavailable(anyhow!("no database connection: {other}")),
    }
}

/// Why a transaction was rolled back.
#[derive(Debug)]
pub(crate) enum TxError {
    /// A query failed.
    Db(DbError),
    /// A stored row the code cannot read.
    Corrupt(BadRow),
    /// Provisioning was refused (no pool, pool exhausted).
    Provision(ProvisionStoreError),
    /// Another project has this name.
    NameTaken(String),
    /// A refusal already expressed as a store error.
    Store(StoreError),
}

impl From<DbError> for TxError {
    fn from(error: DbError) -> Self {
        TxError::Db(error)
    }
}

impl From<BadRow> for TxError {
    fn from(bad: BadRow) -> Self {
        TxError::Corrupt(bad)
    }
}

impl From<TxError> for StoreError {
    fn from(error: TxError) -> Self {
        match error {
            TxError::Db(e) => db(e),
            TxError::Corrupt(bad) => StoreError::Corrupt(bad),
            TxError::Provision(ProvisionStoreError::Store(e)) | TxError::Store(e) => e,
            TxError::Provision(e) => StoreError::Unknown(anyhow!(e)),
            TxError::NameTaken(name) => {
                StoreError::Unknown(anyhow!(ProjectStoreError::NameTaken(name)))
            }
        }
    }
}

impl From<TxError> for ProjectStoreError {
    fn from(error: TxError) -> Self {
        match error {
            TxError::NameTaken(name) => ProjectStoreError::NameTaken(name),
            other => ProjectStoreError::Store(other.into()),
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

    #[test]
    fn failures_with_a_kind_of_their_own_are_classified_by_it_whatever_the_message() {
        let translated = "ne peut pas exécuter INSERT (message traduit)";
        for kind in [
            DatabaseErrorKind::UnableToSendCommand,
            DatabaseErrorKind::ClosedConnection,
            DatabaseErrorKind::ReadOnlyTransaction,
        ] {
            let error = classify(kind, translated);
            assert!(
                matches!(error, StoreError::Unavailable(_)),
                "{kind:?}: {error:?}"
            );
        }
        let error = classify(DatabaseErrorKind::SerializationFailure, translated);
        assert!(matches!(error, StoreError::Contended(_)), "{error:?}");
        let error = classify(DatabaseErrorKind::UniqueViolation, translated);
        assert!(matches!(error, StoreError::Unknown(_)), "{error:?}");
    }

    #[test]
    fn conflicts_between_transactions_without_a_kind_are_contention() {
        for message in [
            "deadlock detected",
            "could not serialize access due to concurrent update",
            "canceling statement due to lock timeout",
        ] {
            let error = classify(DatabaseErrorKind::Unknown, message);
            assert!(
                matches!(error, StoreError::Contended(_)),
                "{message}: {error:?}"
            );
        }
    }

    #[test]
    fn transient_server_messages_without_a_kind_are_unavailable() {
        for message in [
            "terminating connection due to administrator command",
            "terminating connection due to idle-in-transaction timeout",
            "the database system is shutting down",
            "the database system is starting up",
            "too many connections for role \"fleet\"",
            "sorry, too many clients already",
            "canceling statement due to statement timeout",
        ] {
            let error = classify(DatabaseErrorKind::Unknown, message);
            assert!(
                matches!(error, StoreError::Unavailable(_)),
                "{message}: {error:?}"
            );
        }
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
                DatabaseErrorKind::UniqueViolation,
                "duplicate key value violates unique constraint \"servers_ip_key\"",
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

    #[test]
    fn a_pool_wait_past_its_limit_is_saturation() {
        let waited = Duration::from_millis(250);
        let error = pool(PoolError::Timeout(TimeoutType::Wait), waited);
        assert!(matches!(error, StoreError::Saturated { waited: w } if w == waited));
        let error = pool(PoolError::Timeout(TimeoutType::Create), waited);
        assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    }
}
