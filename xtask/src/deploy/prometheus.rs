//! Prometheus and Grafana. promtool (required) checks `prometheus.yml` with the rule files it
//! loads, the alert rules, their unit tests, and every dashboard expression: those are
//! written as recording rules into a scratch rules file, so Prometheus' own parser reads
//! them. What concerns fleet stays here: the scrape job reaches fleetd's Compose service on
//! its port, Grafana's data source is the Compose Prometheus, and the dashboard charts what
//! an operator of fleet needs.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value as Json;

use super::Report;
use super::compose::{container_ports, fleetd_services};
use super::files::{
    ALERT_TESTS, ALERTS, COMPOSE, DASHBOARD, DATASOURCES, DeployFiles, PROMETHEUS, compose_env,
    port_of, seq_at, str_at,
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

/// Fails, saying how to install it, when promtool is not on `PATH`.
pub fn require_promtool() -> Result<()> {
    match Command::new("promtool").arg("--version").output() {
        Ok(output) if output.status.success() => Ok(()),
        _ => {
            bail!("deploy-check needs promtool: apt-get install prometheus (Debian ships it there)")
        }
    }
}

/// Runs every promtool check and the checks about fleet.
pub fn check(deploy: &DeployFiles, scratch: &Path, report: &mut Report) -> Result<()> {
    promtool(deploy, &["check", "config", PROMETHEUS], PROMETHEUS, report)?;
    promtool(deploy, &["check", "rules", ALERTS], ALERTS, report)?;
    promtool(deploy, &["test", "rules", ALERT_TESTS], ALERT_TESTS, report)?;
    let rules = scratch.join("dashboard-rules.yml");
    std::fs::write(&rules, dashboard_rules(deploy)?)?;
    let rules = rules.to_string_lossy();
    let what = format!("{DASHBOARD}'s expressions (as recording rules named after their panel)");
    promtool(deploy, &["check", "rules", &rules], &what, report)?;
    check_scrape(deploy, report);
    check_grafana(deploy, report);
    let used: Vec<String> = dashboard_expressions(deploy)
        .iter()
        .flat_map(|(_, expr)| super::promql::selectors(expr))
        .map(|s| s.metric)
        .collect();
    for metric in DASHBOARD_MUST_USE {
        report.check(used.iter().any(|m| m == metric), || {
            format!("{DASHBOARD}: no panel charts {metric}")
        });
    }
    Ok(())
}

/// Runs `promtool args` in the root; a failure is a problem with `what`.
fn promtool(deploy: &DeployFiles, args: &[&str], what: &str, report: &mut Report) -> Result<()> {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(&deploy.root)
        .output()
        .context("could not run promtool")?;
    report.check(output.status.success(), || {
        format!(
            "promtool {} failed on {what}:\n{}\n{}",
            args[..2].join(" "),
            String::from_utf8_lossy(&output.stdout).trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        )
    });
    Ok(())
}

/// A rules file with one recording rule per dashboard expression, Grafana's range
/// variables replaced by a duration.
fn dashboard_rules(deploy: &DeployFiles) -> Result<String> {
    let rules: Vec<Json> = dashboard_expressions(deploy)
        .into_iter()
        .map(|(title, expr)| {
            let name: String = title
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            let mut expr = expr;
            for variable in ["$__rate_interval", "$__interval", "$__range"] {
                expr = expr.replace(variable, "5m");
            }
            serde_json::json!({ "record": format!("dashboard:{name}"), "expr": expr })
        })
        .collect();
    let file = serde_json::json!({ "groups": [{ "name": "dashboard", "rules": rules }] });
    Ok(serde_yaml::to_string(&file)?)
}

/// The dashboard's expressions with their panel's title, panels inside rows included.
fn dashboard_expressions(deploy: &DeployFiles) -> Vec<(String, String)> {
    let top = deploy.dashboard["panels"].as_array().into_iter().flatten();
    let panels = top.flat_map(|p| match p["panels"].as_array() {
        Some(inner) if p["type"] == "row" => inner.iter().collect(),
        _ => vec![p],
    });
    panels
        .flat_map(|panel| {
            let title = panel["title"].as_str().unwrap_or("untitled").to_owned();
            let targets = panel["targets"].as_array().into_iter().flatten();
            targets.filter_map(move |t| Some((title.clone(), t["expr"].as_str()?.to_owned())))
        })
        .collect()
}

/// Every PromQL expression of the dashboard and the alert rules, with where it is.
pub fn expressions(deploy: &DeployFiles) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = dashboard_expressions(deploy)
        .into_iter()
        .map(|(title, expr)| (format!("{DASHBOARD} panel '{title}'"), expr))
        .collect();
    for rule in seq_at(&deploy.alerts, &["groups"])
        .iter()
        .flat_map(|g| seq_at(g, &["rules"]))
    {
        let name = str_at(rule, &["alert"])
            .or(str_at(rule, &["record"]))
            .unwrap_or("?");
        if let Some(expr) = str_at(rule, &["expr"]) {
            out.push((format!("{ALERTS} rule {name}"), expr.to_owned()));
        }
    }
    out
}

