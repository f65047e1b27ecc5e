//! The one connection of a store and how work reaches it.
//!
//! SQLite takes one writer at a time, so the store keeps a single connection behind an async
//! mutex: writers queue in the process instead of failing with `SQLITE_BUSY`, and an in-memory
//! database is trivially one database. Each piece of work is a closure that runs whole on
//! diesel-async's blocking thread, inside a spawned task, so a caller that gives up (a client
//! that disconnects) never leaves a statement or a transaction half-run.

use std::sync::Arc;

use diesel::SqliteConnection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use fleet_domain::error::StoreError;
use tokio::runtime::Handle;
use tokio::sync::{Mutex, OwnedMutexGuard};

type Wrapper = SyncConnectionWrapper<SqliteConnection>;

/// The store's connection.
#[derive(Clone)]
pub(crate) struct Db {
    conn: Arc<Mutex<Wrapper>>,
    runtime: Handle,
}

/// Exclusive use of the connection across several pieces of work (a claim spans two).
pub(crate) struct Session {
    guard: Option<OwnedMutexGuard<Wrapper>>,
    runtime: Handle,
}

impl Db {
    /// Wraps an open, configured, migrated connection; its work runs on the current runtime
    /// (the one the store was opened on), whichever runtime the callers are on.
    pub(crate) fn new(conn: SqliteConnection) -> Self {
        Self {
            conn: Arc::new(Mutex::new(SyncConnectionWrapper::new(conn))),
            runtime: Handle::current(),
        }
    }

    /// Waits for the connection.
    pub(crate) async fn session(&self) -> Session {
        Session {
            guard: Some(self.conn.clone().lock_owned().await),
            runtime: self.runtime.clone(),
        }
    }

    /// Runs `task` on the connection, after rolling back anything a cancelled claim left open.
    pub(crate) async fn run<R: Send + 'static>(
        &self,
        task: impl FnOnce(&mut SqliteConnection) -> Result<R, DieselError> + Send + 'static,
    ) -> Result<R, StoreError> {
        self.session()
            .await
            .run(move |conn| {
                roll_back_leftovers(conn)?;
                task(conn)
            })
            .await
    }
}

impl Session {
    /// Runs `task` on the connection as it is, keeping the session.
    pub(crate) async fn run<R: Send + 'static>(
        &mut self,
        task: impl FnOnce(&mut SqliteConnection) -> Result<R, DieselError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let mut guard = self
            .guard
            .take()
            .ok_or_else(|| StoreError::Unknown(anyhow::anyhow!("the session was lost")))?;
        let work = guard.spawn_blocking(task);
        let outcome = self
            .runtime
            .spawn(async move {
                let result = work.await;
                (result, guard)
            })
            .await;
        match outcome {
            Ok((result, guard)) => {
                self.guard = Some(guard);
                result.map_err(store_error)
            }
            Err(join) => Err(StoreError::Unknown(anyhow::anyhow!(
                "the database task failed: {join}"
            ))),
        }
    }
}

/// Rolls back a transaction left open by a claim whose caller went away mid-way.
pub(crate) fn roll_back_leftovers(conn: &mut SqliteConnection) -> Result<(), DieselError> {
    let depth = AnsiTransactionManager::transaction_manager_status_mut(conn).transaction_depth();
    if matches!(depth, Ok(Some(_))) {
        AnsiTransactionManager::rollback_transaction(conn)?;
    }
    Ok(())
}

/// A database error as the domain sees it: contention and lost connections are worth a retry.
pub(crate) fn store_error(err: DieselError) -> StoreError {
    let unavailable = match &err {
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
        | DieselError::DatabaseError(DatabaseErrorKind::UnableToSendCommand, _) => true,
        DieselError::DatabaseError(_, info) => {
            let message = info.message();
            message.contains("database is locked") || message.contains("busy")
        }
        _ => false,
    };
    if unavailable {
        StoreError::Unavailable(err.into())
    } else {
        StoreError::Unknown(err.into())
    }
}
