//! fleetd, the fleet service: typed configuration, logging, the metrics recorder, the
//! system clock adapter, opening the store, the lifecycle workers, the in-process fan-out of
//! the event sequence (and pruning it), and the wiring of the
//! domain's use cases to the driving adapters through one constructor
//! ([`Application::build`]): it composes the HTTP application from `fleet_ops`' operational
//! routes and middleware and the REST API of `fleet_http`, and implements the readiness
//! probe, the metrics page and the engine's observer they need.
//!
//! It stays thin: no business rule, no SQL and no HTTP handler lives here, and it holds no
//! global state of its own (the `metrics` facade's recorder is process-wide by design).

pub mod auth;
pub mod clock;
pub mod config;
pub mod database_url;
pub mod engine_metrics;
pub mod fanout;
pub mod faults;
pub mod keys;
pub mod metrics;
pub mod probes;
pub mod secret;
pub mod settings;
pub mod startup;
pub mod store;
pub mod telemetry;
mod traced;
pub mod traces;
pub mod webhook_config;
pub mod webhooks;
pub mod workers;

use std::path::Path;

pub use config::{Config, ConfigError};
pub use settings::Settings;
pub use startup::{Application, shutdown_signal};

/// The configuration from flags and environment (`settings`, flag before variable, as clap
/// parsed them) over the optional TOML `file`, over the defaults.
pub fn load_config(settings: Settings, file: Option<&Path>) -> Result<Config, ConfigError> {
    let from_file = match file {
        None => Settings::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigError(format!(
                    "reading the configuration file {}: {e}",
                    path.display()
                ))
            })?;
            Settings::from_toml(&text).map_err(|e| {
                ConfigError(format!("in the configuration file {}: {e}", path.display()))
            })?
        }
    };
    Config::from_settings(settings.or(from_file), |path| std::fs::read_to_string(path))
}
