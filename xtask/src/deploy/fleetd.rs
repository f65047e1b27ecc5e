//! fleetd as the deploy files see it: the binary, the environment variables, values and
//! subcommands it takes (from its own `-h`), and the validation of every set of settings
//! the files give it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use super::Report;
use super::files::{DeployFiles, RUNBOOK};

/// Builds fleetd (debug) and returns the path of its binary.
pub fn build() -> Result<PathBuf> {
    eprintln!("xtask: building fleetd");
    let mut child = crate::cargo()
        .args([
            "build",
            "--package",
            "fleetd",
            "--bin",
            "fleetd",
            "--message-format=json-render-diagnostics",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .context("could not run cargo build")?;
    let mut binary = None;
    if let Some(stdout) = child.stdout.take() {
        for line in std::io::BufReader::new(stdout).lines() {
            let message: serde_json::Value = match serde_json::from_str(&line?) {
                Ok(message) => message,
                Err(_) => continue,
            };
            if message["reason"] == "compiler-artifact"
                && message["target"]["name"] == "fleetd"
                && let Some(path) = message["executable"].as_str()
            {
                binary = Some(PathBuf::from(path));
            }
        }
    }
    if !child.wait()?.success() {
        bail!("cargo build --package fleetd failed");
    }
    binary.context("cargo built fleetd but named no executable")
}

/// What fleetd accepts, from its help.
#[derive(Debug, Default)]
pub struct Facts {
    /// The environment variables it reads, with the values it accepts (empty: any).
    pub env: BTreeMap<String, Vec<String>>,
    /// Its subcommands.
    pub commands: BTreeSet<String>,
}

impl Facts {
    /// Runs `fleetd -h` and reads it.
    pub fn ask(binary: &Path) -> Result<Facts> {
        let output = Command::new(binary)
            .arg("-h")
            .env("COLUMNS", "400")
            .output()
            .with_context(|| format!("could not run {}", binary.display()))?;
        if !output.status.success() {
            bail!(
                "`fleetd -h` failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let facts = Facts::parse(&String::from_utf8_lossy(&output.stdout));
        if facts.env.is_empty() || facts.commands.is_empty() {
            bail!("`fleetd -h` names no environment variable or no subcommand");
        }
        Ok(facts)
    }

    /// Reads clap's short help: `[env: NAME=…]` and `[possible values: a, b]` of each
    /// option (which may go on over several lines), and the names under `Commands:`.
    pub fn parse(help: &str) -> Facts {
        let mut facts = Facts::default();
        let mut section = "";
        let mut options: Vec<String> = Vec::new();
        for line in help.lines() {
            let text = line.trim_start();
            if !line.starts_with(' ') {
                section = line;
            } else if section.starts_with("Commands:") {
                facts
                    .commands
                    .extend(text.split_whitespace().next().map(str::to_owned));
            } else if text.starts_with('-') {
                options.push(text.to_owned());
            } else if let Some(option) = options.last_mut() {
                option.push(' ');
                option.push_str(text);
            }
        }
        for option in options {
            let Some((_, rest)) = option.split_once("[env: ") else {
                continue;
            };
            let name = rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
            let values = option
                .split_once("[possible values: ")
                .and_then(|(_, rest)| rest.split_once(']'))
                .map(|(list, _)| list.split(',').map(|v| v.trim().to_owned()).collect());
            let name = name.into_iter().next().unwrap_or_default().to_owned();
            facts.env.insert(name, values.unwrap_or_default());
        }
        facts
    }

    /// Checks that every `FLEET_*` variable (and `DATABASE_URL`) in `env` is one fleetd
    /// reads, with a value it accepts.
    pub fn check_env(
        &self,
        origin: &str,
        env: &BTreeMap<String, Option<String>>,
        report: &mut Report,
    ) {
        for (key, value) in env {
            if !(key.starts_with("FLEET_") || key == "DATABASE_URL") {
                continue;
            }
            let Some(allowed) = self.env.get(key) else {
                report.fail(format!(
                    "{origin}: fleetd reads no environment variable {key} (it reads {})",
                    self.env.keys().cloned().collect::<Vec<_>>().join(", ")
                ));
                continue;
            };
            if let Some(value) = value {
                report.check(
                    !SECRETS.contains(&key.as_str()) || value.is_empty() || value.contains("${"),
                    || {
                        format!(
                            "{origin}: {key} is a secret; take it from a Secret or `${{{key}}}`"
                        )
                    },
                );
                report.check(
                    allowed.is_empty() || value.contains("${") || allowed.contains(value),
                    || {
                        format!(
                            "{origin}: {key}={value} is not one of {}",
                            allowed.join(", ")
                        )
                    },
                );
            }
        }
    }
}

/// Settings that are secrets: a deploy file takes them from a Secret or from the
/// environment of whoever deploys (`${VAR}`), never writes them.
const SECRETS: &[&str] = &["FLEET_KEY_PEPPER", "FLEET_BOOTSTRAP_ADMIN_KEY"];

/// A new key text from `fleetd keys generate`.
pub fn generate_key(binary: &Path) -> Result<String> {
    let output = fleetd_command(binary)
        .args(["keys", "generate"])
        .output()
        .context("could not run fleetd keys generate")?;
    let key = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() || !key.starts_with("fleet_") {
        bail!(
            "`fleetd keys generate` printed no key: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(key)
}

/// A set of settings a deploy file gives fleetd.
#[derive(Debug)]
pub struct Settings {
    /// Where: file and service or container.
    pub origin: String,
    /// The environment; `None` for values from a Secret.
    pub env: BTreeMap<String, Option<String>>,
    /// The text of the catalog `FLEET_CATALOG` names, when a ConfigMap provides it.
    pub catalog: Option<String>,
}

/// Every set of settings the deploy files give fleetd.
pub fn settings(deploy: &DeployFiles) -> Vec<Settings> {
    let mut all = vec![super::docker::settings(&deploy.dockerfile)];
    all.extend(super::compose::settings(deploy));
    all.extend(super::k8s::settings(deploy));
    all
}

/// Checks the variable names of every set of settings against fleetd's, then has fleetd
/// validate each set (`fleetd migrate` on a scratch SQLite database: it loads and checks
/// the whole configuration first). A value Compose takes from the environment of whoever
/// deploys (`${VAR}`) is unknown here, and left out.
pub fn check_settings(
    binary: &Path,
    deploy: &DeployFiles,
    facts: &Facts,
    scratch: &Path,
    report: &mut Report,
) -> Result<()> {
    for (i, set) in settings(deploy).iter().enumerate() {
        facts.check_env(&set.origin, &set.env, report);
        let mut command = fleetd_command(binary);
        for (key, value) in &set.env {
            if let Some(value) = value.as_ref().filter(|v| !v.contains("${")) {
                command.env(key, value);
            }
        }
        command.env(
            "DATABASE_URL",
            format!(
                "sqlite://{}",
                scratch.join(format!("settings-{i}.db")).display()
            ),
        );
        if let Some(catalog) = &set.catalog {
            let path = scratch.join(format!("catalog-{i}.toml"));
            std::fs::write(&path, catalog)?;
            command.env("FLEET_CATALOG", &path);
        }
        let output = command
            .arg("migrate")
            .output()
            .context("could not run fleetd migrate")?;
        report.check(output.status.success(), || {
            format!(
                "{}: fleetd refuses these settings: {}",
                set.origin,
                String::from_utf8_lossy(&output.stderr).trim()
            )
        });
    }
    Ok(())
}

/// The runbook's configuration reference names every variable fleetd reads, and no
/// `FLEET_*` variable it does not.
pub fn check_runbook(runbook: &str, facts: &Facts, report: &mut Report) {
    for name in facts.env.keys() {
        report.check(runbook.contains(&format!("`{name}`")), || {
            format!("{RUNBOOK}: the configuration reference does not list {name}")
        });
    }
    let words: BTreeSet<&str> = runbook
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    for word in words {
        if word.starts_with("FLEET_") && word.len() > "FLEET_".len() {
            report.check(facts.env.contains_key(word), || {
                format!("{RUNBOOK}: names {word}, which fleetd does not read")
            });
        }
    }
}

/// `binary` with none of the caller's fleetd settings in its environment.
pub fn fleetd_command(binary: &Path) -> Command {
    let mut command = Command::new(binary);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("FLEET_") || key == "DATABASE_URL" {
            command.env_remove(key.as_ref());
        }
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELP: &str = "\
A simulated cloud control plane

Usage: fleetd [OPTIONS] [COMMAND]

Commands:
  serve    Serve the API (the default)
  migrate  Apply the migrations the database of DATABASE_URL lacks, then exit
  help     Print this message or the help of the given subcommand(s)

Options:
      --config <PATH>
          A TOML file of settings [env: FLEET_CONFIG=]
      --bind <ADDR>        Address to listen on [default: 127.0.0.1:8080]. [env: FLEET_BIND=]
      --database-url <URL>  Store [env: DATABASE_URL]
      --log-format <LOG_FORMAT>  Log format [default: json]. [env: FLEET_LOG_FORMAT=]
                                 [possible values: json, human]
  -h, --help                     Print help
";

    #[test]
    fn the_help_gives_variables_values_and_subcommands() {
        let facts = Facts::parse(HELP);
        assert_eq!(
            facts.env.keys().map(String::as_str).collect::<Vec<_>>(),
            [
                "DATABASE_URL",
                "FLEET_BIND",
                "FLEET_CONFIG",
                "FLEET_LOG_FORMAT"
            ]
        );
        assert_eq!(facts.env["FLEET_LOG_FORMAT"], ["json", "human"]);
        assert!(facts.env["FLEET_BIND"].is_empty());
        assert_eq!(
            facts
                .commands
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            ["help", "migrate", "serve"]
        );
    }

    #[test]
    fn unknown_variables_and_values_are_problems() {
        let facts = Facts::parse(HELP);
        let mut report = Report::default();
        let env = BTreeMap::from([
            ("FLEET_BIDN".to_owned(), Some("0.0.0.0:8080".to_owned())),
            ("FLEET_LOG_FORMAT".to_owned(), Some("xml".to_owned())),
            ("FLEET_BIND".to_owned(), Some("0.0.0.0:8080".to_owned())),
            ("DATABASE_URL".to_owned(), None),
            ("RUST_LOG".to_owned(), Some("debug".to_owned())),
        ]);
        facts.check_env("test", &env, &mut report);
        assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
        assert!(report.problems[0].contains("FLEET_BIDN"));
        assert!(report.problems[1].contains("xml"));
    }

    #[test]
    fn a_secret_written_into_a_deploy_file_is_a_problem() {
        let mut facts = Facts::parse(HELP);
        facts.env.insert("FLEET_KEY_PEPPER".to_owned(), Vec::new());
        let mut report = Report::default();
        let env = BTreeMap::from([(
            "FLEET_KEY_PEPPER".to_owned(),
            Some("hunter2hunter2hunter2".to_owned()),
        )]);
        facts.check_env("test", &env, &mut report);
        assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
        assert!(
            report.problems[0].contains("secret"),
            "{:?}",
            report.problems
        );
        for fine in [
            None,
            Some(String::new()),
            Some("${FLEET_KEY_PEPPER:-}".to_owned()),
        ] {
            let mut report = Report::default();
            let env = BTreeMap::from([("FLEET_KEY_PEPPER".to_owned(), fine)]);
            facts.check_env("test", &env, &mut report);
            assert!(report.problems.is_empty(), "{:?}", report.problems);
        }
    }
}
