//! `deploy/k8s/`, for what concerns fleet (the Kubernetes schemas check the structure):
//! the settings and mounted catalog of every fleetd container, its subcommand, its probes
//! and the Service on its port, selectors that reach its pods, a grace period longer than
//! its shutdown, and a Kustomization listing every manifest.

use std::collections::BTreeSet;

use serde_yaml::Value;

use super::Report;
use super::files::{DeployFiles, K8S_DIR, KUSTOMIZATION, get, port_of, scalar, seq_at, str_at};
use super::fleetd::{Facts, Settings};

/// A fleetd container of a Deployment or Job, with the pod spec around it.
struct Workload<'a> {
    kind: &'a str,
    origin: String,
    pod: &'a Value,
    container: &'a Value,
}

impl Workload<'_> {
    /// The container's `env` entry `name`.
    fn entry(&self, name: &str) -> Option<&Value> {
        seq_at(self.container, &["env"])
            .iter()
            .find(|e| str_at(e, &["name"]) == Some(name))
    }

    /// The literal value of the environment variable `name`.
    fn env(&self, name: &str) -> Option<String> {
        self.entry(name)?.get("value").and_then(scalar)
    }

    /// The port a probe or Service `target` (a number or a port name) means.
    fn port(&self, target: &Value) -> Option<u16> {
        let number = match target {
            Value::String(name) => seq_at(self.container, &["ports"])
                .iter()
                .find(|p| str_at(p, &["name"]) == Some(name))
                .and_then(|p| p.get("containerPort")?.as_u64()),
            other => other.as_u64(),
        };
        number.and_then(|n| u16::try_from(n).ok())
    }
}

fn workloads(deploy: &DeployFiles) -> Vec<Workload<'_>> {
    let mut out = Vec::new();
    for m in deploy
        .manifests
        .iter()
        .filter(|m| matches!(m.kind(), "Deployment" | "Job"))
    {
        let Some(pod) = get(&m.doc, &["spec", "template", "spec"]) else {
            continue;
        };
        for container in seq_at(pod, &["containers"]) {
            if str_at(container, &["image"]).is_some_and(|i| i.starts_with("fleet/fleetd")) {
                let container_name = str_at(container, &["name"]).unwrap_or("?");
                let origin = format!("{} {} {}/{container_name}", m.file, m.kind(), m.name());
                out.push(Workload {
                    kind: m.kind(),
                    origin,
                    pod,
                    container,
                });
            }
        }
    }
    out
}

/// The text of the ConfigMap key mounted at `path` in the workload's container, if one is.
fn mounted_file(deploy: &DeployFiles, w: &Workload<'_>, path: &str) -> Option<String> {
    seq_at(w.container, &["volumeMounts"])
        .iter()
        .find_map(|mount| {
            let key = path
                .strip_prefix(str_at(mount, &["mountPath"])?)?
                .strip_prefix('/')?;
            let volume = seq_at(w.pod, &["volumes"])
                .iter()
                .find(|v| str_at(v, &["name"]) == str_at(mount, &["name"]))?;
            let name = str_at(volume, &["configMap", "name"])?;
            let map = deploy
                .manifests_of("ConfigMap")
                .find(|m| m.name() == name)?;
            str_at(&map.doc, &["data", key]).map(str::to_owned)
        })
}

/// The settings the Deployment and the Job give fleetd (`None` for values from a Secret),
/// with the catalog `FLEET_CATALOG` names when a ConfigMap mounts it.
pub fn settings(deploy: &DeployFiles) -> Vec<Settings> {
    workloads(deploy)
        .iter()
        .map(|w| Settings {
            origin: w.origin.clone(),
            env: seq_at(w.container, &["env"])
                .iter()
                .filter_map(|e| {
                    Some((
                        str_at(e, &["name"])?.to_owned(),
                        e.get("value").and_then(scalar),
                    ))
                })
                .collect(),
            catalog: w
                .env("FLEET_CATALOG")
                .and_then(|path| mounted_file(deploy, w, &path)),
        })
        .collect()
}

/// The HTTP paths the probes ask.
pub fn probe_paths(deploy: &DeployFiles) -> BTreeSet<String> {
    workloads(deploy)
        .iter()
        .flat_map(|w| PROBES.map(|probe| str_at(w.container, &[probe, "httpGet", "path"])))
        .flatten()
        .map(str::to_owned)
        .collect()
}

const PROBES: [&str; 3] = ["startupProbe", "readinessProbe", "livenessProbe"];

