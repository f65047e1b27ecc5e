//! Prometheus' scrape configuration and Grafana's provisioning and dashboard: what they point
//! at exists (services, ports, mounted files), and the dashboard shows what it must.

use serde_json::Value as Json;
use serde_yaml::Value;

use super::Report;
use super::compose::{container_ports, host_path, same_file};
use super::files::{
    ALERTS, COMPOSE, DASHBOARD, DASHBOARD_PROVIDER, DATASOURCES, DeployFiles, PROMETHEUS,
    compose_env, get, port_of, seq_at, str_at,
};

/// Metrics the dashboard must chart: servers by state, provisioning rate and latency, HTTP
/// errors, billing accrued, the cost rate by region and type, reaped servers, free
/// addresses per pool.
const DASHBOARD_MUST_USE: &[&str] = &[
    "fleet_servers",
    "fleet_provision_duration_seconds_count",
    "fleet_provision_duration_seconds_bucket",
    "fleet_http_requests_total",
    "fleet_billed_micros_total",
    "fleet_billing_accruals_total",
    "fleet_cost_rate_per_hour",
    "fleet_servers_reaped_total",
    "fleet_pool_free_addresses",
];

/// The path Prometheus scrapes fleetd on.
pub fn metrics_path(deploy: &DeployFiles) -> String {
    fleetd_job(deploy)
        .and_then(|job| str_at(job, &["metrics_path"]))
        .unwrap_or("/metrics")
        .to_owned()
}

fn fleetd_job(deploy: &DeployFiles) -> Option<&Value> {
    seq_at(&deploy.prometheus, &["scrape_configs"])
        .iter()
        .find(|job| str_at(job, &["job_name"]) == Some("fleetd"))
}

/// Every PromQL expression of the dashboard and the alert rules, with where it is.
pub fn expressions(deploy: &DeployFiles) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = panels(&deploy.dashboard)
        .into_iter()
        .flat_map(|panel| {
            let title = panel["title"].as_str().unwrap_or("?").to_owned();
            panel["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(move |t| {
                    Some((
                        format!("{DASHBOARD} panel '{title}'"),
                        t["expr"].as_str()?.to_owned(),
                    ))
                })
        })
        .collect();
    for group in seq_at(&deploy.alerts, &["groups"]) {
        for rule in seq_at(group, &["rules"]) {
            let name = str_at(rule, &["alert"])
                .or(str_at(rule, &["record"]))
                .unwrap_or("?");
            if let Some(expr) = str_at(rule, &["expr"]) {
                out.push((format!("{ALERTS} rule {name}"), expr.to_owned()));
            }
        }
    }
    out
}

/// The dashboard's panels, those inside rows included, rows excluded.
fn panels(dashboard: &Json) -> Vec<&Json> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().into_iter().flatten() {
        if panel["type"] == "row" {
            out.extend(panel["panels"].as_array().into_iter().flatten());
        } else {
            out.push(panel);
        }
    }
    out
}

/// Checks Prometheus' and Grafana's configuration.
pub fn check(deploy: &DeployFiles, report: &mut Report) {
    check_prometheus(deploy, report);
    check_grafana(deploy, report);
    check_dashboard(deploy, report);
}

fn check_prometheus(deploy: &DeployFiles, report: &mut Report) {
    let folder = deploy.root.join("deploy/prometheus");
    for rules in seq_at(&deploy.prometheus, &["rule_files"])
        .iter()
        .filter_map(Value::as_str)
    {
        report.check(folder.join(rules).exists(), || {
            format!("{PROMETHEUS}: rule file {rules} does not exist")
        });
    }
    report.check(
        seq_at(&deploy.prometheus, &["rule_files"]).iter().any(|r| {
            r.as_str()
                .is_some_and(|r| folder.join(r) == deploy.root.join(ALERTS))
        }),
        || format!("{PROMETHEUS}: does not load {ALERTS}"),
    );
    let Some(job) = fleetd_job(deploy) else {
        report.fail(format!("{PROMETHEUS}: no scrape job named fleetd"));
        return;
    };
    for target in seq_at(job, &["static_configs"])
        .iter()
        .flat_map(|c| seq_at(c, &["targets"]))
    {
        let target = target.as_str().unwrap_or_default();
        let host = target.rsplit_once(':').map_or(target, |(h, _)| h);
        let bind = deploy
            .service(host)
            .map(compose_env)
            .and_then(|env| env.get("FLEET_BIND").cloned());
        report.check(
            bind.is_some_and(|b| port_of(&b) == port_of(target)),
            || format!("{PROMETHEUS}: target {target} is not a fleetd service of {COMPOSE} on its FLEET_BIND port"),
        );
    }
    let Some(prometheus) = deploy.service("prometheus") else {
        report.fail(format!("{COMPOSE}: no prometheus service"));
        return;
    };
    let config = seq_at(prometheus, &["command"])
        .iter()
        .filter_map(Value::as_str)
        .find_map(|arg| arg.strip_prefix("--config.file="))
        .unwrap_or("/etc/prometheus/prometheus.yml");
    report.check(
        host_path(deploy, prometheus, config)
            .is_some_and(|p| same_file(&p, &deploy.root.join(PROMETHEUS))),
        || format!("{COMPOSE}: prometheus reads {config}, which is not {PROMETHEUS} mounted"),
    );
}

