//! The validated configuration fleetd runs with, built from [`Settings`] with defaults;
//! every refusal names the setting, its flag and its environment variable.

use std::fmt;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::time::Duration;

use chrono::TimeDelta;
use fleet_domain::catalog::CatalogFile;
use fleet_domain::quota::{self, Quotas};
use fleet_domain::{Catalog, LifecycleConfig, TransitionDelays};
use fleet_postgres::PgPoolConfig;
use url::Url;

pub use crate::auth::AuthConfig;
pub use crate::database_url::DatabaseUrl;
use crate::settings::{ClockMode, LogFormat, Settings};
use crate::webhook_config::{WebhookConfig, webhook_config};

/// Everything fleetd needs to run, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub bind: SocketAddr,
    /// Which store.
    pub database_url: DatabaseUrl,
    /// How logs are written.
    pub log_format: LogFormat,
    /// The least level logged.
    pub log_level: slog::Level,
    /// The OTLP/HTTP collector traces are exported to; `None`: none exported.
    pub otlp_endpoint: Option<Url>,
    /// Which clock.
    pub clock: ClockMode,
    /// The seed of every random choice but keys; `None`: the operating system's.
    pub seed: Option<u64>,
    /// What the cloud offers.
    pub catalog: Catalog,
    /// Time between worker passes.
    pub worker_interval: Duration,
    /// Servers claimed per batch.
    pub batch_size: u32,
    /// Delays, billing period and idle timeout.
    pub lifecycle: LifecycleConfig,
    /// The Postgres connection pool: size, timeouts, connection check.
    pub db_pool: PgPoolConfig,
    /// Time in-flight requests get on shutdown.
    pub shutdown_timeout: Duration,
    /// How long the global event history is kept.
    pub event_retention: TimeDelta,
    /// How long an idempotency key is kept after its first request.
    pub idempotency_retention: TimeDelta,
    /// How long a terminated server stays in lists; `None`: as long as it is stored.
    pub terminated_listed_for: Option<TimeDelta>,
    /// How long usage records are kept after their period ended; `None`: for ever.
    pub usage_retention: Option<TimeDelta>,
    /// How requests are authenticated.
    pub auth: AuthConfig,
    /// The quotas every project created gets.
    pub default_quotas: Quotas,
    /// How webhook deliveries run.
    pub webhooks: WebhookConfig,
}

/// The quotas of new projects: each setting unset is no limit.
fn default_quotas(settings: &Settings) -> Result<Quotas, ConfigError> {
    let limit = |setting: &str, env: &str, value: Option<u32>| {
        value
            .map(|v| in_range(setting, env, Some(v), 0, 0..=quota::MAX_LIMIT))
            .transpose()
    };
    Ok(Quotas {
        max_servers: limit(
            "default_max_servers",
            "FLEET_DEFAULT_MAX_SERVERS",
            settings.default_max_servers,
        )?,
        max_vcpus: limit(
            "default_max_vcpus",
            "FLEET_DEFAULT_MAX_VCPUS",
            settings.default_max_vcpus,
        )?,
    })
}

/// A setting that cannot be used, named with its flag and environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The collector's base URL: http or https, with a host; empty is none (as Compose's
/// `${VAR:-}` writes an unset variable).
fn otlp_endpoint(text: Option<&str>) -> Result<Option<Url>, ConfigError> {
    let Some(text) = text.filter(|text| !text.is_empty()) else {
        return Ok(None);
    };
    let refuse = |problem: &str| bad("otlp_endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT", problem);
    let url = Url::parse(text).map_err(|e| refuse(&format!("'{text}' is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(refuse(&format!(
            "'{text}' is not an http(s) URL with a host, such as http://localhost:4318"
        )));
    }
    Ok(Some(url))
}

/// A refusal of `setting` (its flag is derived) read from `env`.
pub(crate) fn bad(setting: &str, env: &str, problem: impl fmt::Display) -> ConfigError {
    let flag = setting.replace('_', "-");
    ConfigError(format!(
        "invalid setting {setting} (--{flag}, {env}): {problem}"
    ))
}