/// Checks the manifests.
pub fn check(deploy: &DeployFiles, facts: &Facts, report: &mut Report) {
    let listed: BTreeSet<String> = seq_at(&deploy.kustomization, &["resources"])
        .iter()
        .filter_map(|r| Some(format!("{K8S_DIR}/{}", r.as_str()?)))
        .collect();
    let present: BTreeSet<String> = deploy.k8s_files.iter().cloned().collect();
    report.check(listed == present, || {
        format!("{KUSTOMIZATION} lists {listed:?}, the folder holds {present:?}")
    });
    let workloads = workloads(deploy);
    for kind in ["Deployment", "Job"] {
        report.check(workloads.iter().any(|w| w.kind == kind), || {
            format!("{K8S_DIR}: no {kind} runs fleet/fleetd")
        });
    }
    for w in &workloads {
        let command = seq_at(w.container, &["args"])
            .first()
            .and_then(Value::as_str);
        let wanted = if w.kind == "Job" { "migrate" } else { "serve" };
        report.check(
            command == Some(wanted) && facts.commands.contains(wanted),
            || format!("{}: args {command:?} are not `fleetd {wanted}`", w.origin),
        );
        let secret = w
            .entry("DATABASE_URL")
            .and_then(|e| get(e, &["valueFrom", "secretKeyRef", "key"]));
        report.check(secret.is_some(), || {
            format!("{}: DATABASE_URL does not come from a Secret", w.origin)
        });
        if let Some(path) = w.env("FLEET_CATALOG") {
            report.check(mounted_file(deploy, w, &path).is_some(), || {
                format!(
                    "{}: FLEET_CATALOG={path} is not a file mounted from a ConfigMap",
                    w.origin
                )
            });
        }
        if w.kind == "Deployment" {
            check_serving(deploy, w, report);
        }
    }
}

/// The probes ask fleetd's health paths on its port, the Service and the disruption budget
/// select its pods and send to that port, and the pod outlives fleetd's graceful shutdown.
fn check_serving(deploy: &DeployFiles, w: &Workload<'_>, report: &mut Report) {
    let origin = &w.origin;
    let bind = w.env("FLEET_BIND").unwrap_or_default();
    report.check(bind.starts_with("0.0.0.0:"), || {
        format!("{origin}: FLEET_BIND must be 0.0.0.0:PORT, got '{bind}'")
    });
    let port = port_of(&bind);
    for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
        report.check(
            str_at(w.container, &[probe, "httpGet", "path"]) == Some(path),
            || format!("{origin}: {probe} does not ask {path}"),
        );
    }
    for probe in PROBES {
        if let Some(target) = get(w.container, &[probe, "httpGet", "port"]) {
            report.check(port.is_some() && w.port(target) == port, || {
                format!("{origin}: {probe}'s port is not FLEET_BIND's ({bind})")
            });
        }
    }
    let deployment = deploy.manifests_of("Deployment").next().map(|m| &m.doc);
    let labels = deployment.and_then(|d| get(d, &["spec", "template", "metadata", "labels"]));
    let selects = |selector: Option<&Value>| {
        selector.and_then(Value::as_mapping).is_some_and(|s| {
            !s.is_empty()
                && s.iter()
                    .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
        })
    };
    for (kind, path) in [
        ("Deployment", &["spec", "selector", "matchLabels"][..]),
        ("Service", &["spec", "selector"][..]),
        (
            "PodDisruptionBudget",
            &["spec", "selector", "matchLabels"][..],
        ),
    ] {
        for m in deploy.manifests_of(kind) {
            report.check(selects(get(&m.doc, path)), || {
                format!(
                    "{} {kind} {}: its selector does not match fleetd's pods",
                    m.file,
                    m.name()
                )
            });
        }
    }
    for service in deploy.manifests_of("Service") {
        for p in seq_at(&service.doc, &["spec", "ports"]) {
            let target = p
                .get("targetPort")
                .or_else(|| p.get("port"))
                .unwrap_or(&Value::Null);
            report.check(port.is_some() && w.port(target) == port, || {
                format!(
                    "{} Service {}: targetPort is not fleetd's port ({bind})",
                    service.file,
                    service.name()
                )
            });
        }
    }
    let grace = get(w.pod, &["terminationGracePeriodSeconds"])
        .and_then(Value::as_u64)
        .unwrap_or(30);
    let shutdown = w
        .env("FLEET_SHUTDOWN_TIMEOUT_S")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(30);
    let pre_stop: u64 = seq_at(w.container, &["lifecycle", "preStop", "exec", "command"])
        .iter()
        .filter_map(|word| scalar(word)?.parse::<u64>().ok())
        .sum();
    report.check(grace > shutdown + pre_stop, || {
        format!(
            "{origin}: terminationGracePeriodSeconds ({grace}) must exceed the preStop sleep \
             ({pre_stop}) plus FLEET_SHUTDOWN_TIMEOUT_S ({shutdown})"
        )
    });
}
