//! The config file: named profiles of a URL and an API key, in TOML, readable by its owner
//! only (mode 0600), since it holds keys.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::exit::Exit;

/// The profile used when none is asked for.
pub const DEFAULT_PROFILE: &str = "default";

/// The config file's contents.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// Where and as whom to call fleet.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The service's base URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The API key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

/// `config.toml` in the user's config directory for fleet (`$XDG_CONFIG_HOME/fleet` or
/// `~/.config/fleet` on Linux), unless a path is given.
pub fn path(given: Option<&Path>) -> Result<PathBuf, Exit> {
    match given {
        Some(path) => Ok(path.to_owned()),
        None => directories::ProjectDirs::from("", "", "fleet")
            .map(|dirs| dirs.config_dir().join("config.toml"))
            .ok_or_else(|| {
                Exit::usage("no home directory to keep the config file in: give --config")
            }),
    }
}

/// The config file at `path`; empty when there is none yet.
pub fn load(path: &Path) -> Result<ConfigFile, Exit> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ConfigFile::default()),
        Err(e) => return Err(Exit::usage(format!("cannot read {}: {e}", path.display()))),
    };
    toml::from_str(&text).map_err(|e| Exit::usage(format!("{} is not valid: {e}", path.display())))
}

/// Writes the config file readable and writable by its owner only: through a new file of
/// mode 0600 renamed over the old one, so the keys are never readable by others, not even
/// while a file written before with a wider mode is replaced.
pub fn save(path: &Path, config: &ConfigFile) -> Result<(), Exit> {
    let failed = |e: std::io::Error| Exit::usage(format!("cannot write {}: {e}", path.display()));
    let text = toml::to_string_pretty(config)
        .map_err(|e| Exit::usage(format!("cannot write the profiles: {e}")))?;
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(failed)?;
    }
    let staging = path.with_extension("toml.new");
    let _ = std::fs::remove_file(&staging);
    let mut file = private_file(&staging).map_err(failed)?;
    file.write_all(text.as_bytes()).map_err(failed)?;
    file.sync_all().map_err(failed)?;
    std::fs::rename(&staging, path).map_err(failed)
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// A key as `profile list` shows it: its public id part, never its secret.
pub fn masked(key: &str) -> String {
    match key.rsplit_once('_') {
        Some((public, _secret)) => format!("{public}_…"),
        None => "…".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_file_reads_back_and_is_private() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("nested").join("config.toml");
        let mut config = ConfigFile::default();
        config.profiles.insert(
            "work".to_owned(),
            Profile {
                url: Some("http://fleet.example:8080".to_owned()),
                api_key: Some("fleet_abc_secret".to_owned()),
            },
        );
        save(&path, &config).expect("save");
        assert_eq!(load(&path).expect("load"), config);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_missing_file_is_no_profiles_and_a_broken_one_is_a_usage_error() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("config.toml");
        assert_eq!(load(&path).expect("load"), ConfigFile::default());
        std::fs::write(&path, "[profiles.work]\nurl = 3\n").expect("write");
        let error = load(&path).expect_err("broken");
        assert_eq!(error.code(), Exit::USAGE);
    }

    #[test]
    fn a_masked_key_keeps_its_id_and_hides_its_secret() {
        assert_eq!(masked("fleet_0123abcd_s3cr3t"), "fleet_0123abcd_…");
        assert_eq!(masked("opaque"), "…");
    }
}
