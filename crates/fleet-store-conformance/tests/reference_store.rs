//! The suite against a plain in-memory store, which proves the cases themselves.

mod reference;

use std::sync::Arc;

use fleet_domain::ports::Store;

async fn fresh_store() -> Arc<dyn Store> {
    Arc::new(reference::MemoryStore::default())
}

fleet_store_conformance::suite!(fresh_store);
