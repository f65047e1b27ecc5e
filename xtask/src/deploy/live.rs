//! The checks against a running fleetd: started with the Kubernetes Deployment's settings
//! and catalog (on loopback, a scratch SQLite database, short delays, a bootstrap admin key
//! from `fleetd keys generate` where the Deployment takes it from a Secret), probed as the
//! manifests and the image probe it (without a key), driven with the key so that every
//! labelled series exists, then scraped; every metric the dashboard and the alert rules use
//! must be on its page.

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::database::ScratchDatabase;
use super::files::{HEALTHCHECK, RUNBOOK};
use super::fleetd::{fleetd_command, generate_key};
use super::http::{self, Response};
use super::process::{Running, wait_for};
use super::scrape::Scrape;
use super::{Report, files::DeployFiles, k8s, prometheus, promql};

/// Metrics fleetd exports only in some conditions, so a scrape of a healthy fleetd cannot
/// show them; they must still be declared in fleet's source. The flag says whether a
/// fleetd on Postgres shows it, in which case it must be on that page.
const CONDITIONAL: &[(&str, &str, bool)] = &[
    (
        "fleet_worker_pass_failures_total",
        "appears after the first failed worker pass",
        false,
    ),
    (
        "fleet_webhook_attempt_duration_seconds",
        "appears after the first webhook delivery attempt",
        false,
    ),
    (
        "fleet_db_pool_connections",
        "exported with the Postgres store only",
        true,
    ),
    (
        "fleet_db_pool_connections_in_use",
        "exported with the Postgres store only",
        true,
    ),
];

/// Series Prometheus makes itself, and labels it adds to every series.
const PROMETHEUS_MADE: &[&str] = &["up", "scrape_duration_seconds", "scrape_samples_scraped"];
const TARGET_LABELS: &[&str] = &["job", "instance", "service"];

/// Runs fleetd and checks everything that needs it running.
pub fn check(
    binary: &Path,
    deploy: &DeployFiles,
    scratch: &Path,
    report: &mut Report,
) -> Result<()> {
    let mut command = fleetd_command(binary);
    let admin_key = generate_key(binary)?;
    command.env("FLEET_BOOTSTRAP_ADMIN_KEY", &admin_key);
    let mut keys_mode = false;
    if let Some(set) = k8s::settings(deploy)
        .into_iter()
        .find(|s| s.origin.contains(" Deployment "))
    {
        keys_mode = set.env.get("FLEET_AUTH") == Some(&Some("keys".to_owned()));
        for (key, value) in set.env {
            if let Some(value) = value {
                command.env(key, value);
            }
        }
        if let Some(catalog) = set.catalog {
            let path = scratch.join("live-catalog.toml");
            std::fs::write(&path, catalog)?;
            command.env("FLEET_CATALOG", path);
        }
    }
    let database = ScratchDatabase::create(scratch);
    command
        .env("DATABASE_URL", &database.url)
        .env("FLEET_BIND", "127.0.0.1:0")
        .env("FLEET_LOG_FORMAT", "json")
        .env("FLEET_PROVISIONING_DELAY_S", "1")
        .env("FLEET_STOPPING_DELAY_S", "1")
        .env("FLEET_WORKER_INTERVAL_MS", "100")
        .arg("serve");
    let fleetd = Running::start(command)?;
    let address = fleetd.address(Duration::from_secs(60))?;
    eprintln!("deploy-check: fleetd under test listens on {address}");
    wait_for(Duration::from_secs(20), "fleetd to be ready", || {
        Ok(http::get(address, "/readyz")?.status == 200)
    })?;

    check_probes(deploy, address, report)?;
    if keys_mode {
        let keyless = http::get(address, "/servers")?.status;
        report.check(keyless == 401, || {
            format!("in keys mode, GET /servers without a key answered {keyless}, not 401")
        });
    }
    exercise(address, &admin_key, report)?;
    let page = http::get(address, &prometheus::metrics_path(deploy))?;
    let scrape = Scrape::parse(&page.body);
    let conditional: Vec<(&str, &str)> = CONDITIONAL
        .iter()
        .filter(|(_, _, on_postgres)| !(database.postgres && *on_postgres))
        .map(|(metric, why, _)| (*metric, *why))
        .collect();
    check_metric_names(deploy, &scrape, &conditional, report);
    check_runbook_metrics(deploy, &scrape, report);
    // fleetd stops before its scratch database is dropped.
    drop(fleetd);
    Ok(())
}

