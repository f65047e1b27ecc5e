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
/// Prometheus' configuration.
pub const PROMETHEUS: &str = "deploy/prometheus/prometheus.yml";
/// The alert rules.
pub const ALERTS: &str = "deploy/prometheus/alerts.yml";
/// The alert rules' unit tests, for `promtool test rules`.
pub const ALERT_TESTS: &str = "deploy/prometheus/alerts_test.yml";
/// Grafana's provisioned data source.
pub const DATASOURCES: &str = "deploy/grafana/provisioning/datasources/prometheus.yml";
/// Grafana's dashboard provider.
pub const DASHBOARD_PROVIDER: &str = "deploy/grafana/provisioning/dashboards/fleet.yml";
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
    /// The workspace root.
    pub root: PathBuf,
    /// `deploy/Dockerfile`'s text.
    pub dockerfile: String,
    /// `.dockerignore`'s text.
    pub dockerignore: String,
    /// The Compose file, with YAML merge keys applied.
    pub compose: Value,
    /// The Kubernetes documents, `kustomization.yaml` excepted.
    pub manifests: Vec<Manifest>,
    /// `deploy/k8s/kustomization.yaml`.
    pub kustomization: Value,
    /// Prometheus' configuration.
    pub prometheus: Value,
    /// The alert rules.
    pub alerts: Value,
    /// Grafana's data sources.
    pub datasources: Value,
    /// Grafana's dashboard provider.
    pub dashboard_provider: Value,
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
        let mut manifests = Vec::new();
        let mut kustomization = Value::Null;
        for file in k8s_files(root)? {
            if file.ends_with("/kustomization.yaml") {
                kustomization = yaml(root, &file)?;
                continue;
            }
            let text = read(root, &file)?;
            for document in serde_yaml::Deserializer::from_str(&text) {
                let doc = serde::Deserialize::deserialize(document)
                    .with_context(|| format!("{file} does not parse as YAML"))?;
                if doc != Value::Null {
                    manifests.push(Manifest {
                        file: file.clone(),
                        doc,
                    });
                }
            }
        }
        let dashboard_text = read(root, DASHBOARD)?;
        Ok(DeployFiles {
            root: root.to_path_buf(),
            dockerfile: read(root, DOCKERFILE)?,
            dockerignore: read(root, ".dockerignore")?,
            compose,
            manifests,
            kustomization,
            prometheus: yaml(root, PROMETHEUS)?,
            alerts: yaml(root, ALERTS)?,
            datasources: yaml(root, DATASOURCES)?,
            dashboard_provider: yaml(root, DASHBOARD_PROVIDER)?,
            dashboard: serde_json::from_str(&dashboard_text)
                .with_context(|| format!("{DASHBOARD} does not parse as JSON"))?,
            runbook: read(root, RUNBOOK)?,
        })
    }

    /// The manifest of `kind` called `name`.
    pub fn manifest(&self, kind: &str, name: &str) -> Option<&Manifest> {
        self.manifests
            .iter()
            .find(|m| m.kind() == kind && m.name() == name)
    }

    /// The manifests of `kind`.
    pub fn manifests_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Manifest> {
        self.manifests.iter().filter(move |m| m.kind() == kind)
    }

    /// The Compose service `name`.
    pub fn service(&self, name: &str) -> Option<&Value> {
        get(&self.compose, &["services", name])
    }
}

/// The `.yaml`/`.yml` files of the Kubernetes folder, sorted, relative to the root.
pub fn k8s_files(root: &Path) -> Result<Vec<String>> {
    let dir = root.join(K8S_DIR);
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {K8S_DIR}"))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".yaml") || name.ends_with(".yml") {
            files.push(format!("{K8S_DIR}/{name}"));
        }
    }
    files.sort();
    Ok(files)
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

/// A Compose `environment` (a mapping, or a list of `KEY=VALUE`) as a map.
pub fn compose_env(service: &Value) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    match service.get("environment") {
        Some(Value::Mapping(map)) => {
            for (key, value) in map {
                if let Some(key) = key.as_str() {
                    env.insert(key.to_owned(), scalar(value).unwrap_or_default());
                }
            }
        }
        Some(Value::Sequence(items)) => {
            for item in items.iter().filter_map(Value::as_str) {
                let (key, value) = item.split_once('=').unwrap_or((item, ""));
                env.insert(key.to_owned(), value.to_owned());
            }
        }
        _ => {}
    }
    env
}

/// The port of a `HOST:PORT` address.
pub fn port_of(address: &str) -> Option<u16> {
    address.rsplit_once(':').and_then(|(_, p)| p.parse().ok())
}
