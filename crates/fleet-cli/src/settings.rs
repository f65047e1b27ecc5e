//! Where to call and as whom: each of the URL and the key from its flag, else its
//! environment variable (clap merges those two), else the profile, else the default.

use crate::cli::Global;
use crate::exit::Exit;
use crate::profiles::{self, ConfigFile, DEFAULT_PROFILE};

/// What `cargo run` serves: fleetd's default bind.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// The settings a call is made with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    pub api_key: Option<String>,
}

/// The target from the options and the config file.
pub fn resolve(global: &Global, config: &ConfigFile) -> Result<Target, Exit> {
    let profile = match &global.profile {
        Some(name) => Some(config.profiles.get(name).ok_or_else(|| {
            let known: Vec<&str> = config.profiles.keys().map(String::as_str).collect();
            Exit::usage(format!(
                "no profile named {name:?} (profiles: {}); create it with `fleet profile set {name} --url ...`",
                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
            ))
        })?),
        None => config.profiles.get(DEFAULT_PROFILE),
    };
    let url = global
        .url
        .clone()
        .or_else(|| profile.and_then(|p| p.url.clone()))
        .unwrap_or_else(|| DEFAULT_URL.to_owned());
    let api_key = global
        .api_key
        .clone()
        .or_else(|| profile.and_then(|p| p.api_key.clone()));
    Ok(Target { url, api_key })
}

/// The target, reading the config file the options name.
pub fn target(global: &Global) -> Result<Target, Exit> {
    let path = profiles::path(global.config.as_deref())?;
    resolve(global, &profiles::load(&path)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Output;
    use crate::profiles::Profile;

    fn global(url: Option<&str>, key: Option<&str>, profile: Option<&str>) -> Global {
        Global {
            output: Output::Table,
            url: url.map(str::to_owned),
            api_key: key.map(str::to_owned),
            profile: profile.map(str::to_owned),
            config: None,
        }
    }

    fn config() -> ConfigFile {
        let mut config = ConfigFile::default();
        for (name, url, key) in [
            ("default", "http://default:1", "fleet_d_s"),
            ("work", "http://work:2", "fleet_w_s"),
        ] {
            config.profiles.insert(
                name.to_owned(),
                Profile {
                    url: Some(url.to_owned()),
                    api_key: Some(key.to_owned()),
                },
            );
        }
        config
    }

    #[test]
    fn a_flag_or_env_value_wins_over_the_profile_which_wins_over_the_default() {
        let target = resolve(
            &global(Some("http://flag:3"), None, Some("work")),
            &config(),
        )
        .expect("target");
        assert_eq!(target.url, "http://flag:3");
        assert_eq!(target.api_key.as_deref(), Some("fleet_w_s"));

        let target = resolve(&global(None, None, None), &config()).expect("target");
        assert_eq!(target.url, "http://default:1", "the default profile");

        let target = resolve(&global(None, None, None), &ConfigFile::default()).expect("target");
        assert_eq!(target.url, DEFAULT_URL);
        assert_eq!(target.api_key, None);
    }

    #[test]
    fn an_unknown_profile_is_a_usage_error_naming_the_known_ones() {
        let error = resolve(&global(None, None, Some("home")), &config()).expect_err("unknown");
        assert_eq!(error.code(), Exit::USAGE);
        assert!(
            error.message().contains("default, work"),
            "{}",
            error.message()
        );
    }
}
