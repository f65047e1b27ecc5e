//! How database failures and refusals become domain errors. The Postgres store has the same
//! shape: work returns a [`TxError`], and the port methods turn it into the port's error.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use fleet_domain::error::StoreError;
use fleet_domain::ports::{BadRow, ProjectStoreError, ProvisionStoreError};

/// Why a piece of work (a transaction or a read) ended without a result; nothing was
/// written.
#[derive(Debug)]
pub(crate) enum TxError {
    /// A statement failed.
    Db(DieselError),
    /// A stored row the code cannot read.
    Corrupt(BadRow),
    /// Provisioning was refused (no pool, pool exhausted).
    Provision(ProvisionStoreError),
    /// Another project has this name.
    NameTaken(String),
    /// A refusal the domain already has a store error for (a changed pool CIDR).
    Store(StoreError),
}

impl From<DieselError> for TxError {
    fn from(error: DieselError) -> Self {
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
            TxError::Provision(e) => StoreError::Unknown(anyhow::Error::new(e)),
            TxError::NameTaken(name) => {
                StoreError::Unknown(anyhow::Error::new(ProjectStoreError::NameTaken(name)))
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

/// A failed statement as the domain sees it: a lost connection is `Unavailable`, a write
/// lock another process held past the busy timeout is `Contended`, anything else (a unique
/// key violated included: ids are random and addresses are handed out inside the write
/// lock, so one is a fault, not a race) is `Unknown`.
///
/// diesel's SQLite backend gives no result code for `SQLITE_BUSY`/`SQLITE_LOCKED`, only
/// SQLite's own message, so those two are told by the (untranslated) messages SQLite's C
/// library writes for them: "database is locked", "database table is locked", "database
/// schema is locked".
pub(crate) fn db(error: DieselError) -> StoreError {
    match &error {
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => StoreError::Unavailable(error.into()),
        DieselError::DatabaseError(_, info) if is_locked(info.message()) => {
            StoreError::Contended(error.into())
        }
        _ => StoreError::Unknown(error.into()),
    }
}

/// Whether SQLite's message is that of `SQLITE_BUSY` or `SQLITE_LOCKED`.
fn is_locked(message: &str) -> bool {
    message.starts_with("database") && message.ends_with("is locked")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(kind: DatabaseErrorKind, message: &str) -> StoreError {
        db(DieselError::DatabaseError(
            kind,
            Box::new(message.to_owned()),
        ))
    }

    #[test]
    fn a_lock_held_past_the_busy_timeout_is_contention() {
        for message in [
            "database is locked",
            "database table is locked",
            "database schema is locked",
        ] {
            let error = classify(DatabaseErrorKind::Unknown, message);
            assert!(
                matches!(error, StoreError::Contended(_)),
                "{message}: {error:?}"
            );
        }
    }

    #[test]
    fn a_unique_violation_is_a_fault_not_a_retry() {
        let error = classify(
            DatabaseErrorKind::UniqueViolation,
            "UNIQUE constraint failed: servers.ip",
        );
        assert!(matches!(error, StoreError::Unknown(_)), "{error:?}");
    }

    #[test]
    fn a_lost_connection_is_unavailable() {
        let error = classify(DatabaseErrorKind::ClosedConnection, "closed");
        assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    }

    #[test]
    fn an_unreadable_row_is_corrupt() {
        let error = StoreError::from(TxError::from(BadRow::new("servers.state", "melting")));
        assert!(matches!(error, StoreError::Corrupt(ref bad) if bad.value == "melting"));
    }
}
