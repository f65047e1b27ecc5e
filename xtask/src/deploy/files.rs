//! Reading and parsing the deploy files; a file that is missing or does not parse stops the
//! check at once, naming the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_yaml::Value;

/// The Dockerfile.
pub const DOCKERFILE: &str = "deploy/Dockerfile";
/// The image's health check script.
pub const HEALTHCHECK: &str = "deploy/healthcheck.sh";
/// The Compose file.
pub const COMPOSE: &str = "deploy/docker-compose.yml";
/// The Kubernetes manifests' folder.
pub const K8S_DIR: &str = "deploy/k8s";
/// The Kustomization of that folder, which no vendored schema covers.
pub const KUSTOMIZATION: &str = "deploy/k8s/kustomization.yaml";
/// Prometheus' configuration.
pub const PROMETHEUS: &str = "deploy/prometheus/prometheus.yml";
/// The alert rules.
pub const ALERTS: &str = "deploy/prometheus/alerts.yml";
/// The alert rules' unit tests, for `promtool test rules`.
pub const ALERT_TESTS: &str = "deploy/prometheus/alerts_test.yml";
/// Grafana's provisioned data source.
pub const DATASOURCES: &str = "deploy/grafana/provisioning/datasources/prometheus.yml";
/// The dashboard.
pub const DASHBOARD: &str = "deploy/grafana/dashboards/fleet.json";
/// The runbook, whose configuration and metric references are checked too.
pub const RUNBOOK: &str = "docs/runbook.md";

/// One document of a Kubernetes manifest.
#[derive(Debug)]
pub struct Manifest {
    /// The file it is in, relative to the root.
    pub file: String,
    /// The document.
    pub doc: Value,
}

impl Manifest {
    /// Its `kind`.
    pub fn kind(&self) -> &str {
        str_at(&self.doc, &["kind"]).unwrap_or_default()
    }

    /// Its `metadata.name`.
    pub fn name(&self) -> &str {
        str_at(&self.doc, &["metadata", "name"]).unwrap_or_default()
    }
}

/// Every deploy file, parsed.
#[derive(Debug)]
pub struct DeployFiles {
    /// The workspace root (or the copy of its deploy files a test made).
    pub root: PathBuf,
    /// `deploy/Dockerfile`'s text.
    pub dockerfile: String,
    /// The Compose file, with YAML merge keys applied.
    pub compose: Value,
    /// The Kubernetes manifests' files (the Kustomization's excepted), relative to the root.
    pub k8s_files: Vec<String>,
    /// Their documents.
    pub manifests: Vec<Manifest>,
    /// `deploy/k8s/kustomization.yaml`.
    pub kustomization: Value,
    /// Prometheus' configuration.
    pub prometheus: Value,
    /// The alert rules.
    pub alerts: Value,
    /// Grafana's data sources.
    pub datasources: Value,
    /// The dashboard.
    pub dashboard: serde_json::Value,
    /// The runbook's text.
    pub runbook: String,
}

impl DeployFiles {
    /// Reads and parses them all.
    pub fn load(root: &Path) -> Result<DeployFiles> {
        let mut compose = yaml(root, COMPOSE)?;
        compose
            .apply_merge()
            .with_context(|| format!("{COMPOSE}: applying its merge keys"))?;
        let mut k8s_files = Vec::new();
        for entry in std::fs::read_dir(root.join(K8S_DIR)).context("reading deploy/k8s")? {
            let file = format!("{K8S_DIR}/{}", entry?.file_name().to_string_lossy());
            if file.ends_with(".yaml") && file != KUSTOMIZATION {
                k8s_files.push(file);
            }
        }
        k8s_files.sort();
        let mut manifests = Vec::new();
        for file in &k8s_files {
            let text = read(root, file)?;
            for document in serde_yaml::Deserializer::from_str(&text) {
                let doc = serde::Deserialize::deserialize(document)
                    .with_context(|| format!("{file} does not parse as YAML"))?;
                if doc != Value::Null {
                    let file = file.clone();
                    manifests.push(Manifest { file, doc });
                }
            }
        }
        Ok(DeployFiles {
            root: root.to_path_buf(),
            dockerfile: read(root, DOCKERFILE)?,
            compose,
            k8s_files,
            manifests,
            kustomization: yaml(root, KUSTOMIZATION)?,
            prometheus: yaml(root, PROMETHEUS)?,
            alerts: yaml(root, ALERTS)?,
            datasources: yaml(root, DATASOURCES)?,
            dashboard: serde_json::from_str(&read(root, DASHBOARD)?)
                .with_context(|| format!("{DASHBOARD} does not parse as JSON"))?,
            runbook: read(root, RUNBOOK)?,
        })
    }

    /// The manifests of `kind`.
    pub fn manifests_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Manifest> {
        self.manifests.iter().filter(move |m| m.kind() == kind)
    }

    /// The Compose services, by name.
    pub fn services(&self) -> impl Iterator<Item = (&str, &Value)> {
        get(&self.compose, &["services"])
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
            .filter_map(|(name, service)| Some((name.as_str()?, service)))
    }
}

fn read(root: &Path, file: &str) -> Result<String> {
    std::fs::read_to_string(root.join(file)).with_context(|| format!("reading {file}"))
}

fn yaml(root: &Path, file: &str) -> Result<Value> {
    serde_yaml::from_str(&read(root, file)?)
        .with_context(|| format!("{file} does not parse as YAML"))
}

/// The value at `path` (mapping keys) under `value`.
pub fn get<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(*key))
}

/// The string at `path` under `value`.
pub fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    get(value, path).and_then(Value::as_str)
}

/// The sequence at `path` under `value`, empty when there is none.
pub fn seq_at<'a>(value: &'a Value, path: &[&str]) -> &'a [Value] {
    get(value, path)
        .and_then(Value::as_sequence)
        .map_or(&[], Vec::as_slice)
}

/// A scalar as text (`8080` and `"8080"` alike).
pub fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A Compose service's `environment` mapping (the form this Compose file uses).
pub fn compose_env(service: &Value) -> BTreeMap<String, String> {
    service
        .get("environment")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter_map(|(key, value)| Some((key.as_str()?.to_owned(), scalar(value)?)))
        .collect()
}

/// The port of a `HOST:PORT` address.
pub fn port_of(address: &str) -> Option<u16> {
    address.rsplit_once(':').and_then(|(_, p)| p.parse().ok())
}

/// A copy of the deploy files (and the runbook) of the workspace in a temporary folder, each
/// `(file, from, to)` edit applied, for tests that feed the checks a broken file.
#[cfg(test)]
pub fn broken_copy(edits: &[(&str, &str, &str)]) -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from)
            .expect("read_dir")
            .map(Result::unwrap)
        {
            let target = to.join(entry.file_name());
            if entry.path().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).expect("copy");
            }
        }
    }
    let root = crate::workspace_root();
    let dir = tempfile::tempdir().expect("tempdir");
    copy(&root.join("deploy"), &dir.path().join("deploy"));
    std::fs::create_dir_all(dir.path().join("docs")).expect("mkdir docs");
    std::fs::copy(root.join(RUNBOOK), dir.path().join(RUNBOOK)).expect("copy the runbook");
    for (file, from, to) in edits {
        let path = dir.path().join(file);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains(from), "{file} does not contain {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
    }
    dir
}
