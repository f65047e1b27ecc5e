//! `cargo xtask deploy-check`: validates the deploy files that cannot run here (no Docker
//! engine, no cluster) with the tools made for each, and against fleetd itself.
//!
//! - The tools: check-jsonschema (pinned, in a virtualenv xtask makes) validates the Compose
//!   file and the Kubernetes manifests against the schemas vendored in `deploy/schemas`
//!   (`schemas`); promtool (required: `apt-get install prometheus`) checks Prometheus'
//!   configuration, the alert rules, their unit tests, and the dashboard's expressions
//!   (`prometheus`). No Dockerfile linter is installable here: `docker` reads only what
//!   concerns fleetd.
//! - fleetd is built and asked (`fleetd -h`) which environment variables, values and
//!   subcommands it takes; every `FLEET_*` variable the files set must be one of them, and
//!   every set of variables they give fleetd must pass its validation (`fleetd migrate`
//!   against a scratch SQLite database).
//! - What concerns fleet across the files must agree: fleetd's port (Dockerfile, Compose,
//!   probes, Service, scrape target), service names, the mounted catalog, probe paths,
//!   its subcommands (`docker`, `compose`, `k8s`, `prometheus`).
//! - A real fleetd is started with the Kubernetes Deployment's settings and catalog; the
//!   probes and the image's health check are run against it, a server is provisioned and
//!   moved so that every labelled series exists, and every metric name the dashboard and
//!   the alert rules use must be one its `/metrics` exports (`live`).

mod compose;
mod database;
mod docker;
mod files;
pub mod fleetd;
pub mod http;
mod k8s;
mod live;
pub mod process;
mod prometheus;
mod promql;
mod schemas;
mod scrape;

use std::path::PathBuf;

use anyhow::{Result, bail};

/// Problems found so far, and how many checks passed.
#[derive(Debug, Default)]
pub struct Report {
    problems: Vec<String>,
    passed: usize,
}

impl Report {
    /// Records one check: a pass when `ok`, otherwise the problem `what` describes.
    pub fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if ok {
            self.passed += 1;
        } else {
            self.problems.push(what());
        }
    }

    /// Records a problem.
    pub fn fail(&mut self, problem: impl Into<String>) {
        self.problems.push(problem.into());
    }

    /// Records a check that passed.
    pub fn pass(&mut self) {
        self.passed += 1;
    }

    fn finish(self) -> Result<()> {
        if self.problems.is_empty() {
            eprintln!("deploy-check: all {} checks passed", self.passed);
            return Ok(());
        }
        for problem in &self.problems {
            eprintln!("deploy-check: {problem}");
        }
        bail!(
            "{} deploy problem(s) found ({} checks passed)",
            self.problems.len(),
            self.passed
        )
    }
}

/// Runs every check and fails listing all the problems found. The tools come first, so
/// that a missing one is said before fleetd is built.
pub fn check() -> Result<()> {
    let root = crate::workspace_root();
    let deploy = files::DeployFiles::load(&root)?;
    prometheus::require_promtool()?;
    let validator = schemas::Validator::ensure(&root)?;
    let binary = fleetd::build()?;
    let facts = fleetd::Facts::ask(&binary)?;
    let scratch = Scratch::create()?;
    let mut report = Report::default();

    validator.check(&deploy, &mut report)?;
    prometheus::check(&deploy, &scratch.path, &mut report)?;
    docker::check(&deploy, &facts, &mut report);
    compose::check(&deploy, &facts, &mut report);
    k8s::check(&deploy, &facts, &mut report);
    fleetd::check_runbook(&deploy.runbook, &facts, &mut report);
    fleetd::check_settings(&binary, &deploy, &facts, &scratch.path, &mut report)?;
    if let Err(e) = live::check(&binary, &deploy, &scratch.path, &mut report) {
        report.fail(format!("running fleetd: {e:#}"));
    }
    report.finish()
}

/// A scratch folder for databases and extracted files, removed when dropped.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn create() -> Result<Scratch> {
        let path = std::env::temp_dir().join(format!("fleet-deploy-check-{}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(Scratch { path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
