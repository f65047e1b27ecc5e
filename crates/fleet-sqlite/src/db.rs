//! The store's connections and how work reaches them.
//!
//! SQLite takes one writer at a time, so every write goes through one connection behind an
//! async mutex: writers queue in the process instead of failing with `SQLITE_BUSY`, and an
//! in-memory database is trivially one database. The queue is bounded in time, as the
//! Postgres pool's is: a caller that waits longer than the wait limit gets
//! [`StoreError::Saturated`] (a 503 with `Retry-After`) instead of queueing for ever under
//! overload. A write is a closure that runs whole on a blocking thread holding the lock, so
//! a caller that gives up (a client that disconnects) never leaves a statement or a
//! transaction half-run.
//!
//! Most writes go through [`Db::write`], which commits the writes waiting together
//! ([`group`](crate::group)): one transaction's commit serves a queue of provisionings.
//!
//! Reads of a file do not queue behind writes: in WAL mode each reader sees the last commit
//! while a write is under way, so they take a connection of their own from [`Readers`].
//! A point read (a row by its key) runs on the caller's thread, with no hop to another
//! thread: it takes microseconds, less than a hop would cost. A read that may scan
//! (lists, counts, costs) runs on a blocking thread, so it never holds up the other
//! requests of an HTTP worker. An in-memory database has one connection, so its reads go
//! through the writer's.

use std::sync::Arc;
use std::time::Duration;

use diesel::SqliteConnection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::result::Error as DieselError;
use fleet_domain::error::StoreError;
use tokio::runtime::Handle;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::errors::TxError;
use crate::group::{self, Write, WriteQueue};
use crate::readers::Readers;

/// The store's connections.
#[derive(Clone)]
pub(crate) struct Db {
    writer: Arc<Mutex<SqliteConnection>>,
    queue: Arc<WriteQueue>,
    readers: Option<Arc<Readers>>,
    runtime: Handle,
    wait_timeout: Duration,
}

/// Exclusive use of the writer across several pieces of work (a claim spans two).
pub(crate) struct Session {
    guard: Option<OwnedMutexGuard<SqliteConnection>>,
    runtime: Handle,
}

impl Db {
    /// Wraps an open, configured, migrated connection as the writer, with `readers` beside
    /// it for a file; blocking work runs on the current runtime (the one the store was
    /// opened on), whichever runtime the callers are on. A writer waits at most
    /// `wait_timeout` for the connection.
    pub(crate) fn new(
        writer: SqliteConnection,
        readers: Option<Readers>,
        wait_timeout: Duration,
    ) -> Self {
        Self {
            writer: Arc::new(Mutex::new(writer)),
            queue: Arc::default(),
            readers: readers.map(Arc::new),
            runtime: Handle::current(),
            wait_timeout,
        }
    }

    /// Waits for the writer, at most the wait limit.
    pub(crate) async fn session(&self) -> Result<Session, StoreError> {
        let guard = tokio::time::timeout(self.wait_timeout, self.writer.clone().lock_owned())
            .await
            .map_err(|_| StoreError::Saturated {
                waited: self.wait_timeout,
            })?;
        Ok(Session {
            guard: Some(guard),
            runtime: self.runtime.clone(),
        })
    }

    /// Runs `task` on the writer, after rolling back anything a cancelled claim left open.
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

    /// Runs `task` as a write transaction of its own: in a savepoint of a transaction
    /// shared with the other writes waiting (see [`group`]), answered after its commit.
    /// `task` must not begin a transaction itself (a nested one is a savepoint).
    pub(crate) async fn write<R: Send + 'static>(
        &self,
        task: impl FnOnce(&mut SqliteConnection) -> Result<R, TxError> + Send + 'static,
    ) -> Result<R, TxError> {
        let (write, mut answer) = Write::new(task);
        let queued = self.queue.push(Box::new(write));
        let writer = tokio::time::timeout(self.wait_timeout, self.writer.clone().lock_owned());
        tokio::select! {
            biased;
            answered = &mut answer => return answered.unwrap_or_else(|_| Err(lost())),
            writer = writer => match writer {
                Ok(mut writer) => {
                    let writes = self.queue.take_all();
                    drop(queued);
                    if !writes.is_empty() {
                        // The blocking closure owns the writer until every write it took is
                        // answered, whether or not this caller still waits.
                        self.runtime
                            .spawn_blocking(move || group::commit_in_groups(&mut writer, writes));
                    }
                }
                Err(_) => {
                    // Withdrawn unless a writer took it already; then its answer comes.
                    drop(queued);
                    return answer.await.unwrap_or_else(|_| {
                        Err(TxError::Store(StoreError::Saturated {
                            waited: self.wait_timeout,
                        }))
                    });
                }
            },
        }
        answer.await.unwrap_or_else(|_| Err(lost()))
    }

    /// Runs a point read (one row or a few, by key) on a reader, on this thread.
    pub(crate) async fn read<R: Send + 'static>(
        &self,
        task: impl FnOnce(&mut SqliteConnection) -> Result<R, TxError> + Send + 'static,
    ) -> Result<R, TxError> {
        match &self.readers {
            Some(readers) => readers.with(task),
            None => self.run(task).await,
        }
    }

    /// Runs a read that may scan many rows on a reader, on a blocking thread.
    pub(crate) async fn scan<R: Send + 'static>(
        &self,
        task: impl FnOnce(&mut SqliteConnection) -> Result<R, TxError> + Send + 'static,
    ) -> Result<R, TxError> {
        let Some(readers) = self.readers.clone() else {
            return self.run(task).await;
        };
        self.runtime
            .spawn_blocking(move || readers.with(task))
            .await
            .map_err(|join| {
                TxError::Store(StoreError::Unknown(anyhow::anyhow!(
                    "the database task failed: {join}"
                )))
            })?
    }
}

impl Session {
    /// Runs `task` on the writer as it is, keeping the session.
    pub(crate) async fn run<R: Send + 'static>(
        &mut self,
        task: impl FnOnce(&mut SqliteConnection) -> Result<R, TxError> + Send + 'static,
    ) -> Result<R, TxError> {
        let mut guard = self.guard.take().ok_or_else(|| {
            TxError::Store(StoreError::Unknown(anyhow::anyhow!("the session was lost")))
        })?;
        // The closure owns the lock until the work is done, whether or not this caller
        // still waits for it.
        let outcome = self
            .runtime
            .spawn_blocking(move || {
                let result = task(&mut guard);
                (result, guard)
            })
            .await;
        match outcome {
            Ok((result, guard)) => {
                self.guard = Some(guard);
                result
            }
            Err(join) => Err(TxError::Store(StoreError::Unknown(anyhow::anyhow!(
                "the database task failed: {join}"
            )))),
        }
    }
}

/// A write whose group ended without answering it (its thread panicked).
fn lost() -> TxError {
    TxError::Store(StoreError::Unknown(anyhow::anyhow!(
        "the database task failed before answering"
    )))
}

/// Rolls back a transaction left open by a claim whose caller went away mid-way, or by a
/// group whose thread panicked inside a write's savepoint: every level of it, savepoints
/// first.
pub(crate) fn roll_back_leftovers(conn: &mut SqliteConnection) -> Result<(), DieselError> {
    while let Ok(Some(_)) =
        AnsiTransactionManager::transaction_manager_status_mut(conn).transaction_depth()
    {
        AnsiTransactionManager::rollback_transaction(conn)?;
    }
    Ok(())
}
