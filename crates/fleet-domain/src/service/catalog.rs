//! What can be provisioned, and how much room each region's address pool has left.

use std::sync::Arc;

use crate::catalog::Catalog;
use crate::error::StoreError;
use crate::ports::{PoolUsage, StoreStatus};

/// The catalog as clients read it.
pub struct CatalogService {
    catalog: Arc<Catalog>,
    status: Arc<dyn StoreStatus>,
}

impl CatalogService {
    /// The catalog, with the store that knows how its pools are used.
    pub fn new(catalog: Arc<Catalog>, status: Arc<dyn StoreStatus>) -> Self {
        Self { catalog, status }
    }

    /// The regions and server types.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// How each region's pool is used.
    pub async fn pool_usage(&self) -> Result<Vec<PoolUsage>, StoreError> {
        self.status.pool_usage().await
    }
}
