//! The authentication settings, validated: the mode (open only on loopback unless asked),
//! the key cache's TTL, the pepper, the bootstrap admin key and the default rate limit.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use fleet_domain::keys::{Pepper, PresentedKey};
use fleet_domain::project_update::MAX_RATE_LIMIT_PER_MINUTE;
use fleet_http::AuthMode;

use crate::config::{ConfigError, bad, in_range};
use crate::secret::Secret;
use crate::settings::{self, Settings};

/// The shortest pepper accepted: a short one is a password, not a secret key.
const MIN_PEPPER_CHARS: usize = 16;

/// How fleetd authenticates requests.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Whether a request without a key is served (as the admin of `default`).
    pub mode: AuthMode,
    /// How long a verified key is trusted without asking the store: the revocation delay.
    pub cache_ttl: Duration,
    /// Mixed into every stored key hash (empty when none is set).
    pub pepper: Pepper,
    /// A key text to install as an admin key of `default` at start-up.
    pub bootstrap_admin_key: Option<Secret>,
    /// Requests a minute per key (per client address without a key) where a project sets
    /// no limit; `None`: only projects with a limit of their own are limited.
    pub rate_limit: Option<NonZeroU32>,
}

impl AuthConfig {
    /// Whether the mode lets keyless requests in on an address other hosts can reach.
    pub fn open_to_the_network(&self, bind: SocketAddr) -> bool {
        self.mode == AuthMode::Open && !bind.ip().is_loopback()
    }
}

impl From<settings::AuthMode> for AuthMode {
    fn from(mode: settings::AuthMode) -> Self {
        match mode {
            settings::AuthMode::Keys => AuthMode::Keys,
            settings::AuthMode::Open => AuthMode::Open,
        }
    }
}

