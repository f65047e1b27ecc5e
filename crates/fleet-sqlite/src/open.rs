//! Opening a database: the file (or memory), its settings, and its migrations.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use fleet_domain::error::StoreError;

use crate::location::SqliteLocation;
use crate::migrate;

/// How long a writer waits for another process's write lock before giving up.
const BUSY_TIMEOUT_MS: u32 = 5_000;

/// Opens the database at `location` in WAL mode (files), with a busy timeout and foreign
/// keys on, and brings its schema up to date.
pub(crate) fn connect(location: &SqliteLocation) -> Result<SqliteConnection, StoreError> {
    let (url, file) = match location {
        SqliteLocation::File(path) => (path_text(path)?, true),
        SqliteLocation::Memory => (":memory:", false),
    };
    let mut conn = SqliteConnection::establish(url).map_err(|e| {
        StoreError::Unavailable(anyhow::anyhow!(
            "cannot open the SQLite database {location}: {e}"
        ))
    })?;
    let journal = if file {
        "PRAGMA journal_mode = WAL;"
    } else {
        ""
    };
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}; {journal} \
         PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
    ))
    .map_err(|e| StoreError::Unavailable(anyhow::anyhow!("configuring {location}: {e}")))?;
    migrate::migrate(&mut conn)
        .map_err(|e| StoreError::Unknown(anyhow::anyhow!("SQLite database {location}: {e}")))?;
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
