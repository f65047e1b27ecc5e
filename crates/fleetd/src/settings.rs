//! The raw settings, as flags, environment variables and the TOML file give them: every
//! field optional, merged flag > environment > file, then validated into a
//! [`crate::config::Config`].

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use crate::secret::Secret;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line: for pipes, Docker and Kubernetes.
    Json,
    /// Human-readable, for a terminal.
    Human,
}

impl LogFormat {
    /// The format when none is asked for: what a person reads on a terminal, JSON for
    /// everything else.
    pub fn default_for(stdout_is_terminal: bool) -> LogFormat {
        if stdout_is_terminal {
            LogFormat::Human
        } else {
            LogFormat::Json
        }
    }
}

/// Which clock the service reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ClockMode {
    /// The system clock (the default).
    System,
    /// A clock that moves only through `POST /admin/clock/advance`.
    Virtual,
}

/// How requests without an API key are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Every request needs a valid API key.
    Keys,
    /// A request without a key acts as the admin of the project `default`.
    Open,
}

/// Every setting, optional. Field names are the TOML keys; flags are the same names in
/// kebab case; environment variables are `FLEET_` and the name in upper case, except
/// `DATABASE_URL`.
#[derive(Debug, Clone, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "FLEET_BIND", value_name = "ADDR")]
    pub bind: Option<SocketAddr>,
    /// Store: postgres://…, sqlite://PATH or sqlite::memory: [default: sqlite://fleet.db].
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Log format [default: human on a terminal, json otherwise].
    #[arg(long, env = "FLEET_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Least level logged: critical, error, warning, info, debug or trace [default: info].
    #[arg(long, env = "FLEET_LOG_LEVEL", value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Export traces over OTLP/HTTP (protobuf) to the collector at this base URL, e.g.
    /// http://localhost:4318 (traces go to its /v1/traces) [default: none, nothing
    /// exported].
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    /// Clock [default: system].
    #[arg(long, env = "FLEET_CLOCK", value_enum)]
    pub clock: Option<ClockMode>,
    /// Seed every random choice (server, action, project and request ids) from N, so a
    /// scenario on the virtual clock replays byte for byte; the virtual clock then starts
    /// at 2026-01-01T00:00:00Z. API keys stay random [default: none, random as usual].
    #[arg(long, env = "FLEET_SEED", value_name = "N")]
    pub seed: Option<u64>,
    /// A TOML catalog of regions and server types replacing the built-in one.
    #[arg(long, env = "FLEET_CATALOG", value_name = "PATH")]
    pub catalog: Option<PathBuf>,
    /// Milliseconds between passes of the lifecycle workers [default: 1000].
    #[arg(long, env = "FLEET_WORKER_INTERVAL_MS", value_name = "MS")]
    pub worker_interval_ms: Option<u64>,
    /// Servers claimed per batch of worker work [default: 100].
    #[arg(long, env = "FLEET_BATCH_SIZE", value_name = "N")]
    pub batch_size: Option<u32>,
    /// Seconds from provisioning to running [default: 5].
    #[arg(long, env = "FLEET_PROVISIONING_DELAY_S", value_name = "S")]
    pub provisioning_delay_s: Option<u32>,
    /// Seconds from starting to running [default: 3].
    #[arg(long, env = "FLEET_STARTING_DELAY_S", value_name = "S")]
    pub starting_delay_s: Option<u32>,
    /// Seconds from stopping to stopped [default: 3].
    #[arg(long, env = "FLEET_STOPPING_DELAY_S", value_name = "S")]
    pub stopping_delay_s: Option<u32>,
    /// Seconds from rebooting to running [default: 2].
    #[arg(long, env = "FLEET_REBOOTING_DELAY_S", value_name = "S")]
    pub rebooting_delay_s: Option<u32>,
    /// Seconds from terminating to terminated [default: 3].
    #[arg(long, env = "FLEET_TERMINATING_DELAY_S", value_name = "S")]
    pub terminating_delay_s: Option<u32>,
    /// Seconds a usage record of a running server covers, 1 to 86,400, aligned to the clock:
    /// one record per server and clock hour by default; 60 for a record a minute
    /// [default: 3600].
    #[arg(long, env = "FLEET_BILLING_PERIOD_S", value_name = "S")]
    pub billing_period_s: Option<u32>,
    /// Seconds a server may stay stopped before the reaper terminates it [default: 1800].
    #[arg(long, env = "FLEET_IDLE_TIMEOUT_S", value_name = "S")]
    pub idle_timeout_s: Option<u32>,
    /// Most Postgres connections for API requests, shared by the HTTP workers (one per CPU,
    /// at least one connection each); the lifecycle workers, probes and metrics hold up to 4
    /// more [default: 16].
    #[arg(long, env = "FLEET_DB_POOL_SIZE", value_name = "N")]
    pub db_pool_size: Option<u32>,

    /// Milliseconds a request waits for a free database connection (Postgres) or for the
    /// embedded store's one connection (SQLite) before it is refused with 503
    /// [default: 5000].
    #[arg(long, env = "FLEET_DB_POOL_WAIT_TIMEOUT_MS", value_name = "MS")]
    pub db_pool_wait_timeout_ms: Option<u64>,
    /// Milliseconds opening a Postgres connection may take [default: 5000].
    #[arg(long, env = "FLEET_DB_POOL_CREATE_TIMEOUT_MS", value_name = "MS")]
    pub db_pool_create_timeout_ms: Option<u64>,
    /// Milliseconds checking a pooled Postgres connection before reuse may take
    /// [default: 5000].
    #[arg(long, env = "FLEET_DB_POOL_RECYCLE_TIMEOUT_MS", value_name = "MS")]
    pub db_pool_recycle_timeout_ms: Option<u64>,
    /// Also check a pooled Postgres connection with a query before reusing it; connections
    /// the server closed are dropped either way [default: false].
    #[arg(long, env = "FLEET_DB_POOL_CHECK_CONNECTIONS", value_name = "BOOL")]
    pub db_pool_check_connections: Option<bool>,
    /// Milliseconds a write waits for a lock another writer holds (Postgres `lock_timeout`,
    /// SQLite's busy timeout) before it is refused as contended, a 503 [default: 5000].
    #[arg(long, env = "FLEET_DB_LOCK_TIMEOUT_MS", value_name = "MS")]
    pub db_lock_timeout_ms: Option<u64>,
    /// Seconds the global event history (`GET /events`, the stream) is kept, 60 to
    /// 315,360,000 (ten years); the newest 100 events of each server are kept longer, for
    /// its log [default: 604800, 7 days].
    #[arg(long, env = "FLEET_EVENT_RETENTION_S", value_name = "S")]
    pub event_retention_s: Option<u32>,
    /// Seconds an `Idempotency-Key` is kept after its first request, 60 to 315,360,000, on
    /// the service's clock; a retry after that runs anew [default: 86400, 24 hours].
    #[arg(long, env = "FLEET_IDEMPOTENCY_RETENTION_S", value_name = "S")]
    pub idempotency_retention_s: Option<u32>,
    /// Seconds a terminated server stays in `GET /servers` after it terminated, on the
    /// service's clock, as EC2 lists an instance for about an hour; 0 lists it for as long
    /// as it is stored. Listing by `state=terminated` and reading it by id always find it
    /// [default: 3600].
    #[arg(long, env = "FLEET_TERMINATED_LISTED_S", value_name = "S")]
    pub terminated_listed_s: Option<u32>,
    /// Seconds usage records are kept after their period ended, on the service's clock, 0
    /// to 315,360,000; 0 keeps them for ever. Pruning keeps each server's billed totals
    /// [default: 0].
    #[arg(long, env = "FLEET_USAGE_RETENTION_S", value_name = "S")]
    pub usage_retention_s: Option<u32>,
    /// Seconds in-flight requests get to finish on shutdown [default: 30].
    #[arg(long, env = "FLEET_SHUTDOWN_TIMEOUT_S", value_name = "S")]
    pub shutdown_timeout_s: Option<u32>,
    /// Whether a request needs an API key [default: open on a loopback address, keys on any
    /// other].
    #[arg(long, env = "FLEET_AUTH", value_enum)]
    pub auth: Option<AuthMode>,
    /// A secret mixed into every stored key hash; set it before the first key is made and
    /// never change it (keys hashed under another pepper stop working) [default: none].
    #[arg(
        long,
        env = "FLEET_KEY_PEPPER",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub key_pepper: Option<Secret>,
    /// Milliseconds a verified key is trusted without asking the database again: how long a
    /// key revoked on another replica keeps working here [default: 5000].
    #[arg(long, env = "FLEET_AUTH_CACHE_TTL_MS", value_name = "MS")]
    pub auth_cache_ttl_ms: Option<u64>,
    /// Requests a minute each API key (each client address, for keyless requests in open
    /// mode) may make, 1 to 1,000,000, where its project sets no limit of its own; counted
    /// per process, so N replicas allow N times the rate [default: none, unlimited].
    #[arg(long, env = "FLEET_RATE_LIMIT_PER_MINUTE", value_name = "N")]
    pub rate_limit_per_minute: Option<u32>,
    /// A key text (`fleetd keys generate`) installed at start-up as an admin key of
    /// `default` unless a key with its id exists [default: none].
    #[arg(
        long,
        env = "FLEET_BOOTSTRAP_ADMIN_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub bootstrap_admin_key: Option<Secret>,
    /// The most servers that are not terminated a project created from now on may keep,
    /// 0 to 1000000 [default: no limit; the project `default` has none unless set].
    #[arg(long, env = "FLEET_DEFAULT_MAX_SERVERS", value_name = "N")]
    pub default_max_servers: Option<u32>,
    /// The most vCPUs of running (or starting, provisioning, rebooting) servers a project
    /// created from now on may hold, 0 to 1000000 [default: no limit].
    #[arg(long, env = "FLEET_DEFAULT_MAX_VCPUS", value_name = "N")]
    pub default_max_vcpus: Option<u32>,
    /// Whether webhook deliveries may go to loopback and private addresses (link-local,
    /// metadata, unspecified and multicast ones never); turn it off where fleet is exposed
    /// [default: true].
    #[arg(long, env = "FLEET_WEBHOOK_ALLOW_PRIVATE", value_name = "BOOL")]
    pub webhook_allow_private: Option<bool>,
    /// Milliseconds one webhook delivery attempt may take, answer included, 100 to 60,000
    /// [default: 10000].
    #[arg(long, env = "FLEET_WEBHOOK_TIMEOUT_MS", value_name = "MS")]
    pub webhook_timeout_ms: Option<u64>,
    /// The waits before each attempt of a webhook delivery, comma separated (`0s,5s,5m`),
    /// the first attempt's first; each counted from when the attempt before was due
    /// [default: 0s,5s,5m,30m,2h,5h,10h,14h,20h,24h].
    #[arg(long, env = "FLEET_WEBHOOK_RETRY_SCHEDULE", value_name = "WAITS")]
    pub webhook_retry_schedule: Option<String>,
    /// How much each retry wait is stretched or shrunk at random, 0 to 0.5 [default: 0.1].
    #[arg(long, env = "FLEET_WEBHOOK_RETRY_JITTER", value_name = "FRACTION")]
    pub webhook_retry_jitter: Option<f64>,
    /// Webhook deliveries this process attempts at once, 1 to 1,000 [default: 32].
    #[arg(long, env = "FLEET_WEBHOOK_CONCURRENCY", value_name = "N")]
    pub webhook_concurrency: Option<u32>,
    /// Deliveries to one webhook this process attempts at once, 1 to 100 [default: 4].
    #[arg(long, env = "FLEET_WEBHOOK_CONCURRENCY_PER_ENDPOINT", value_name = "N")]
    pub webhook_concurrency_per_endpoint: Option<u32>,
}