/// `value`, or `default`, if it is in `range`; otherwise a refusal of `setting`.
pub(crate) fn in_range<T: PartialOrd + fmt::Display + Copy>(
    setting: &str,
    env: &str,
    value: Option<T>,
    default: T,
    range: RangeInclusive<T>,
) -> Result<T, ConfigError> {
    let value = value.unwrap_or(default);
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(bad(
            setting,
            env,
            format!(
                "must be between {} and {}, got {value}",
                range.start(),
                range.end()
            ),
        ))
    }
}

const DAY_S: u32 = 86_400;

impl Config {
    /// The configuration from merged settings, with defaults; `read_catalog` reads a catalog
    /// file's text.
    pub fn from_settings(
        settings: Settings,
        read_catalog: impl Fn(&std::path::Path) -> std::io::Result<String>,
    ) -> Result<Config, ConfigError> {
        let bind = settings
            .bind
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let auth = crate::auth::auth_config(&settings, bind)?;
        let default_quotas = default_quotas(&settings)?;
        let webhooks = webhook_config(&settings)?;
        let db_pool = db_pool(&settings)?;
        let database_url = DatabaseUrl::from(
            settings
                .database_url
                .unwrap_or_else(|| "sqlite://fleet.db".to_owned()),
        );
        let url = database_url.expose();
        if !(database_url.is_postgres() || url.starts_with("sqlite:")) {
            return Err(bad(
                "database_url",
                "DATABASE_URL",
                format!(
                    "'{database_url}' is neither postgres://… nor sqlite://PATH nor sqlite::memory:"
                ),
            ));
        }
        let log_level = match settings.log_level.as_deref() {
            None => slog::Level::Info,
            Some(name) => name.parse().map_err(|()| {
                bad(
                    "log_level",
                    "FLEET_LOG_LEVEL",
                    format!("'{name}' is not one of critical, error, warning, info, debug, trace"),
                )
            })?,
        };
        let catalog = match &settings.catalog {
            None => Catalog::default(),
            Some(path) => {
                let text = read_catalog(path).map_err(|e| {
                    bad(
                        "catalog",
                        "FLEET_CATALOG",
                        format!("{}: {e}", path.display()),
                    )
                })?;
                let file: CatalogFile = toml::from_str(&text).map_err(|e| {
                    bad(
                        "catalog",
                        "FLEET_CATALOG",
                        format!("{}: {e}", path.display()),
                    )
                })?;
                Catalog::from_file(file).map_err(|e| {
                    bad(
                        "catalog",
                        "FLEET_CATALOG",
                        format!("{}: {e}", path.display()),
                    )
                })?
            }
        };
        let delay = |setting: &str, env: &str, value, default| {
            in_range(setting, env, value, default, 0..=DAY_S)
                .map(|s| TimeDelta::seconds(i64::from(s)))
        };
        let delays = TransitionDelays {
            provisioning: delay(
                "provisioning_delay_s",
                "FLEET_PROVISIONING_DELAY_S",
                settings.provisioning_delay_s,
                5,
            )?,
            starting: delay(
                "starting_delay_s",
                "FLEET_STARTING_DELAY_S",
                settings.starting_delay_s,
                3,
            )?,
            stopping: delay(
                "stopping_delay_s",
                "FLEET_STOPPING_DELAY_S",
                settings.stopping_delay_s,
                3,
            )?,
            rebooting: delay(
                "rebooting_delay_s",
                "FLEET_REBOOTING_DELAY_S",
                settings.rebooting_delay_s,
                2,
            )?,
            terminating: delay(
                "terminating_delay_s",
                "FLEET_TERMINATING_DELAY_S",
                settings.terminating_delay_s,
                3,
            )?,
        };
        let billing_period = in_range(
            "billing_period_s",
            "FLEET_BILLING_PERIOD_S",
            settings.billing_period_s,
            3_600,
            1..=DAY_S,
        )?;
        let idle_timeout = in_range(
            "idle_timeout_s",
            "FLEET_IDLE_TIMEOUT_S",
            settings.idle_timeout_s,
            1_800,
            1..=30 * DAY_S,
        )?;
        Ok(Config {
            webhooks,
            default_quotas,
            bind,
            database_url,
            log_format: settings
                .log_format
                .unwrap_or_else(|| LogFormat::default_for(std::io::stdout().is_terminal())),
            log_level,
            otlp_endpoint: otlp_endpoint(settings.otlp_endpoint.as_deref())?,
            clock: settings.clock.unwrap_or(ClockMode::System),
            seed: settings.seed,
            catalog,
            worker_interval: Duration::from_millis(in_range(
                "worker_interval_ms",
                "FLEET_WORKER_INTERVAL_MS",
                settings.worker_interval_ms,
                1_000,
                10..=3_600_000,
            )?),
            batch_size: in_range(
                "batch_size",
                "FLEET_BATCH_SIZE",
                settings.batch_size,
                100,
                1..=10_000,
            )?,
            lifecycle: LifecycleConfig {
                delays,
                billing_period: TimeDelta::seconds(i64::from(billing_period)),
                idle_timeout: TimeDelta::seconds(i64::from(idle_timeout)),
            },
            db_pool,
            shutdown_timeout: Duration::from_secs(u64::from(in_range(
                "shutdown_timeout_s",
                "FLEET_SHUTDOWN_TIMEOUT_S",
                settings.shutdown_timeout_s,
                30,
                0..=3_600,
            )?)),
            event_retention: TimeDelta::seconds(i64::from(in_range(
                "event_retention_s",
                "FLEET_EVENT_RETENTION_S",
                settings.event_retention_s,
                7 * DAY_S,
                60..=3_650 * DAY_S,
            )?)),
            terminated_listed_for: Some(in_range(
                "terminated_listed_s",
                "FLEET_TERMINATED_LISTED_S",
                settings.terminated_listed_s,
                3_600,
                0..=3_650 * DAY_S,
            )?)
            .filter(|seconds| *seconds > 0)
            .map(|seconds| TimeDelta::seconds(i64::from(seconds))),
            usage_retention: Some(in_range(
                "usage_retention_s",
                "FLEET_USAGE_RETENTION_S",
                settings.usage_retention_s,
                0,
                0..=3_650 * DAY_S,
            )?)
            .filter(|seconds| *seconds > 0)
            .map(|seconds| TimeDelta::seconds(i64::from(seconds))),
            idempotency_retention: TimeDelta::seconds(i64::from(in_range(
                "idempotency_retention_s",
                "FLEET_IDEMPOTENCY_RETENTION_S",
                settings.idempotency_retention_s,
                DAY_S,
                60..=3_650 * DAY_S,
            )?)),
            auth,
        })
    }
}

