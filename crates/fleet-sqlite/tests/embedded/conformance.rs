//! The shared store conformance suite against the embedded store: once with each case on its
//! own in-memory database, once on its own database file (WAL, a real file lock).

use std::sync::Arc;

use fleet_domain::ports::Store;
use fleet_sqlite::{SqliteLocation, SqliteStore};
use fleet_store_conformance::Fixture;

async fn memory_store() -> Arc<dyn Store> {
    Arc::new(
        SqliteStore::open(SqliteLocation::Memory)
            .await
            .expect("an in-memory store"),
    )
}

/// A store on a file in a temporary directory, removed when the case ends.
struct FileStore {
    store: Arc<dyn Store>,
    _dir: tempfile::TempDir,
}

impl Fixture for FileStore {
    fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }
}

async fn file_store() -> FileStore {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let location = SqliteLocation::File(dir.path().join("fleet.db"));
    let store = SqliteStore::open(location).await.expect("a file store");
    FileStore {
        store: Arc::new(store),
        _dir: dir,
    }
}

mod memory {
    fleet_store_conformance::suite!(super::memory_store);
}

mod file {
    fleet_store_conformance::suite!(super::file_store);
}
