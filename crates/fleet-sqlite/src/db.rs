//! The one connection of a store and how work reaches it.
//!
//! SQLite takes one writer at a time, so the store keeps a single connection behind an async
//! mutex: writers queue in the process instead of failing with `SQLITE_BUSY`, and an in-memory
//! database is trivially one database. The queue is bounded in time, as the Postgres pool's
//! is: a caller that waits longer than the wait limit gets [`StoreError::Saturated`] (a 503
//! with `Retry-After`) instead of queueing for ever under overload. Each piece of work is a
//! closure that runs whole on diesel-async's blocking thread, inside a spawned task, so a
//! caller that gives up (a client that disconnects) never leaves a statement or a
//! transaction half-run.

use std::sync::Arc;
use std::time::Duration;

use diesel::SqliteConnection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::result::Error as DieselError;
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use fleet_domain::error::StoreError;
use tokio::runtime::Handle;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::errors::TxError;

type Wrapper = SyncConnectionWrapper<SqliteConnection>;

/// The store's connection.
#[derive(Clone)]
pub(crate) struct Db {
    conn: Arc<Mutex<Wrapper>>,
    runtime: Handle,
    wait_timeout: Duration,
}

/// Exclusive use of the connection across several pieces of work (a claim spans two).
pub(crate) struct Session {
    guard: Option<OwnedMutexGuard<Wrapper>>,
    runtime: Handle,
}

impl Db {
    /// Wraps an open, configured, migrated connection; its work runs on the current runtime
    /// (the one the store was opened on), whichever runtime the callers are on.
    /// A caller waits at most `wait_timeout` for the connection.
    pub(crate) fn new(conn: SqliteConnection, wait_timeout: Duration) -> Self {
        Self {
            conn: Arc::new(Mutex::new(SyncConnectionWrapper::new(conn))),
            runtime: Handle::current(),
            wait_timeout,
        }
    }

    /// Waits for the connection, at most the wait limit.
    pub(crate) async fn session(&self) -> Result<Session, StoreError> {
        let guard = tokio::time::timeout(self.wait_timeout, self.conn.clone().lock_owned())
            .await
            .map_err(|_| StoreError::Saturated {
                waited: self.wait_timeout,
            })?;
        Ok(Session {
            guard: Some(guard),
            runtime: self.runtime.clone(),
        })
    }

    /// Runs `task` on the connection, after rolling back anything a cancelled claim left open.
    pub(crate) async fn run<R: Send + 'static>(
        &self,
        task: impl FnOnce(&mut SqliteConnection) -> Result<R, TxError> + Send + 'static,
    ) -> Result<R, TxError> {
        self.session()
            .await
            .map_err(TxError::Store)?
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
        task: impl FnOnce(&mut SqliteConnection) -> Result<R, TxError> + Send + 'static,
    ) -> Result<R, TxError> {
        let mut guard = self.guard.take().ok_or_else(|| {
            TxError::Store(StoreError::Unknown(anyhow::anyhow!("the session was lost")))
        })?;
        let work = guard.spawn_blocking(move |conn| Ok(task(conn)));
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
                result?
            }
            Err(join) => Err(TxError::Store(StoreError::Unknown(anyhow::anyhow!(
                "the database task failed: {join}"
            )))),
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
