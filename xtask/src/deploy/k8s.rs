//! `deploy/k8s/`: the Deployment (two replicas, probes, resources, a grace period longer
//! than fleetd's shutdown), the Service, the catalog ConfigMap, the Secret reference for
//! `DATABASE_URL`, the migration Job and the PodDisruptionBudget; the references between
//! them, and `kubectl kustomize` when kubectl is installed.

use std::collections::BTreeSet;
use std::process::Command;

use serde_yaml::Value;

use super::Report;
use super::files::{DeployFiles, K8S_DIR, get, k8s_files, port_of, scalar, seq_at, str_at};
use super::fleetd::{Facts, Settings};

/// The fleetd image name (without tag) every workload must run.
const IMAGE: &str = "fleet/fleetd";

/// A container of a workload, with the pod spec around it.
struct Workload<'a> {
    origin: String,
    pod: &'a Value,
    container: &'a Value,
}

fn workloads(deploy: &DeployFiles) -> Vec<Workload<'_>> {
    let mut out = Vec::new();
    for manifest in deploy
        .manifests
        .iter()
        .filter(|m| matches!(m.kind(), "Deployment" | "Job"))
    {
        let Some(pod) = get(&manifest.doc, &["spec", "template", "spec"]) else {
            continue;
        };
        for container in seq_at(pod, &["containers"]) {
            if str_at(container, &["image"]).is_some_and(|i| i.starts_with(IMAGE)) {
                out.push(Workload {
                    origin: format!(
                        "{} {} {}/{}",
                        manifest.file,
                        manifest.kind(),
                        manifest.name(),
                        str_at(container, &["name"]).unwrap_or("?")
                    ),
                    pod,
                    container,
                });
            }
        }
    }
    out
}

fn env_value<'a>(container: &'a Value, name: &str) -> Option<&'a Value> {
    seq_at(container, &["env"])
        .iter()
        .find(|e| str_at(e, &["name"]) == Some(name))
}

/// The text of the ConfigMap key mounted at `path` in `container`, if one is.
fn mounted_file(
    deploy: &DeployFiles,
    pod: &Value,
    container: &Value,
    path: &str,
) -> Option<String> {
    seq_at(container, &["volumeMounts"])
        .iter()
        .find_map(|mount| {
            let mount_path = str_at(mount, &["mountPath"])?;
            let relative = match str_at(mount, &["subPath"]) {
                Some(sub) if mount_path == path => sub,
                Some(_) => return None,
                None => path.strip_prefix(mount_path)?.strip_prefix('/')?,
            };
            let volume = seq_at(pod, &["volumes"])
                .iter()
                .find(|v| str_at(v, &["name"]) == str_at(mount, &["name"]))?;
            let config_map =
                deploy.manifest("ConfigMap", str_at(volume, &["configMap", "name"])?)?;
            let key = seq_at(volume, &["configMap", "items"])
                .iter()
                .find(|i| str_at(i, &["path"]) == Some(relative))
                .and_then(|i| str_at(i, &["key"]))
                .unwrap_or(relative);
            str_at(&config_map.doc, &["data", key]).map(str::to_owned)
        })
}

/// The settings the Deployment and the Job give fleetd, with the mounted catalog.
pub fn settings(deploy: &DeployFiles) -> Vec<Settings> {
    workloads(deploy)
        .into_iter()
        .map(|w| {
            let env = seq_at(w.container, &["env"])
                .iter()
                .filter_map(|e| {
                    Some((
                        str_at(e, &["name"])?.to_owned(),
                        e.get("value").and_then(scalar),
                    ))
                })
                .collect();
            let catalog = env_value(w.container, "FLEET_CATALOG")
                .and_then(|e| str_at(e, &["value"]))
                .and_then(|path| mounted_file(deploy, w.pod, w.container, path));
            Settings {
                origin: w.origin,
                env,
                catalog,
            }
        })
        .collect()
}