macro_rules! merge_fields {
    ($high:ident, $low:ident, [$($field:ident),+ $(,)?]) => {
        Settings { $($field: $high.$field.or($low.$field)),+ }
    };
}

impl Settings {
    /// These settings, with `lower`'s where these have none.
    pub fn or(self, lower: Settings) -> Settings {
        let high = self;
        merge_fields!(
            high,
            lower,
            [
                bind,
                database_url,
                log_format,
                log_level,
                otlp_endpoint,
                clock,
                seed,
                catalog,
                worker_interval_ms,
                batch_size,
                provisioning_delay_s,
                starting_delay_s,
                stopping_delay_s,
                rebooting_delay_s,
                terminating_delay_s,
                billing_period_s,
                idle_timeout_s,
                db_pool_size,
                db_pool_wait_timeout_ms,
                db_pool_create_timeout_ms,
                db_pool_recycle_timeout_ms,
                db_pool_check_connections,
                db_lock_timeout_ms,
                event_retention_s,
                idempotency_retention_s,
                terminated_listed_s,
                usage_retention_s,
                shutdown_timeout_s,
                auth,
                key_pepper,
                auth_cache_ttl_ms,
                rate_limit_per_minute,
                bootstrap_admin_key,
                default_max_servers,
                default_max_vcpus,
                webhook_allow_private,
                webhook_timeout_ms,
                webhook_retry_schedule,
                webhook_retry_jitter,
                webhook_concurrency,
                webhook_concurrency_per_endpoint,
            ]
        )
    }

