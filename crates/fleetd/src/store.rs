//! Opening the store a database URL names.

use std::sync::Arc;

use anyhow::Context;
use fleet_domain::ports::{
    ActionStore, BudgetStore, CostStore, EventLog, FaultStore, IdempotencyStore, Store,
    StoreStatus, TenancyStore, WebhookStore,
};
use fleet_postgres::{EventFeed, PgPoolConfig, PgStore};
use fleet_sqlite::{SqliteLocation, SqliteOptions, SqliteStore};
use slog::{Logger, o};

use crate::config::Config;
use crate::traced::{
    DbSystem, TracedActionStore, TracedBudgetStore, TracedCostStore, TracedEventLog,
    TracedFaultStore, TracedIdempotencyStore, TracedStore, TracedStoreStatus, TracedTenancyStore,
    TracedWebhookStore,
};

/// The most Postgres connections the lifecycle workers, the event sequencer, the probes and
/// the metrics hold at once, beside the API's (`db_pool_size`): a worker pass, a
/// virtual-clock move, a sequencer pass, a probe and a scrape use one each. (The event
/// feed's listener holds one more, of its own.)
pub const BACKGROUND_CONNECTIONS: usize = 5;

/// The most Postgres connections the webhook workers hold, in a pool of their own so that
/// many deliveries recording their attempts at once never hold up the lifecycle workers:
/// the taker, the dispatcher's claims, the attempts' records and the metrics' sample.
pub const WEBHOOK_CONNECTIONS: usize = 4;

/// An open store, with what the start-up line and the metrics say about it.
#[derive(Clone)]
pub struct OpenedStore {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The same store, as probes, metrics and the catalog read it.
    pub status: Arc<dyn StoreStatus>,
    /// The same store's projects and API keys.
    pub tenancy: Arc<dyn TenancyStore>,
    /// The same store's global event sequence.
    pub events: Arc<dyn EventLog>,
    /// The same store's action records.
    pub actions: Arc<dyn ActionStore>,
    /// The same store's idempotency keys.
    pub keys: Arc<dyn IdempotencyStore>,
    /// The same store's fault rules.
    pub faults: Arc<dyn FaultStore>,
    /// The same store's cost reads.
    pub costs: Arc<dyn CostStore>,
    /// The same store's budgets.
    pub budgets: Arc<dyn BudgetStore>,
    /// The same store's webhooks and their outbox (on Postgres, over a pool of its own).
    pub webhooks: Arc<dyn WebhookStore>,
    /// "sqlite (PATH)" or "postgres (URL without password)".
    pub description: String,
    /// The Postgres store, which can make thread-local pools for the HTTP workers.
    postgres: Option<PgStore>,
    /// Which database the store calls are spanned as, once [`OpenedStore::traced`].
    traced: Option<DbSystem>,
}

impl OpenedStore {
    /// The same stores with a span around every call: for a fleetd that exports traces.
    pub fn traced(self) -> OpenedStore {
        let system = DbSystem(if self.postgres.is_some() {
            "postgresql"
        } else {
            "sqlite"
        });
        OpenedStore {
            store: Arc::new(TracedStore::new(self.store, system)),
            status: Arc::new(TracedStoreStatus::new(self.status, system)),
            tenancy: Arc::new(TracedTenancyStore::new(self.tenancy, system)),
            events: Arc::new(TracedEventLog::new(self.events, system)),
            actions: Arc::new(TracedActionStore::new(self.actions, system)),
            keys: Arc::new(TracedIdempotencyStore::new(self.keys, system)),
            faults: Arc::new(TracedFaultStore::new(self.faults, system)),
            costs: Arc::new(TracedCostStore::new(self.costs, system)),
            budgets: Arc::new(TracedBudgetStore::new(self.budgets, system)),
            webhooks: Arc::new(TracedWebhookStore::new(self.webhooks, system)),
            description: self.description,
            postgres: self.postgres,
            traced: Some(system),
        }
    }

    /// What samples the connection pools' size and connections in use, for a store with
    /// pools.
    pub fn pool_status(&self) -> Option<Arc<dyn Fn() -> (usize, usize) + Send + Sync>> {
        let postgres = self.postgres.clone()?;
        Some(Arc::new(move || postgres.pool_status()))
    }

    /// Starts the event feed of a Postgres store on the current runtime: the sequencer that
    /// numbers committed events and the listener that learns the horizon every fleetd's
    /// sequencer reaches. Its failures are logged, and it tries again. The embedded store
    /// numbers events as it commits them and needs none.
    pub fn start_event_feed(&self, logger: &Logger) -> Option<EventFeed> {
        let postgres = self.postgres.as_ref()?;
        let logger = logger.new(o!("component" => "event_feed"));
        Some(postgres.start_event_feed(Arc::new(move |doing, error| {
            slog::warn!(logger, "the event feed failed"; "doing" => doing, "error" => %error);
        })))
    }

    /// The connections each HTTP worker's pool may open, one entry per worker, on a machine
    /// of `cpus` CPUs (one worker each): `pool_size` spread evenly, so they add up to it
    /// exactly, and never a worker without a connection (fewer workers than CPUs when
    /// `pool_size` is smaller). The embedded store has no pools: one worker per CPU.
    pub fn http_worker_pools(&self, pool_size: usize, cpus: usize) -> Vec<usize> {
        if self.postgres.is_none() {
            return vec![0; cpus.max(1)];
        }
        spread(pool_size, cpus)
    }

