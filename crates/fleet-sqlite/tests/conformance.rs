//! The shared store conformance suite against the embedded store, each case on its own
//! in-memory database.

use std::sync::Arc;

use fleet_domain::ports::Store;
use fleet_sqlite::{SqliteLocation, SqliteStore};

async fn fresh_store() -> Arc<dyn Store> {
    Arc::new(
        SqliteStore::open(SqliteLocation::Memory)
            .await
            .expect("an in-memory store"),
    )
}

fleet_store_conformance::suite!(fresh_store);