fn fleetd_job(deploy: &DeployFiles) -> Option<&serde_yaml::Value> {
    seq_at(&deploy.prometheus, &["scrape_configs"])
        .iter()
        .find(|job| str_at(job, &["job_name"]) == Some("fleetd"))
}

/// The path Prometheus scrapes fleetd on.
pub fn metrics_path(deploy: &DeployFiles) -> String {
    fleetd_job(deploy)
        .and_then(|job| str_at(job, &["metrics_path"]))
        .unwrap_or("/metrics")
        .to_owned()
}

/// The fleetd job scrapes the Compose services that run fleetd, on their `FLEET_BIND` port.
fn check_scrape(deploy: &DeployFiles, report: &mut Report) {
    let Some(job) = fleetd_job(deploy) else {
        report.fail(format!("{PROMETHEUS}: no scrape job named fleetd"));
        return;
    };
    let fleetd = fleetd_services(deploy);
    let targets = seq_at(job, &["static_configs"])
        .iter()
        .flat_map(|c| seq_at(c, &["targets"]));
    for target in targets.filter_map(|t| t.as_str()) {
        let host = target.rsplit_once(':').map_or(target, |(h, _)| h);
        let bind = fleetd
            .iter()
            .find(|(name, _)| *name == host)
            .and_then(|(_, s)| compose_env(s).get("FLEET_BIND").cloned());
        report.check(bind.is_some_and(|b| port_of(&b) == port_of(target)), || {
            format!("{PROMETHEUS}: target {target} is not a fleetd service of {COMPOSE} on its FLEET_BIND port")
        });
    }
}

/// Grafana's one data source is the Compose file's Prometheus service.
fn check_grafana(deploy: &DeployFiles, report: &mut Report) {
    let url = seq_at(&deploy.datasources, &["datasources"])
        .first()
        .and_then(|s| str_at(s, &["url"]))
        .unwrap_or_default();
    let authority = url.trim_start_matches("http://").trim_end_matches('/');
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    let serves = deploy.services().any(|(name, s)| {
        name == host
            && str_at(s, &["image"]).is_some_and(|i| i.starts_with("prom/prometheus"))
            && port_of(authority).is_some_and(|p| container_ports(s).contains(&p))
    });
    report.check(serves, || {
        format!("{DATASOURCES}: '{url}' is not the Prometheus service of {COMPOSE}")
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::files::broken_copy;

    /// The problems `check` finds in a copy of the deploy files with `edits` applied.
    fn problems(edits: &[(&str, &str, &str)]) -> String {
        require_promtool().expect("these tests run promtool");
        let copy = broken_copy(edits);
        let deploy = DeployFiles::load(copy.path()).expect("the copy loads");
        let mut report = Report::default();
        check(&deploy, copy.path(), &mut report).expect("promtool runs");
        report.problems.join("\n")
    }

    #[test]
    fn the_committed_files_pass() {
        assert_eq!(problems(&[]), "");
    }

    #[test]
    fn a_malformed_alert_rule_is_reported() {
        let found = problems(&[(
            ALERTS,
            r#"expr: up{job="fleetd"} == 0"#,
            r#"expr: up{job="fleetd" == 0"#,
        )]);
        assert!(
            found.contains(&format!("promtool check rules failed on {ALERTS}")),
            "{found}"
        );
        assert!(found.contains("FleetdDown"), "{found}");
    }

    #[test]
    fn a_malformed_dashboard_expression_is_reported() {
        let found = problems(&[(
            DASHBOARD,
            "sum(increase(fleet_servers_reaped_total[1h]))",
            "sum(increase(fleet_servers_reaped_total[1h])",
        )]);
        assert!(
            found.contains(DASHBOARD) && found.contains("parse error"),
            "{found}"
        );
    }
}