    /// The stores of one HTTP worker, built on that worker's thread. On Postgres they share
    /// a pool of its own of at most `connections`, whose connections are opened and driven
    /// on this thread, so a request's queries (checking its key included) never leave it;
    /// the embedded store's one connection is shared.
    pub fn http_worker_stores(&self, connections: usize) -> anyhow::Result<WorkerStores> {
        let Some(postgres) = &self.postgres else {
            return Ok(WorkerStores {
                store: self.store.clone(),
                tenancy: self.tenancy.clone(),
                actions: self.actions.clone(),
                keys: self.keys.clone(),
                faults: self.faults.clone(),
            });
        };
        let store = Arc::new(
            postgres
                .thread_local_pool(connections)
                .context("building an HTTP worker's connection pool")?,
        );
        let stores = WorkerStores {
            store: store.clone(),
            tenancy: store.clone(),
            actions: store.clone(),
            keys: store.clone(),
            faults: store,
        };
        Ok(match self.traced {
            Some(system) => stores.traced(system),
            None => stores,
        })
    }
}

/// What one HTTP worker's use cases run on.
pub struct WorkerStores {
    /// Servers, their history and the address pools.
    pub store: Arc<dyn Store>,
    /// Projects and API keys.
    pub tenancy: Arc<dyn TenancyStore>,
    /// Action records.
    pub actions: Arc<dyn ActionStore>,
    /// Idempotency keys.
    pub keys: Arc<dyn IdempotencyStore>,
    /// Fault rules, and their firings.
    pub faults: Arc<dyn FaultStore>,
}

impl WorkerStores {
    fn traced(self, system: DbSystem) -> WorkerStores {
        WorkerStores {
            store: Arc::new(TracedStore::new(self.store, system)),
            tenancy: Arc::new(TracedTenancyStore::new(self.tenancy, system)),
            actions: Arc::new(TracedActionStore::new(self.actions, system)),
            keys: Arc::new(TracedIdempotencyStore::new(self.keys, system)),
            faults: Arc::new(TracedFaultStore::new(self.faults, system)),
        }
    }
}

/// `total` spread over at most `parts` shares of at least one, adding up to `total` (at
/// least one share of one).
fn spread(total: usize, parts: usize) -> Vec<usize> {
    let total = total.max(1);
    let parts = parts.clamp(1, total);
    (0..parts)
        .map(|i| total / parts + usize::from(i < total % parts))
        .collect()
}

/// Opens the store of `config.database_url` and applies the migrations it lacks:
/// `postgres://…` with a connection pool (of at most [`BACKGROUND_CONNECTIONS`]: the API's
/// requests get pools of their own from [`OpenedStore::http_worker_store`]),
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
        let webhooks = PgStore::connect(
            url.expose(),
            PgPoolConfig {
                max_size: config.db_pool.max_size.min(WEBHOOK_CONNECTIONS),
                ..config.db_pool.clone()
            },
        )
        .await
        .with_context(|| format!("connecting the webhook workers to {url}"))?;
        return Ok(OpenedStore {
            webhooks: Arc::new(webhooks),
            store: Arc::new(store.clone()),
            status: Arc::new(store.clone()),
            tenancy: Arc::new(store.clone()),
            events: Arc::new(store.clone()),
            actions: Arc::new(store.clone()),
            keys: Arc::new(store.clone()),
            faults: Arc::new(store.clone()),
            costs: Arc::new(store.clone()),
            budgets: Arc::new(store.clone()),
            description: format!("postgres ({url})"),
            postgres: Some(store),
            traced: None,
        });
    }
    let location = SqliteLocation::parse(url.expose())?;
    let description = format!("sqlite ({location})");
    let options = SqliteOptions {
        wait_timeout: config.db_pool.wait_timeout,
        busy_timeout: config.db_pool.lock_timeout,
    };
    let store = SqliteStore::open_with(location, options)
        .await
        .with_context(|| format!("opening {description}"))?;
    let store = Arc::new(store);
    Ok(OpenedStore {
        status: store.clone(),
        tenancy: store.clone(),
        events: store.clone(),
        actions: store.clone(),
        keys: store.clone(),
        faults: store.clone(),
        webhooks: store.clone(),
        costs: store.clone(),
        budgets: store.clone(),
        store,
        description,
        postgres: None,
        traced: None,
    })
}

#[cfg(test)]
mod tests {
    use super::spread;

    #[test]
    fn the_pool_size_is_spread_exactly_and_no_worker_is_left_without_a_connection() {
        assert_eq!(spread(16, 2), vec![8, 8]);
        assert_eq!(spread(16, 12), vec![2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1]);
        assert_eq!(spread(4, 16), vec![1, 1, 1, 1]);
        assert_eq!(spread(1, 1), vec![1]);
        assert_eq!(spread(0, 0), vec![1]);
        for total in 1..40 {
            for parts in 1..40 {
                let shares = spread(total, parts);
                assert_eq!(shares.iter().sum::<usize>(), total, "{total} over {parts}");
                assert_eq!(shares.len(), parts.min(total));
                assert!(shares.iter().all(|&n| n >= 1));
                assert!(shares.iter().max().unwrap() - shares.iter().min().unwrap() <= 1);
            }
        }
    }
}