fn check_grafana(deploy: &DeployFiles, report: &mut Report) {
    let Some(grafana) = deploy.service("grafana") else {
        report.fail(format!("{COMPOSE}: no grafana service"));
        return;
    };
    let provisioning = host_path(
        deploy,
        grafana,
        "/etc/grafana/provisioning/datasources/prometheus.yml",
    );
    report.check(provisioning.is_some_and(|p| p.exists() && p.ends_with("prometheus.yml")), || {
        format!("{COMPOSE}: grafana does not mount deploy/grafana/provisioning at /etc/grafana/provisioning")
    });
    let sources = seq_at(&deploy.datasources, &["datasources"]);
    report.check(sources.len() == 1, || {
        format!("{DATASOURCES}: expected one data source")
    });
    if let Some(source) = sources.first() {
        let url = str_at(source, &["url"]).unwrap_or_default();
        let authority = url
            .strip_prefix("http://")
            .unwrap_or_default()
            .trim_end_matches('/');
        let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
        let serves = deploy.service(host).is_some_and(|s| {
            str_at(s, &["image"]).is_some_and(|i| i.starts_with("prom/prometheus"))
                && container_ports(s).contains(&9090)
        });
        report.check(serves && port_of(authority) == Some(9090), || {
            format!("{DATASOURCES}: {url} is not the prometheus service of {COMPOSE}")
        });
        report.check(str_at(source, &["uid"]).is_some(), || {
            format!("{DATASOURCES}: the data source has no uid")
        });
    }
    let folder = get(&deploy.dashboard_provider, &["providers"])
        .and_then(|p| p.as_sequence()?.first())
        .and_then(|p| str_at(p, &["options", "path"]))
        .unwrap_or_default();
    let mounted = host_path(deploy, grafana, &format!("{folder}/fleet.json"));
    report.check(
        mounted.is_some_and(|p| p.exists() && p.ends_with("dashboards/fleet.json")),
        || format!("{DASHBOARD_PROVIDER}: {folder} is not where {COMPOSE} mounts deploy/grafana/dashboards"),
    );
}

fn check_dashboard(deploy: &DeployFiles, report: &mut Report) {
    let dashboard = &deploy.dashboard;
    report.check(
        dashboard["uid"].is_string() && dashboard["title"].is_string(),
        || format!("{DASHBOARD}: no uid or title"),
    );
    let uid = seq_at(&deploy.datasources, &["datasources"])
        .first()
        .and_then(|s| str_at(s, &["uid"]))
        .unwrap_or_default();
    let panels = panels(dashboard);
    let mut ids = std::collections::BTreeSet::new();
    for panel in &panels {
        let title = panel["title"].as_str().unwrap_or("?");
        report.check(
            panel["id"].as_u64().is_some_and(|id| ids.insert(id)),
            || format!("{DASHBOARD}: panel '{title}' has no id, or one another panel has"),
        );
        let targets = panel["targets"].as_array().map_or(&[][..], Vec::as_slice);
        report.check(
            !targets.is_empty()
                && targets
                    .iter()
                    .all(|t| t["expr"].as_str().is_some_and(|e| !e.is_empty())),
            || format!("{DASHBOARD}: panel '{title}' has no query"),
        );
        let uses_provisioned = std::iter::once(*panel)
            .chain(targets)
            .all(|p| p["datasource"]["uid"].as_str().is_none_or(|u| u == uid));
        report.check(
            uses_provisioned && panel["datasource"]["uid"] == uid,
            || {
                format!(
                    "{DASHBOARD}: panel '{title}' does not use the provisioned data source '{uid}'"
                )
            },
        );
        let grid = &panel["gridPos"];
        report.check(
            grid["x"]
                .as_u64()
                .zip(grid["w"].as_u64())
                .is_some_and(|(x, w)| w > 0 && x + w <= 24),
            || format!("{DASHBOARD}: panel '{title}' lies outside the 24-column grid"),
        );
    }
    let all: String = expressions(deploy)
        .into_iter()
        .filter(|(origin, _)| origin.starts_with(DASHBOARD))
        .map(|(_, e)| e)
        .collect::<Vec<_>>()
        .join("\n");
    for metric in DASHBOARD_MUST_USE {
        let used = super::promql::selectors(&all)
            .iter()
            .any(|s| s.metric == *metric);
        report.check(used, || format!("{DASHBOARD}: no panel charts {metric}"));
    }
}
