//! The metrics fleetd records beyond HTTP: servers by state, address pools, the database
//! pool, and the lifecycle workers (what the engine changed: [`crate::engine_metrics`]).
//! Gauges are sampled from the store when `/metrics` is read, so they are never stale.

use std::sync::Arc;
use std::time::Duration;

use fleet_domain::ports::StoreStatus;
use fleet_domain::{Catalog, ServerState};
use fleet_ops::MetricsExporter;
use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use metrics_exporter_prometheus::PrometheusHandle;
use slog::Logger;

/// Servers in each state.
pub const SERVERS: &str = "fleet_servers";
/// Free addresses of each region's pool.
pub const POOL_FREE: &str = "fleet_pool_free_addresses";
/// Allocated addresses of each region's pool.
pub const POOL_ALLOCATED: &str = "fleet_pool_allocated_addresses";
/// What the servers billing now cost per hour, in the catalog's currency, by region and
/// type.
pub const COST_RATE: &str = "fleet_cost_rate_per_hour";
/// Connections the database pools (each HTTP worker's and the background one) hold.
pub const DB_POOL_SIZE: &str = "fleet_db_pool_connections";
/// Connections of the database pools in use.
pub const DB_POOL_IN_USE: &str = "fleet_db_pool_connections_in_use";
/// How late the oldest due transition was when a worker pass began.
pub const TRANSITION_LAG: &str = "fleet_transition_lag_seconds";
/// How long one worker pass took.
pub const PASS_DURATION: &str = "fleet_worker_pass_duration_seconds";
/// Worker passes that failed.
pub const PASS_FAILURES: &str = "fleet_worker_pass_failures_total";
/// Events deleted from the global history for being older than the retention window.
pub const EVENTS_PRUNED: &str = "fleet_events_pruned_total";
/// Idempotency keys deleted for being older than their retention.
pub const KEYS_PRUNED: &str = "fleet_idempotency_keys_pruned_total";

/// Describes the metrics above to the installed recorder, the failure counter registered at
/// zero so that its alert reads 0, not "no data", on a healthy service.
pub fn describe() {
    describe_gauge!(SERVERS, Unit::Count, "Servers in each state");
    describe_gauge!(
        POOL_FREE,
        Unit::Count,
        "Free addresses of each region's pool"
    );
    describe_gauge!(
        POOL_ALLOCATED,
        Unit::Count,
        "Allocated addresses of each region's pool"
    );
    describe_gauge!(
        DB_POOL_SIZE,
        Unit::Count,
        "Connections the database pools hold"
    );
    describe_gauge!(DB_POOL_IN_USE, Unit::Count, "Database connections in use");
    describe_gauge!(
        COST_RATE,
        "What the servers billing now cost per hour (USD), by region and type"
    );
    describe_histogram!(
        TRANSITION_LAG,
        Unit::Seconds,
        "How overdue the oldest due transition was when a worker pass began"
    );
    describe_histogram!(PASS_DURATION, Unit::Seconds, "Duration of one worker pass");
    describe_counter!(PASS_FAILURES, Unit::Count, "Worker passes that failed");
    counter!(PASS_FAILURES).increment(0);
    describe_counter!(
        EVENTS_PRUNED,
        Unit::Count,
        "Events deleted for being older than the retention window"
    );
    counter!(EVENTS_PRUNED).increment(0);
    describe_counter!(
        KEYS_PRUNED,
        Unit::Count,
        "Idempotency keys deleted for being older than their retention"
    );
    counter!(KEYS_PRUNED).increment(0);
}

/// Records events pruned.
pub fn record_pruned(events: u64) {
    counter!(EVENTS_PRUNED).increment(events);
}

/// Records idempotency keys pruned.
pub fn record_keys_pruned(keys: u64) {
    counter!(KEYS_PRUNED).increment(keys);
}

/// Records how long one worker pass took.
pub fn record_pass(elapsed: Duration) {
    histogram!(PASS_DURATION).record(elapsed.as_secs_f64());
}

/// Records a failed worker pass.
pub fn record_pass_failure() {
    counter!(PASS_FAILURES).increment(1);
}

/// Records how overdue the oldest due transition was.
pub fn record_transition_lag(lag: Duration) {
    histogram!(TRANSITION_LAG).record(lag.as_secs_f64());
}

/// `/metrics`: samples the gauges from the store, then renders everything.
pub struct Exporter {
    /// The recorder's handle.
    pub handle: PrometheusHandle,
    /// The store to sample.
    pub store: Arc<dyn StoreStatus>,
    /// The regions and types whose cost rate is exported, at zero when nothing bills.
    pub catalog: Arc<Catalog>,
    /// The database pool's (size, in use), for stores with a pool.
    pub pool_status: Option<Arc<dyn Fn() -> (usize, usize) + Send + Sync>>,
    /// Where sampling failures go.
    pub logger: Logger,
}

#[async_trait::async_trait]
impl MetricsExporter for Exporter {
    async fn render(&self) -> String {
        match self.store.count_by_state().await {
            Ok(counts) => {
                for state in ServerState::ALL {
                    let count = counts
                        .iter()
                        .find(|(s, _)| *s == state)
                        .map_or(0, |(_, n)| *n);
                    gauge!(SERVERS, "state" => state.as_str()).set(count as f64);
                }
            }
            Err(e) => slog::warn!(self.logger, "sampling servers by state failed"; "error" => %e),
        }
        match self.store.pool_usage().await {
            Ok(pools) => {
                for pool in pools {
                    gauge!(POOL_FREE, "region" => pool.region.clone()).set(pool.free as f64);
                    gauge!(POOL_ALLOCATED, "region" => pool.region).set(pool.allocated as f64);
                }
            }
            Err(e) => slog::warn!(self.logger, "sampling address pools failed"; "error" => %e),
        }
        match self.store.cost_rates().await {
            Ok(rates) => {
                for region in self.catalog.regions() {
                    for server_type in self.catalog.server_types() {
                        let micros = rates
                            .iter()
                            .find(|r| r.region == region.name && r.server_type == server_type.name)
                            .map_or(0, |r| r.hourly.micros());
                        gauge!(COST_RATE, "region" => region.name.clone(), "type" => server_type.name.clone())
                            .set(micros as f64 / 1e6);
                    }
                }
            }
            Err(e) => slog::warn!(self.logger, "sampling cost rates failed"; "error" => %e),
        }
        if let Some(status) = &self.pool_status {
            let (size, in_use) = status();
            gauge!(DB_POOL_SIZE).set(size as f64);
            gauge!(DB_POOL_IN_USE).set(in_use as f64);
        }
        self.handle.render()
    }
}
