//! The shared store conformance suite against the embedded store: once with each case on its
//! own in-memory database, once on its own database file (WAL, a real file lock), where the
//! tampering cases also run.

use std::any::Any;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{Connection, RunQueryDsl, SqliteConnection};
use fleet_domain::ServerId;
use fleet_sqlite::{SqliteLocation, SqliteOptions, SqliteStore};
use fleet_store_conformance::{Fixture, Tamper, TamperFixture, TestedStore};

async fn memory_store() -> Arc<dyn TestedStore> {
    Arc::new(
        SqliteStore::open(SqliteLocation::Memory)
            .await
            .expect("an in-memory store"),
    )
}

/// A store on a file in a temporary directory, removed when the case ends.
struct FileStore {
    store: Arc<dyn TestedStore>,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Fixture for FileStore {
    fn store(&self) -> Arc<dyn TestedStore> {
        Arc::clone(&self.store)
    }
}

impl TamperFixture for FileStore {
    fn tamper(&self) -> Arc<dyn Tamper> {
        Arc::new(FileTamper(self.path.clone()))
    }
}

/// How long the file store waits for its connection and for another process's write lock:
/// briefly, so the tampering cases are quick.
const WAIT: Duration = Duration::from_millis(300);

/// A store on a file in a temporary directory.
async fn file_store() -> FileStore {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("fleet.db");
    let options = SqliteOptions {
        wait_timeout: WAIT,
        busy_timeout: WAIT,
    };
    let store = SqliteStore::open_with(SqliteLocation::File(path.clone()), options)
        .await
        .expect("a file store");
    FileStore {
        store: Arc::new(store),
        path,
        _dir: dir,
    }
}

/// Changes the database file through a connection of its own, as another process would.
struct FileTamper(PathBuf);

impl FileTamper {
    fn connect(&self) -> SqliteConnection {
        SqliteConnection::establish(self.0.to_str().expect("a UTF-8 path"))
            .expect("a second connection to the database file")
    }

    fn run(&self, sql: &str) {
        self.connect()
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

#[async_trait::async_trait]
impl Tamper for FileTamper {
    async fn record_unknown_migration(&self) {
        self.run("INSERT INTO __diesel_schema_migrations (version) VALUES ('99991231235959')");
    }

    async fn forget_newest_migration(&self) {
        self.run(
            "DELETE FROM __diesel_schema_migrations \
             WHERE version = (SELECT max(version) FROM __diesel_schema_migrations)",
        );
    }

    async fn hold_write_lock(&self) -> Box<dyn Any + Send> {
        let mut conn = self.connect();
        conn.batch_execute("BEGIN IMMEDIATE")
            .expect("taking the write lock");
        Box::new(WriteLock(conn))
    }

    fn wait_limit(&self) -> Duration {
        WAIT
    }

    async fn write_labels(&self, server: ServerId, json: &str) {
        diesel::sql_query("UPDATE servers SET labels = ? WHERE id = ?")
            .bind::<Text, _>(json)
            .bind::<Text, _>(server.to_string())
            .execute(&mut self.connect())
            .unwrap_or_else(|e| panic!("writing labels {json}: {e}"));
    }

    async fn write_state_reason(&self, server: ServerId, code: &str) {
        diesel::sql_query("UPDATE servers SET state_reason = ? WHERE id = ?")
            .bind::<Text, _>(code)
            .bind::<Text, _>(server.to_string())
            .execute(&mut self.connect())
            .unwrap_or_else(|e| panic!("writing the state reason {code}: {e}"));
    }
}

/// Another connection's open write transaction, rolled back when dropped.
struct WriteLock(SqliteConnection);

impl Drop for WriteLock {
    fn drop(&mut self) {
        let _ = self.0.batch_execute("ROLLBACK");
    }
}

mod memory {
    fleet_store_conformance::suite!(super::memory_store);
}

mod file {
    fleet_store_conformance::suite!(super::file_store);
    fleet_store_conformance::tampering_suite!(super::file_store);
}