/// The authentication settings of `settings` for a service listening on `bind`.
pub fn auth_config(settings: &Settings, bind: SocketAddr) -> Result<AuthConfig, ConfigError> {
    let mode = settings.auth.map_or_else(
        || {
            if bind.ip().is_loopback() {
                AuthMode::Open
            } else {
                AuthMode::Keys
            }
        },
        Into::into,
    );
    let cache_ttl = Duration::from_millis(in_range(
        "auth_cache_ttl_ms",
        "FLEET_AUTH_CACHE_TTL_MS",
        settings.auth_cache_ttl_ms,
        5_000,
        0..=60_000,
    )?);
    let pepper = match settings.key_pepper.clone().and_then(Secret::non_empty) {
        None => Pepper::default(),
        Some(pepper) if pepper.expose().chars().count() < MIN_PEPPER_CHARS => {
            return Err(bad(
                "key_pepper",
                "FLEET_KEY_PEPPER",
                format!(
                    "must be at least {MIN_PEPPER_CHARS} characters (e.g. `openssl rand \
                     -base64 32`)"
                ),
            ));
        }
        Some(pepper) => Pepper::new(pepper.expose().as_bytes()),
    };
    let bootstrap_admin_key = settings
        .bootstrap_admin_key
        .clone()
        .and_then(Secret::non_empty);
    if let Some(key) = &bootstrap_admin_key
        && PresentedKey::parse(key.expose()).is_err()
    {
        return Err(bad(
            "bootstrap_admin_key",
            "FLEET_BOOTSTRAP_ADMIN_KEY",
            "not a fleet API key (fleet_<32 hex digits>_<43 base64url characters>); make \
             one with `fleetd keys generate`",
        ));
    }
    let rate_limit = settings
        .rate_limit_per_minute
        .map(|n| {
            in_range(
                "rate_limit_per_minute",
                "FLEET_RATE_LIMIT_PER_MINUTE",
                Some(n),
                n,
                1..=MAX_RATE_LIMIT_PER_MINUTE,
            )
        })
        .transpose()?
        .and_then(NonZeroU32::new);
    Ok(AuthConfig {
        mode,
        cache_ttl,
        pepper,
        bootstrap_admin_key,
        rate_limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(settings: Settings, bind: &str) -> Result<AuthConfig, ConfigError> {
        auth_config(&settings, bind.parse().expect("an address"))
    }

    #[test]
    fn open_is_the_default_only_on_loopback() {
        for (bind, mode) in [
            ("127.0.0.1:8080", AuthMode::Open),
            ("[::1]:8080", AuthMode::Open),
            ("0.0.0.0:8080", AuthMode::Keys),
            ("10.1.2.3:8080", AuthMode::Keys),
        ] {
            let auth = config(Settings::default(), bind).expect("valid");
            assert_eq!(auth.mode, mode, "{bind}");
            assert!(!auth.open_to_the_network(bind.parse().expect("addr")));
        }
        let asked = Settings {
            auth: Some(settings::AuthMode::Open),
            ..Default::default()
        };
        let open = config(asked, "0.0.0.0:8080").expect("valid");
        assert_eq!(open.mode, AuthMode::Open, "open when asked");
        assert!(open.open_to_the_network("0.0.0.0:8080".parse().expect("addr")));
        let keys = Settings {
            auth: Some(settings::AuthMode::Keys),
            ..Default::default()
        };
        assert_eq!(
            config(keys, "127.0.0.1:0").expect("valid").mode,
            AuthMode::Keys
        );
    }

    #[test]
    fn the_cache_ttl_defaults_to_five_seconds_and_is_bounded() {
        let auth = config(Settings::default(), "127.0.0.1:0").expect("valid");
        assert_eq!(auth.cache_ttl, Duration::from_secs(5));
        let none = Settings {
            auth_cache_ttl_ms: Some(0),
            ..Default::default()
        };
        assert_eq!(
            config(none, "127.0.0.1:0").expect("valid").cache_ttl,
            Duration::ZERO
        );
        let long = Settings {
            auth_cache_ttl_ms: Some(60_001),
            ..Default::default()
        };
        let err = config(long, "127.0.0.1:0").expect_err("too long");
        assert!(err.to_string().contains("FLEET_AUTH_CACHE_TTL_MS"), "{err}");
    }

    #[test]
    fn the_default_rate_limit_is_off_unless_set_and_bounded() {
        let off = config(Settings::default(), "127.0.0.1:0").expect("valid");
        assert_eq!(off.rate_limit, None);
        let set = Settings {
            rate_limit_per_minute: Some(600),
            ..Default::default()
        };
        assert_eq!(
            config(set, "127.0.0.1:0").expect("valid").rate_limit,
            NonZeroU32::new(600)
        );
        for bad in [0, 1_000_001] {
            let settings = Settings {
                rate_limit_per_minute: Some(bad),
                ..Default::default()
            };
            let err = config(settings, "127.0.0.1:0").expect_err("out of range");
            assert!(
                err.to_string().contains("FLEET_RATE_LIMIT_PER_MINUTE"),
                "{err}"
            );
        }
    }

    #[test]
    fn secrets_are_checked_without_being_shown() {
        let short = Settings {
            key_pepper: Some("tiny".parse().expect("text")),
            ..Default::default()
        };
        let err = config(short, "127.0.0.1:0").expect_err("too short");
        assert!(err.to_string().contains("FLEET_KEY_PEPPER"), "{err}");
        assert!(!err.to_string().contains("tiny"), "{err}");
        let bad_key = Settings {
            bootstrap_admin_key: Some("fleet_not-a-key".parse().expect("text")),
            ..Default::default()
        };
        let err = config(bad_key, "127.0.0.1:0").expect_err("not a key");
        assert!(
            err.to_string().contains("FLEET_BOOTSTRAP_ADMIN_KEY"),
            "{err}"
        );
        assert!(!err.to_string().contains("not-a-key"), "{err}");
        let empty = Settings {
            key_pepper: Some("".parse().expect("text")),
            bootstrap_admin_key: Some("".parse().expect("text")),
            ..Default::default()
        };
        let auth = config(empty, "127.0.0.1:0").expect("empty means none");
        assert!(auth.bootstrap_admin_key.is_none());
    }
}