/// The pool settings, over [`PgPoolConfig`]'s defaults.
fn db_pool(settings: &Settings) -> Result<PgPoolConfig, ConfigError> {
    let defaults = PgPoolConfig::default();
    let timeout = |setting: &str, env: &str, value: Option<u64>, default: Duration| {
        in_range(
            setting,
            env,
            value,
            u64::try_from(default.as_millis()).unwrap_or(u64::MAX),
            10..=600_000,
        )
        .map(Duration::from_millis)
    };
    Ok(PgPoolConfig {
        max_size: in_range(
            "db_pool_size",
            "FLEET_DB_POOL_SIZE",
            settings.db_pool_size,
            u32::try_from(defaults.max_size).unwrap_or(u32::MAX),
            1..=1_000,
        )? as usize,
        wait_timeout: timeout(
            "db_pool_wait_timeout_ms",
            "FLEET_DB_POOL_WAIT_TIMEOUT_MS",
            settings.db_pool_wait_timeout_ms,
            defaults.wait_timeout,
        )?,
        create_timeout: timeout(
            "db_pool_create_timeout_ms",
            "FLEET_DB_POOL_CREATE_TIMEOUT_MS",
            settings.db_pool_create_timeout_ms,
            defaults.create_timeout,
        )?,
        recycle_timeout: timeout(
            "db_pool_recycle_timeout_ms",
            "FLEET_DB_POOL_RECYCLE_TIMEOUT_MS",
            settings.db_pool_recycle_timeout_ms,
            defaults.recycle_timeout,
        )?,
        check_connections: settings
            .db_pool_check_connections
            .unwrap_or(defaults.check_connections),
        lock_timeout: timeout(
            "db_lock_timeout_ms",
            "FLEET_DB_LOCK_TIMEOUT_MS",
            settings.db_lock_timeout_ms,
            defaults.lock_timeout,
        )?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(settings: Settings) -> Result<Config, ConfigError> {
        Config::from_settings(settings, |_| Ok(String::new()))
    }

    #[test]
    fn the_defaults_are_sane() {
        let config = config(Settings::default()).expect("valid");
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database_url.expose(), "sqlite://fleet.db");
        assert_eq!(config.clock, ClockMode::System);
        assert_eq!(
            config.log_format,
            LogFormat::default_for(std::io::stdout().is_terminal())
        );
        assert_eq!(LogFormat::default_for(false), LogFormat::Json);
        assert_eq!(LogFormat::default_for(true), LogFormat::Human);
        assert_eq!(config.worker_interval, Duration::from_secs(1));
        assert_eq!(config.lifecycle.idle_timeout, TimeDelta::minutes(30));
        assert_eq!(config.lifecycle.delays, TransitionDelays::default());
        assert_eq!(config.event_retention, TimeDelta::days(7));
        assert_eq!(config.idempotency_retention, TimeDelta::hours(24));
        assert_eq!(config.terminated_listed_for, Some(TimeDelta::hours(1)));
        assert_eq!(config.lifecycle.billing_period, TimeDelta::hours(1));
        assert_eq!(config.usage_retention, None, "usage is kept for ever");
    }

    #[test]
    fn a_usage_retention_keeps_records_that_long_and_zero_for_ever() {
        let kept = |seconds| {
            config(Settings {
                usage_retention_s: Some(seconds),
                ..Settings::default()
            })
            .expect("valid")
            .usage_retention
        };
        assert_eq!(kept(90 * 86_400), Some(TimeDelta::days(90)));
        assert_eq!(kept(0), None);
        let err = config(Settings {
            usage_retention_s: Some(u32::MAX),
            ..Settings::default()
        })
        .expect_err("past ten years");
        assert!(err.to_string().contains("usage_retention_s"), "{err}");
    }

    #[test]
    fn terminated_servers_are_listed_for_the_period_or_for_ever_at_zero() {
        let listed = |seconds| {
            config(Settings {
                terminated_listed_s: Some(seconds),
                ..Default::default()
            })
            .expect("valid")
            .terminated_listed_for
        };
        assert_eq!(listed(90), Some(TimeDelta::seconds(90)));
        assert_eq!(listed(0), None);
    }

    #[test]
    fn a_bad_setting_is_named_with_its_flag_and_variable() {
        let err = config(Settings {
            worker_interval_ms: Some(0),
            ..Default::default()
        })
        .expect_err("too fast");
        assert_eq!(
            err.to_string(),
            "invalid setting worker_interval_ms (--worker-interval-ms, FLEET_WORKER_INTERVAL_MS): \
             must be between 10 and 3600000, got 0"
        );
        let err = config(Settings {
            billing_period_s: Some(0),
            ..Default::default()
        })
        .expect_err("zero period");
        assert!(err.to_string().contains("billing_period_s"), "{err}");
        let err = config(Settings {
            event_retention_s: Some(59),
            ..Default::default()
        })
        .expect_err("a minute at least");
        assert!(err.to_string().contains("FLEET_EVENT_RETENTION_S"), "{err}");
        let err = config(Settings {
            idempotency_retention_s: Some(59),
            ..Default::default()
        })
        .expect_err("a minute at least");
        assert_eq!(
            err.to_string(),
            "invalid setting idempotency_retention_s (--idempotency-retention-s, \
             FLEET_IDEMPOTENCY_RETENTION_S): must be between 60 and 315360000, got 59"
        );
        let kept = config(Settings {
            idempotency_retention_s: Some(3_600),
            ..Default::default()
        })
        .expect("an hour");
        assert_eq!(kept.idempotency_retention, TimeDelta::hours(1));
        let err = config(Settings {
            log_level: Some("loud".into()),
            ..Default::default()
        })
        .expect_err("level");
        assert!(err.to_string().contains("FLEET_LOG_LEVEL"), "{err}");
        let err = config(Settings {
            database_url: Some("mysql://root:hunter2@db/fleet".into()),
            ..Default::default()
        })
        .expect_err("mysql");
        assert!(err.to_string().contains("DATABASE_URL"), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn a_configuration_dump_shows_no_secret() {
        let key = format!("fleet_{}_{}", "a".repeat(32), "B".repeat(43));
        let config = config(Settings {
            key_pepper: Some("pepper-pepper-pepper".parse().expect("text")),
            bootstrap_admin_key: Some(key.parse().expect("text")),
            database_url: Some("postgres://fleet:hunter2@db/fleet".into()),
            ..Default::default()
        })
        .expect("valid");
        let dump = format!("{config:?}");
        for secret in ["pepper-pepper", &key[39..], "hunter2"] {
            assert!(!dump.contains(secret), "{dump}");
        }
    }

    #[test]
    fn a_catalog_file_is_read_and_validated() {
        let settings = Settings {
            catalog: Some("lab.toml".into()),
            ..Default::default()
        };
        let good = "[[regions]]\nname = \"lab-1\"\ncidr = \"192.168.0.0/24\"\n\
                    [[server_types]]\nname = \"tiny\"\nvcpus = 1\nmemory_mib = 256\nhourly_price_micros = 1000\n";
        let config = Config::from_settings(settings.clone(), |_| Ok(good.to_owned()))
            .expect("valid catalog");
        assert_eq!(config.catalog.regions().len(), 1);
        let err = Config::from_settings(settings, |_| Ok("regions = 3".to_owned()))
            .expect_err("bad catalog");
        assert!(err.to_string().contains("lab.toml"), "{err}");
    }

    #[test]
    fn the_pool_settings_reach_the_pool_and_are_checked() {
        assert_eq!(
            config(Settings::default()).expect("valid").db_pool,
            PgPoolConfig::default()
        );
        let pool = config(Settings {
            db_pool_size: Some(4),
            db_pool_wait_timeout_ms: Some(250),
            db_pool_create_timeout_ms: Some(1_500),
            db_pool_recycle_timeout_ms: Some(100),
            db_pool_check_connections: Some(true),
            db_lock_timeout_ms: Some(750),
            ..Default::default()
        })
        .expect("valid")
        .db_pool;
        assert_eq!(
            pool,
            PgPoolConfig {
                max_size: 4,
                wait_timeout: Duration::from_millis(250),
                create_timeout: Duration::from_millis(1_500),
                recycle_timeout: Duration::from_millis(100),
                check_connections: true,
                lock_timeout: Duration::from_millis(750),
            }
        );
        for (settings, named) in [
            (
                Settings {
                    db_pool_size: Some(0),
                    ..Default::default()
                },
                "invalid setting db_pool_size (--db-pool-size, FLEET_DB_POOL_SIZE): \
                 must be between 1 and 1000, got 0",
            ),
            (
                Settings {
                    db_pool_wait_timeout_ms: Some(0),
                    ..Default::default()
                },
                "invalid setting db_pool_wait_timeout_ms (--db-pool-wait-timeout-ms, \
                 FLEET_DB_POOL_WAIT_TIMEOUT_MS): must be between 10 and 600000, got 0",
            ),
            (
                Settings {
                    db_pool_create_timeout_ms: Some(600_001),
                    ..Default::default()
                },
                "invalid setting db_pool_create_timeout_ms (--db-pool-create-timeout-ms, \
                 FLEET_DB_POOL_CREATE_TIMEOUT_MS): must be between 10 and 600000, got 600001",
            ),
            (
                Settings {
                    db_pool_recycle_timeout_ms: Some(5),
                    ..Default::default()
                },
                "invalid setting db_pool_recycle_timeout_ms (--db-pool-recycle-timeout-ms, \
                 FLEET_DB_POOL_RECYCLE_TIMEOUT_MS): must be between 10 and 600000, got 5",
            ),
        ] {
            assert_eq!(config(settings).expect_err(named).to_string(), named);
        }
    }
}
