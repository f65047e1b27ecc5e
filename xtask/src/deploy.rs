//! `cargo xtask deploy-check`: validates the deploy files that cannot run here (no Docker
//! engine, no cluster) by parsing them and cross-checking them against fleetd itself.
//!
//! - fleetd is built and asked (`fleetd -h`) which environment variables, values and
//!   subcommands it takes; every `FLEET_*` variable the files set must be one of them, and
//!   every set of variables they give fleetd must pass its validation (`fleetd migrate`
//!   against a scratch SQLite database).
//! - Ports, service names, mounted paths, probes, selectors and references between the
//!   files must agree (`docker`, `compose`, `k8s`, `monitoring`).
//! - Prometheus' configuration and rules go through `promtool` when it is installed, and
//!   through a schema check otherwise.
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
mod monitoring;
pub mod process;
mod promql;
mod rules;
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

/// Runs every check and fails listing all the problems found.
pub fn check() -> Result<()> {
    let root = crate::workspace_root();
    let deploy = files::DeployFiles::load(&root)?;
    let binary = fleetd::build()?;
    let facts = fleetd::Facts::ask(&binary)?;
    let scratch = Scratch::create()?;
    let mut report = Report::default();

    docker::check(&root, &deploy, &facts, &mut report);
    compose::check(&deploy, &facts, &mut report);
    k8s::check(&deploy, &facts, &mut report);
    monitoring::check(&deploy, &mut report);
    rules::check(&deploy, &mut report);
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
