//! Opening a database: the file (or memory), its settings, and its migrations.

use std::path::Path;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use fleet_domain::error::StoreError;

use crate::location::SqliteLocation;
use crate::migrate;

/// How the store waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// How long a request waits for the store's one connection before the store answers
    /// `Saturated` (as long as the Postgres pool waits for a connection, by default).
    pub wait_timeout: Duration,
    /// How long a write waits for another process's write lock on the same file before the
    /// store answers `Contended`.
    pub busy_timeout: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            wait_timeout: Duration::from_secs(5),
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// Opens the database at `location` in WAL mode (files), with a busy timeout and foreign
/// keys on, and brings its schema up to date: the store's writer.
pub(crate) fn connect(
    location: &SqliteLocation,
    options: &SqliteOptions,
) -> Result<SqliteConnection, StoreError> {
    let (url, file) = match location {
        SqliteLocation::File(path) => (path_text(path)?, true),
        SqliteLocation::Memory => (":memory:", false),
    };
    // The writer keeps a 16 MiB page cache (the default 2 MiB was outgrown by the ledger's
    // indexes) and maps nothing: a map's pages count in fleetd's resident set, and mapping
    // the file took fleetd's peak RSS past 180 MiB with no gain the bench could measure
    // (docs/benchmarks.md).
    let journal = if file {
        "PRAGMA journal_mode = WAL; PRAGMA mmap_size = 0; PRAGMA cache_size = -16384;"
    } else {
        ""
    };
    let mut conn = establish(
        url,
        &format!(
            "PRAGMA busy_timeout = {}; {journal} \
             PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            options.busy_timeout.as_millis()
        ),
    )?;
    migrate::migrate(&mut conn)?;
    Ok(conn)
}

/// Opens a read-only connection to the (migrated, WAL-mode) file at `path`: a reader beside
/// the writer. Like the writer, readers map nothing: a map is per connection and the kernel
/// counts its pages in the process's resident set once per map (sixteen readers mapping the
/// file took fleetd's peak RSS from under 100 MiB to 430), while reading pages with
/// pread(2) into a small cache each cost a point read nothing measurable
/// (docs/benchmarks.md).
pub(crate) fn reader(path: &str, options: &SqliteOptions) -> Result<SqliteConnection, StoreError> {
    establish(
        path,
        &format!(
            "PRAGMA busy_timeout = {}; PRAGMA mmap_size = 0; PRAGMA cache_size = -2048; \
             PRAGMA query_only = ON;",
            options.busy_timeout.as_millis()
        ),
    )
}

/// The path of a database file as SQLite is given it.
pub(crate) fn file_path(path: &Path) -> Result<String, StoreError> {
    path_text(path).map(str::to_owned)
}

fn establish(url: &str, pragmas: &str) -> Result<SqliteConnection, StoreError> {
    let mut conn = SqliteConnection::establish(url).map_err(|e| {
        StoreError::Unavailable(anyhow::anyhow!(
            "cannot open the SQLite database {url}: {e}"
        ))
    })?;
    conn.batch_execute(pragmas)
        .map_err(|e| StoreError::Unavailable(anyhow::anyhow!("configuring {url}: {e}")))?;
    Ok(conn)
}

fn path_text(path: &Path) -> Result<&str, StoreError> {
    let text = path.to_str().ok_or_else(|| {
        StoreError::Unknown(anyhow::anyhow!(
            "the database path {} is not valid UTF-8",
            path.display()
        ))
    })?;
    if text.starts_with("file:") {
        return Err(StoreError::Unknown(anyhow::anyhow!(
            "the database path '{text}' would be read as an SQLite URI; write ./{text}"
        )));
    }
    Ok(text)
}
