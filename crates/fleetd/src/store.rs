//! Opening the store a database URL names.

use std::sync::Arc;

use anyhow::Context;
use fleet_domain::ports::Store;
use fleet_postgres::{PgPoolConfig, PgStore};
use fleet_sqlite::{SqliteLocation, SqliteStore};

use crate::config::Config;

/// The most Postgres connections the lifecycle workers, the probes and the metrics hold at
/// once, beside the API's (`db_pool_size`): a worker pass, a virtual-clock move, a probe and a
/// scrape use one each.
pub const BACKGROUND_CONNECTIONS: usize = 4;

/// An open store, with what the start-up line and the metrics say about it.
pub struct OpenedStore {
    /// The store.
    pub store: Arc<dyn Store>,
    /// "sqlite (PATH)" or "postgres (URL without password)".
    pub description: String,
    /// The connection pools' size and connections in use, for stores with a pool.
    pub pool_status: Option<Arc<dyn Fn() -> (usize, usize) + Send + Sync>>,
    /// The Postgres store, which can make thread-local pools for the HTTP workers.
    postgres: Option<PgStore>,
}

impl OpenedStore {
    /// A store for each of `workers` HTTP workers. On Postgres each has a pool of its own,
    /// an equal share of `pool_size` (at least one connection), whose connections are opened
    /// on the thread of the worker that uses it, so a request's queries never leave that
    /// thread. The embedded store has one connection, which they share.
    pub fn http_worker_stores(
        &self,
        workers: usize,
        pool_size: usize,
    ) -> anyhow::Result<Vec<Arc<dyn Store>>> {
        let Some(postgres) = &self.postgres else {
            return Ok(vec![self.store.clone(); workers]);
        };
        let share = pool_size.div_ceil(workers.max(1)).max(1);
        (0..workers)
            .map(|_| {
                let store = postgres
                    .thread_local_pool(share)
                    .context("building an HTTP worker's connection pool")?;
                Ok(Arc::new(store) as Arc<dyn Store>)
            })
            .collect()
    }
}

/// Opens the store of `config.database_url` and applies the migrations it lacks:
/// `postgres://…` with a connection pool (of at most [`BACKGROUND_CONNECTIONS`]: the API's
/// requests get pools of their own from [`OpenedStore::http_worker_stores`]),
/// `sqlite://PATH` or `sqlite::memory:` embedded.
pub async fn open(config: &Config) -> anyhow::Result<OpenedStore> {
    let url = &config.database_url;
    if url.is_postgres() {
        let background = PgPoolConfig {
            max_size: config.db_pool.max_size.min(BACKGROUND_CONNECTIONS),
            ..config.db_pool.clone()
        };
        let store = PgStore::connect(url.expose(), background)
            .await
            .with_context(|| format!("connecting to {url}"))?;
        store
            .migrate()
            .await
            .with_context(|| format!("migrating {url}"))?;
        let pooled = store.clone();
        return Ok(OpenedStore {
            store: Arc::new(store.clone()),
            description: format!("postgres ({url})"),
            pool_status: Some(Arc::new(move || pooled.pool_status())),
            postgres: Some(store),
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
        postgres: None,
    })
}
