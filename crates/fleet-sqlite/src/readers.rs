//! Read connections of a database file, beside its one writer.
//!
//! In WAL mode a reader never waits for the writer and sees the last commit, so reads take
//! a connection of their own instead of queueing behind writes on the writer's. Connections
//! are opened when every idle one is in use and kept for the next read (up to
//! [`MAX_IDLE`]), so each keeps its prepared statements: diesel caches a statement per
//! connection for every query whose SQL does not vary.
//!
//! A point read by key ends in `get_result`, never `first`: `first` binds `LIMIT ?`, and
//! SQLite's planner reads that value, so it marks the statement expired whenever the
//! parameter is bound again and re-prepares it on every use (`sqlite3Reprepare` ran once
//! per `GET /servers/{id}` until then: parsing and planning were a tenth of its CPU).

use std::sync::{Mutex, PoisonError};

use diesel::SqliteConnection;

use crate::errors::TxError;
use crate::open::{self, SqliteOptions};

/// More idle readers than this are closed: as many as threads read at once, at most.
const MAX_IDLE: usize = 16;

/// The read connections of one file.
pub(crate) struct Readers {
    path: String,
    options: SqliteOptions,
    idle: Mutex<Vec<SqliteConnection>>,
}

impl Readers {
    /// Readers of the file at `path`, opened as they are needed.
    pub(crate) fn new(path: String, options: SqliteOptions) -> Self {
        Self {
            path,
            options,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `task` on an idle reader (or a new one) on this thread, then keeps the reader.
    pub(crate) fn with<R>(
        &self,
        task: impl FnOnce(&mut SqliteConnection) -> Result<R, TxError>,
    ) -> Result<R, TxError> {
        let idle = self.idle().pop();
        let mut conn = match idle {
            Some(conn) => conn,
            None => open::reader(&self.path, &self.options).map_err(TxError::Store)?,
        };
        let result = task(&mut conn);
        let mut idle = self.idle();
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
        result
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<SqliteConnection>> {
        // A reader's task never runs under this lock, so a poisoned lock holds no broken
        // state: the list of idle connections is whole either way.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