    /// The settings of a TOML configuration file.
    pub fn from_toml(text: &str) -> Result<Settings, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_settings_win_and_lower_ones_fill_the_gaps() {
        let flags = Settings {
            bind: Some("127.0.0.1:1".parse().expect("addr")),
            ..Default::default()
        };
        let file = Settings::from_toml("bind = \"0.0.0.0:2\"\nbatch_size = 7\n").expect("toml");
        let merged = flags.or(file);
        assert_eq!(merged.bind, Some("127.0.0.1:1".parse().expect("addr")));
        assert_eq!(merged.batch_size, Some(7));
        assert_eq!(merged.clock, None);
    }

    #[test]
    fn a_seed_is_a_whole_number_of_64_bits() {
        let seeded = Settings::from_toml("seed = 42\n").expect("valid");
        assert_eq!(seeded.seed, Some(42));
        for bad in ["seed = -1\n", "seed = \"42\"\n", "seed = 1.5\n"] {
            let refused = Settings::from_toml(bad).expect_err(bad);
            assert!(refused.contains("seed"), "{bad}: {refused}");
        }
    }

    #[test]
    fn the_file_refuses_unknown_keys_and_wrong_types_naming_them() {
        let unknown = Settings::from_toml("bnid = \"x\"\n").expect_err("unknown key");
        assert!(unknown.contains("bnid"), "{unknown}");
        let wrong = Settings::from_toml("batch_size = \"many\"\n").expect_err("wrong type");
        assert!(wrong.contains("batch_size"), "{wrong}");
        let clock = Settings::from_toml("clock = \"virtual\"\n").expect("valid");
        assert_eq!(clock.clock, Some(ClockMode::Virtual));
        let pool = Settings::from_toml(
            "db_pool_wait_timeout_ms = 250\ndb_pool_check_connections = false\n",
        )
        .expect("valid");
        assert_eq!(pool.db_pool_wait_timeout_ms, Some(250));
        assert_eq!(pool.db_pool_check_connections, Some(false));
        let wrong = Settings::from_toml("db_pool_check_connections = \"sometimes\"\n")
            .expect_err("not a boolean");
        assert!(wrong.contains("db_pool_check_connections"), "{wrong}");
        let auth = Settings::from_toml("auth = \"keys\"\nkey_pepper = \"pssst\"\n").expect("valid");
        assert_eq!(auth.auth, Some(AuthMode::Keys));
        assert_eq!(auth.key_pepper.as_ref().map(Secret::expose), Some("pssst"));
        assert!(
            !format!("{auth:?}").contains("pssst"),
            "Debug hides the pepper"
        );
    }
}
