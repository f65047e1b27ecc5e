//! The suite against a plain in-memory store, which proves the cases themselves.

mod reference;

use std::sync::Arc;

use fleet_store_conformance::{Fixture, Tamper, TamperFixture, TestedStore};
use reference::{MemoryStore, MemoryTamper};

/// The reference store and the handle that tampers with it.
struct Reference(Arc<MemoryStore>);

impl Fixture for Reference {
    fn store(&self) -> Arc<dyn TestedStore> {
        self.0.clone()
    }
}

impl TamperFixture for Reference {
    fn tamper(&self) -> Arc<dyn Tamper> {
        Arc::new(MemoryTamper(self.0.clone()))
    }
}

async fn fresh_store() -> Reference {
    Reference(Arc::new(MemoryStore::default()))
}

fleet_store_conformance::suite!(fresh_store);
fleet_store_conformance::tampering_suite!(fresh_store);