/// Every path a probe or a scrape asks answers 200, and the image's health check script
/// passes against fleetd and fails where nothing listens.
fn check_probes(deploy: &DeployFiles, address: SocketAddr, report: &mut Report) -> Result<()> {
    let mut paths = k8s::probe_paths(deploy);
    paths.insert(prometheus::metrics_path(deploy));
    paths.insert("/healthz".to_owned());
    for path in paths {
        let status = http::get(address, &path)?.status;
        report.check(status == 200, || {
            format!("fleetd answers {status} to GET {path}, which a probe or scrape asks")
        });
    }
    let script = |port: u16| {
        Command::new("bash")
            .arg(deploy.root.join(HEALTHCHECK))
            .env("FLEET_BIND", format!("0.0.0.0:{port}"))
            .output()
    };
    let healthy = script(address.port()).context("running the health check script")?;
    report.check(healthy.status.success(), || {
        format!("{HEALTHCHECK} fails against a healthy fleetd")
    });
    let closed = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let unhealthy = script(closed).context("running the health check script")?;
    report.check(!unhealthy.status.success(), || {
        format!("{HEALTHCHECK} passes where nothing listens")
    });
    Ok(())
}

/// Provisions a server, waits for it to run, stops it and makes one refused provisioning,
/// all as the admin `key`, so the labelled HTTP, action, provisioning and engine series all
/// exist.
fn exercise(address: SocketAddr, key: &str, report: &mut Report) -> Result<()> {
    let get = |path: &str| http::request(address, "GET", path, None, Some(key));
    let post = |path: &str, body: &str| http::request(address, "POST", path, Some(body), Some(key));
    let catalog = get("/catalog")?.json();
    let region = catalog["regions"][0]["name"]
        .as_str()
        .context("/catalog lists no region")?;
    let kind = catalog["server_types"][0]["name"]
        .as_str()
        .context("/catalog lists no server type")?;
    let body = format!(r#"{{"region": "{region}", "type": "{kind}"}}"#);
    let created = expect(post("/servers", &body)?, 201, "POST /servers")?;
    let id = created.json()["id"]
        .as_str()
        .context("POST /servers returned no id")?
        .to_owned();
    let path = format!("/servers/{id}");
    let state_is = |state: &str| -> Result<bool> { Ok(get(&path)?.json()["state"] == state) };
    wait_for(Duration::from_secs(20), "the server to be running", || {
        state_is("running")
    })?;
    let stop = r#"{"action": "stop"}"#;
    expect(post(&format!("{path}/action"), stop)?, 202, "stop")?;
    wait_for(Duration::from_secs(20), "the server to be stopped", || {
        state_is("stopped")
    })?;
    let refused = format!(r#"{{"region": "no-such-region", "type": "{kind}"}}"#);
    let status = post("/servers", &refused)?.status;
    report.check((400..500).contains(&status), || {
        format!("provisioning in an unknown region answered {status}, not a 4xx")
    });
    // One more worker pass after the last transition, so its counters are on the page.
    sleep(Duration::from_millis(300));
    Ok(())
}

fn expect(response: Response, status: u16, what: &str) -> Result<Response> {
    if response.status != status {
        bail!(
            "{what}: fleetd answered {} (expected {status}): {}",
            response.status,
            response.body
        );
    }
    Ok(response)
}

/// Every metric of the dashboard and the alert rules is on the page (or declared and
/// conditional), with the labels the expressions match on.
fn check_metric_names(
    deploy: &DeployFiles,
    scrape: &Scrape,
    conditional: &[(&str, &str)],
    report: &mut Report,
) {
    let declared = declared_metrics(&deploy.root.join("crates"));
    let exported: Vec<&str> = scrape
        .series
        .keys()
        .map(String::as_str)
        .filter(|m| m.starts_with("fleet_"))
        .collect();
    let mut checked = BTreeSet::new();
    for (origin, expr) in prometheus::expressions(deploy) {
        for selector in promql::selectors(&expr) {
            let metric = selector.metric.as_str();
            checked.insert(metric.to_owned());
            if PROMETHEUS_MADE.contains(&metric) {
                report.pass();
            } else if let Some(labels) = scrape.series.get(metric) {
                for label in &selector.labels {
                    report.check(
                        labels.contains(label) || TARGET_LABELS.contains(&label.as_str()),
                        || format!("{origin}: {metric} has no label '{label}' (it has {labels:?})"),
                    );
                }
            } else if let Some((_, why)) = conditional.iter().find(|(m, _)| base_name(metric) == *m)
            {
                report.check(declared.contains(base_name(metric)), || {
                    format!("{origin}: {metric} ({why}) is declared nowhere in crates/")
                });
            } else {
                report.fail(format!(
                    "{origin}: fleetd does not export {metric} (it exports {})",
                    exported.join(", ")
                ));
            }
        }
    }
    eprintln!(
        "deploy-check: {} metric names of the dashboard and alert rules checked against {} series fleetd exports",
        checked.len(),
        scrape.series.len()
    );
}

/// The runbook's metric reference describes every metric fleetd exports, and names no
/// metric it does not export.
fn check_runbook_metrics(deploy: &DeployFiles, scrape: &Scrape, report: &mut Report) {
    let exported: BTreeSet<&str> = scrape
        .series
        .keys()
        .filter(|m| m.starts_with("fleet_"))
        .flat_map(|m| [m.as_str(), base_name(m)])
        .collect();
    for metric in exported.iter().filter(|m| base_name(m) == **m) {
        report.check(deploy.runbook.contains(&format!("`{metric}`")), || {
            format!("{RUNBOOK}: the metric reference does not describe {metric}")
        });
    }
    let conditional = |m: &str| CONDITIONAL.iter().any(|(c, _, _)| *c == base_name(m));
    let words: BTreeSet<&str> = deploy
        .runbook
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    // `fleet_` alone is the start of an API key's text (`fleet_<key id>_<secret>`).
    for word in words {
        if word.starts_with("fleet_") && word.len() > "fleet_".len() {
            report.check(exported.contains(word) || conditional(word), || {
                format!("{RUNBOOK}: names the metric {word}, which fleetd does not export")
            });
        }
    }
}

/// A histogram's or summary's name without its `_bucket`, `_sum` or `_count`.
fn base_name(metric: &str) -> &str {
    ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|suffix| metric.strip_suffix(suffix))
        .unwrap_or(metric)
}

/// Every `"fleet_…"` string literal in the Rust sources under `dir`.
fn declared_metrics(dir: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && !path.ends_with("target") {
            found.extend(declared_metrics(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for piece in text.split('"').skip(1).step_by(2) {
                if piece.starts_with("fleet_")
                    && piece
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                {
                    found.insert(piece.to_owned());
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::files::{DASHBOARD, broken_copy};

    /// A `/metrics` page with a series of every metric (and label) the committed dashboard
    /// and alert rules use, as fleetd's is.
    fn page_of_committed_names() -> Scrape {
        let committed = DeployFiles::load(&crate::workspace_root()).expect("deploy files load");
        let mut page = String::new();
        for (_, expr) in prometheus::expressions(&committed) {
            for s in promql::selectors(&expr) {
                let labels: Vec<String> = s.labels.iter().map(|l| format!("{l}=\"x\"")).collect();
                page.push_str(&format!("{}{{{}}} 1\n", s.metric, labels.join(",")));
            }
        }
        Scrape::parse(&page)
    }

    fn problems(edits: &[(&str, &str, &str)]) -> Vec<String> {
        let copy = broken_copy(edits);
        let deploy = DeployFiles::load(copy.path()).expect("the copy loads");
        let mut report = Report::default();
        check_metric_names(&deploy, &page_of_committed_names(), &[], &mut report);
        report.problems
    }

    #[test]
    fn a_dashboard_metric_fleetd_does_not_export_is_reported() {
        assert_eq!(problems(&[]), Vec::<String>::new());
        let found = problems(&[(
            DASHBOARD,
            "increase(fleet_servers_reaped_total[1h])",
            "increase(fleet_servers_reaped_totl[1h])",
        )]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("fleetd does not export fleet_servers_reaped_totl"),
            "{found:?}"
        );
    }

    #[test]
    fn a_label_the_metric_lacks_is_reported() {
        let found = problems(&[(
            DASHBOARD,
            r#"fleet_servers{state=\"failed\"}"#,
            r#"fleet_servers{status=\"failed\"}"#,
        )]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("has no label 'status'"), "{found:?}");
    }
}