/// The HTTP paths the probes ask.
pub fn probe_paths(deploy: &DeployFiles) -> Vec<String> {
    let mut paths = BTreeSet::new();
    for w in workloads(deploy) {
        for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
            if let Some(path) = str_at(w.container, &[probe, "httpGet", "path"]) {
                paths.insert(path.to_owned());
            }
        }
    }
    paths.into_iter().collect()
}

/// Checks the manifests.
pub fn check(deploy: &DeployFiles, facts: &Facts, report: &mut Report) {
    check_kustomization(deploy, report);
    let Some(deployment) = deploy.manifests_of("Deployment").next() else {
        report.fail(format!("{K8S_DIR}: no Deployment"));
        return;
    };
    let d = &deployment.doc;
    let origin = format!("{} Deployment {}", deployment.file, deployment.name());
    report.check(
        get(d, &["spec", "replicas"]).and_then(Value::as_u64) == Some(2),
        || format!("{origin}: replicas is not 2"),
    );
    let pod_labels = get(d, &["spec", "template", "metadata", "labels"]);
    let selects = |selector: Option<&Value>| {
        selector.and_then(Value::as_mapping).is_some_and(|s| {
            !s.is_empty()
                && s.iter()
                    .all(|(k, v)| pod_labels.and_then(|l| l.get(k)) == Some(v))
        })
    };
    report.check(
        selects(get(d, &["spec", "selector", "matchLabels"])),
        || format!("{origin}: its selector does not match its pod labels"),
    );
    for service in deploy.manifests_of("Service") {
        report.check(selects(get(&service.doc, &["spec", "selector"])), || {
            format!(
                "{} Service {}: its selector matches no fleetd pod",
                service.file,
                service.name()
            )
        });
    }
    for pdb in deploy.manifests_of("PodDisruptionBudget") {
        report.check(
            selects(get(&pdb.doc, &["spec", "selector", "matchLabels"])),
            || {
                format!(
                    "{} PodDisruptionBudget {}: its selector matches no fleetd pod",
                    pdb.file,
                    pdb.name()
                )
            },
        );
    }
    let workloads = workloads(deploy);
    report.check(workloads.iter().any(|w| w.origin.contains(" Job ")), || {
        format!("{K8S_DIR}: no migration Job running {IMAGE}")
    });
    for w in &workloads {
        check_workload(deploy, w, facts, report);
    }
    if let Some(w) = workloads.iter().find(|w| w.origin.contains(" Deployment ")) {
        check_serving(deploy, d, w, report);
    }
}

fn check_workload(deploy: &DeployFiles, w: &Workload<'_>, facts: &Facts, report: &mut Report) {
    let origin = &w.origin;
    let command = seq_at(w.container, &["args"])
        .first()
        .and_then(Value::as_str);
    report.check(command.is_some_and(|c| facts.commands.contains(c)), || {
        format!("{origin}: args {command:?} do not start with a fleetd subcommand")
    });
    if origin.contains(" Job ") {
        report.check(command == Some("migrate"), || {
            format!("{origin}: does not run `fleetd migrate`")
        });
        report.check(
            matches!(
                str_at(w.pod, &["restartPolicy"]),
                Some("OnFailure" | "Never")
            ),
            || format!("{origin}: restartPolicy must be OnFailure or Never"),
        );
    }
    let secret =
        env_value(w.container, "DATABASE_URL").and_then(|e| get(e, &["valueFrom", "secretKeyRef"]));
    report.check(
        secret.is_some_and(|s| str_at(s, &["name"]).is_some() && str_at(s, &["key"]).is_some()),
        || format!("{origin}: DATABASE_URL does not come from a Secret (secretKeyRef)"),
    );
    report.check(
        get(w.pod, &["securityContext", "runAsNonRoot"]).and_then(Value::as_bool) == Some(true),
        || format!("{origin}: the pod does not set runAsNonRoot"),
    );
    for kind in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            report.check(
                get(w.container, &["resources", kind, resource]).is_some(),
                || format!("{origin}: no resources.{kind}.{resource}"),
            );
        }
    }
    if let Some(path) = env_value(w.container, "FLEET_CATALOG").and_then(|e| str_at(e, &["value"]))
    {
        report.check(
            mounted_file(deploy, w.pod, w.container, path).is_some(),
            || format!("{origin}: FLEET_CATALOG={path} is not a file mounted from a ConfigMap"),
        );
    }
}

