//! The webhook settings, validated: where and how deliveries are sent, when they are
//! retried, and how many run at once.

use std::time::Duration;

use fleet_domain::webhooks::{AddressPolicy, RetrySchedule};
use fleet_webhooks::SenderSettings;

use crate::config::{ConfigError, bad, in_range};
use crate::settings::Settings;

/// How webhook deliveries run.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    /// How each attempt is sent.
    pub sender: SenderSettings,
    /// When failed deliveries are tried again.
    pub schedule: RetrySchedule,
    /// Attempts this process makes at once.
    pub concurrency: u32,
    /// Attempts to one webhook this process makes at once.
    pub per_endpoint: u32,
}

impl WebhookConfig {
    /// How long a claimed delivery stays claimed: twice an attempt's timeout and a margin,
    /// so a live process always records its attempt first, and one that died gives the
    /// delivery up soon after.
    pub fn lease(&self) -> Duration {
        self.sender.timeout * 2 + Duration::from_secs(5)
    }
}

/// The webhook settings, with defaults.
pub fn webhook_config(settings: &Settings) -> Result<WebhookConfig, ConfigError> {
    let timeout = Duration::from_millis(in_range(
        "webhook_timeout_ms",
        "FLEET_WEBHOOK_TIMEOUT_MS",
        settings.webhook_timeout_ms,
        10_000,
        100..=60_000,
    )?);
    let jitter = in_range(
        "webhook_retry_jitter",
        "FLEET_WEBHOOK_RETRY_JITTER",
        settings.webhook_retry_jitter,
        RetrySchedule::DEFAULT_JITTER,
        0.0..=0.5,
    )?;
    let schedule = match &settings.webhook_retry_schedule {
        None => RetrySchedule::new(RetrySchedule::standard().delays().to_vec(), jitter),
        Some(text) => RetrySchedule::new(waits(text)?, jitter),
    }
    .map_err(|e| bad("webhook_retry_schedule", "FLEET_WEBHOOK_RETRY_SCHEDULE", e))?;
    Ok(WebhookConfig {
        sender: SenderSettings {
            timeout,
            connect_timeout: timeout.min(Duration::from_secs(5)),
            policy: AddressPolicy {
                allow_private: settings.webhook_allow_private.unwrap_or(true),
            },
        },
        schedule,
        concurrency: in_range(
            "webhook_concurrency",
            "FLEET_WEBHOOK_CONCURRENCY",
            settings.webhook_concurrency,
            32,
            1..=1_000,
        )?,
        per_endpoint: in_range(
            "webhook_concurrency_per_endpoint",
            "FLEET_WEBHOOK_CONCURRENCY_PER_ENDPOINT",
            settings.webhook_concurrency_per_endpoint,
            4,
            1..=100,
        )?,
    })
}

/// Comma-separated waits such as `0s,5s,5m,2h`.
fn waits(text: &str) -> Result<Vec<Duration>, ConfigError> {
    text.split(',')
        .map(|wait| {
            humantime::parse_duration(wait.trim()).map_err(|e| {
                bad(
                    "webhook_retry_schedule",
                    "FLEET_WEBHOOK_RETRY_SCHEDULE",
                    format!("'{}': {e}", wait.trim()),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_standard_schedule_and_a_ten_second_timeout() {
        let config = webhook_config(&Settings::default()).expect("defaults");
        assert_eq!(config.schedule, RetrySchedule::standard());
        assert_eq!(config.sender.timeout, Duration::from_secs(10));
        assert!(config.sender.policy.allow_private);
        assert_eq!((config.concurrency, config.per_endpoint), (32, 4));
        assert_eq!(config.lease(), Duration::from_secs(25));
    }

    #[test]
    fn a_schedule_is_read_and_bad_ones_are_refused_by_name() {
        let settings = Settings {
            webhook_retry_schedule: Some("0s, 1s,2m".to_owned()),
            webhook_retry_jitter: Some(0.0),
            ..Settings::default()
        };
        let config = webhook_config(&settings).expect("a schedule");
        assert_eq!(config.schedule.attempts(), 3);
        for bad in ["", "5x", "0s,9d"] {
            let settings = Settings {
                webhook_retry_schedule: Some(bad.to_owned()),
                ..Settings::default()
            };
            let refused = webhook_config(&settings).expect_err(bad).to_string();
            assert!(
                refused.contains("webhook_retry_schedule"),
                "{bad}: {refused}"
            );
        }
        let jitter = Settings {
            webhook_retry_jitter: Some(0.9),
            ..Settings::default()
        };
        assert!(webhook_config(&jitter).is_err());
    }
}
