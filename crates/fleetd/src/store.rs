//! Opening the store a database URL names.

use std::sync::Arc;

use anyhow::Context;
use fleet_domain::ports::Store;
use fleet_postgres::PgStore;
use fleet_sqlite::{SqliteLocation, SqliteStore};

use crate::config::Config;

/// An open store, with what the start-up line and the metrics say about it.
pub struct OpenedStore {
    /// The store.
    pub store: Arc<dyn Store>,
    /// "sqlite (PATH)" or "postgres (URL without password)".
    pub description: String,
    /// The connection pool's size and connections in use, for stores with a pool.
    pub pool_status: Option<Arc<dyn Fn() -> (usize, usize) + Send + Sync>>,
}

/// Opens the store of `config.database_url` and applies the migrations it lacks:
/// `postgres://…` with a connection pool, `sqlite://PATH` or `sqlite::memory:` embedded.
pub async fn open(config: &Config) -> anyhow::Result<OpenedStore> {
    let url = &config.database_url;
    if url.is_postgres() {
        let store = PgStore::connect(url.expose(), config.db_pool.clone())
            .await
            .with_context(|| format!("connecting to {url}"))?;
        store
            .migrate()
            .await
            .with_context(|| format!("migrating {url}"))?;
        let pooled = store.clone();
        return Ok(OpenedStore {
            store: Arc::new(store),
            description: format!("postgres ({url})"),
            pool_status: Some(Arc::new(move || pooled.pool_status())),
        });
    }
    let location = SqliteLocation::parse(url.expose())?;
    let description = format!("sqlite ({location})");
    let store = SqliteStore::open(location)
        .await
        .with_context(|| format!("opening {description}"))?;
    Ok(OpenedStore {
        store: Arc::new(store),
        description,
        pool_status: None,
    })
}