fn check_serving(deploy: &DeployFiles, deployment: &Value, w: &Workload<'_>, report: &mut Report) {
    let origin = &w.origin;
    let bind = env_value(w.container, "FLEET_BIND")
        .and_then(|e| str_at(e, &["value"]))
        .unwrap_or_default();
    report.check(
        bind.starts_with("0.0.0.0:") || bind.starts_with("[::]:"),
        || format!("{origin}: FLEET_BIND must be 0.0.0.0:PORT, got '{bind}'"),
    );
    let port = port_of(bind);
    let resolve = |target: &Value| -> Option<u16> {
        match target {
            Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Value::String(name) => seq_at(w.container, &["ports"])
                .iter()
                .find(|p| str_at(p, &["name"]) == Some(name))
                .and_then(|p| p.get("containerPort")?.as_u64())
                .and_then(|n| u16::try_from(n).ok()),
            _ => None,
        }
    };
    for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
        report.check(
            str_at(w.container, &[probe, "httpGet", "path"]) == Some(path),
            || format!("{origin}: {probe} does not ask {path}"),
        );
    }
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
        if let Some(target) = get(w.container, &[probe, "httpGet", "port"]) {
            report.check(port.is_some() && resolve(target) == port, || {
                format!(
                    "{origin}: {probe} port {} is not FLEET_BIND's port ({bind})",
                    scalar(target).unwrap_or_default()
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
            report.check(port.is_some() && resolve(target) == port, || {
                format!(
                    "{} Service {}: targetPort {} is not fleetd's port ({bind})",
                    service.file,
                    service.name(),
                    scalar(target).unwrap_or_default()
                )
            });
        }
    }
    let grace = get(
        deployment,
        &["spec", "template", "spec", "terminationGracePeriodSeconds"],
    )
    .and_then(Value::as_u64)
    .unwrap_or(30);
    let shutdown = env_value(w.container, "FLEET_SHUTDOWN_TIMEOUT_S")
        .and_then(|e| e.get("value").and_then(scalar))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(30);
    let pre_stop = seq_at(w.container, &["lifecycle", "preStop", "exec", "command"])
        .iter()
        .filter_map(scalar)
        .filter_map(|word| word.parse::<u64>().ok())
        .sum::<u64>();
    report.check(grace > shutdown + pre_stop, || {
        format!(
            "{origin}: terminationGracePeriodSeconds ({grace}) must exceed the preStop sleep \
             ({pre_stop}) plus FLEET_SHUTDOWN_TIMEOUT_S ({shutdown})"
        )
    });
}

fn check_kustomization(deploy: &DeployFiles, report: &mut Report) {
    let listed: BTreeSet<String> = seq_at(&deploy.kustomization, &["resources"])
        .iter()
        .filter_map(Value::as_str)
        .map(|r| format!("{K8S_DIR}/{r}"))
        .collect();
    let present: BTreeSet<String> = k8s_files(&deploy.root)
        .unwrap_or_default()
        .into_iter()
        .filter(|f| !f.ends_with("/kustomization.yaml"))
        .collect();
    report.check(listed == present, || {
        format!("{K8S_DIR}/kustomization.yaml lists {listed:?}, the folder holds {present:?}")
    });
    let Ok(output) = Command::new("kubectl")
        .args(["kustomize", K8S_DIR])
        .current_dir(&deploy.root)
        .output()
    else {
        eprintln!("deploy-check: kubectl not found, skipping `kubectl kustomize`");
        return;
    };
    report.check(output.status.success(), || {
        format!(
            "kubectl kustomize {K8S_DIR} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )
    });
}
