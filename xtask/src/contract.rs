//! `cargo xtask contract`: holds the committed OpenAPI document (`docs/openapi.json`) to
//! what a real fleetd does, with the tools its users would point at it.
//!
//! In a Python virtualenv under `target/contract` (pinned by
//! `xtask/contract/requirements.txt`), against a fleetd built from this checkout, started in
//! keys mode with a bootstrap admin key, the embedded store in a temporary folder and the
//! virtual clock (with a daily billing period, see `server`):
//!
//! 1. openapi-spec-validator validates both committed documents;
//! 2. openapi-python-client generates a client from the document (any warning fails it),
//!    which must have one model per named type, and `xtask/contract/lifecycle.py` drives a
//!    server's whole life through it (its action records, events and waits included), and
//!    `xtask/contract/webhooks.py` verifies webhook deliveries to a receiver of its own with
//!    the reference Standard Webhooks verifier (`standardwebhooks`);
//! 3. `xtask/contract/ec2.py` drives the EC2 endpoint (`/ec2`) with boto3 and the AWS CLI,
//!    as a member key of a project of its own signing with SigV4: instances through their
//!    whole life with boto3's waiters, tags, filters and ClientToken, EC2's errors, the same
//!    servers through the REST API, and over 1,000 instances paged with NextToken, all
//!    terminated before it ends;
//! 4. schemathesis runs every check against every operation of the committed document,
//!    the virtual clock's included. `xtask/contract/hooks.py` says what it accepts (a
//!    request naming a region or server type the catalog lacks, or a cursor fleetd never
//!    handed out, refused; a wait that timed out; the event stream's events, which an
//!    OpenAPI 3.0 schema cannot describe) and cuts waits to a second;
//!    `xtask/contract/schemathesis.toml` reads the endless event stream briefly.
//!
//! fleetd is stopped whatever happens; its log stays in `target/contract/fleetd.log`.

mod models;
mod server;

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::python::Tools;
use server::Fleetd;

/// The committed files of the contract run, under `xtask/contract`.
const CONTRACT_DIR: &str = "xtask/contract";

/// Runs the whole contract check.
pub fn run() -> Result<()> {
    let started = Instant::now();
    let root = crate::workspace_root();
    let out = root.join("target").join("contract");
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let tools = Tools::ensure(&root.join(CONTRACT_DIR).join("requirements.txt"), &out)?;
    validate_documents(&root, &tools)?;
    let binary = crate::deploy::fleetd::build()?;
    let scratch = tempfile::Builder::new()
        .prefix("fleet-contract-")
        .tempdir()
        .context("creating a temporary folder")?;
    let log = out.join("fleetd.log");
    let fleetd = Fleetd::start(&binary, scratch.path(), &log)?;
    eprintln!("contract: fleetd listens on {}", fleetd.url());
    let outcome = check(&root, &tools, &fleetd, scratch.path(), &out);
    drop(fleetd);
    eprintln!("contract: fleetd stopped; its log is {}", log.display());
    outcome?;
    eprintln!("contract: passed in {:.0?}", started.elapsed());
    Ok(())
}

/// Runs every step, so that one run reports every failure.
fn check(root: &Path, tools: &Tools, fleetd: &Fleetd, scratch: &Path, out: &Path) -> Result<()> {
    let mut failures = Vec::new();
    let mut step = |name: &str, result: Result<()>| {
        if let Err(e) = result {
            eprintln!("contract: {name} failed: {e:#}");
            failures.push(name.to_owned());
        }
    };
    let client = scratch.join("python-client");
    match generate_client(root, tools, &client) {
        Ok(()) => {
            step(
                "one model per named type",
                models::check(
                    &root.join("docs/openapi.json"),
                    &client.join("fleet_client").join("models"),
                ),
            );
            step("the lifecycle script", lifecycle(root, tools, fleetd));
            step("the webhooks script", webhooks(root, tools, fleetd));
        }
        Err(e) => step("generating the Python client", Err(e)),
    }
    step("the EC2 script", ec2(root, tools, fleetd));
    step("schemathesis", schemathesis(root, tools, fleetd, out));
    step(
        "leaving the run's key and project alone",
        fleetd.check_untouched(),
    );
    if !failures.is_empty() {
        bail!("the contract is broken: {}", failures.join(", "));
    }
    Ok(())
}

fn validate_documents(root: &Path, tools: &Tools) -> Result<()> {
    for (version, document) in [
        ("3.0", "docs/openapi.json"),
        ("2.0", "docs/openapi-v2.json"),
    ] {
        crate::run(
            tools
                .python()
                .args(["-m", "openapi_spec_validator", "--schema", version])
                .arg(root.join(document)),
        )?;
    }
    Ok(())
}

/// Generates the client into `folder` (a warning fails it) and installs it.
fn generate_client(root: &Path, tools: &Tools, folder: &Path) -> Result<()> {
    crate::run(
        tools
            .command("openapi-python-client")
            .args(["generate", "--meta", "setup", "--fail-on-warning", "--path"])
            .arg(root.join("docs/openapi.json"))
            .arg("--config")
            .arg(root.join(CONTRACT_DIR).join("openapi-python-client.yaml"))
            .arg("--output-path")
            .arg(folder),
    )?;
    crate::run(
        tools
            .pip_install()
            .args(["--no-deps", "--no-build-isolation", "--force-reinstall"])
            .arg(folder),
    )
}

/// Drives a server's life through the installed client.
fn lifecycle(root: &Path, tools: &Tools, fleetd: &Fleetd) -> Result<()> {
    let started = Instant::now();
    crate::run(
        tools
            .python()
            .arg(root.join(CONTRACT_DIR).join("lifecycle.py"))
            .arg(fleetd.url())
            .env("FLEET_CONTRACT_KEY", &fleetd.key),
    )?;
    eprintln!(
        "contract: the lifecycle script passed in {:.0?}",
        started.elapsed()
    );
    Ok(())
}

/// Subscribes a receiver and verifies its deliveries with the reference Standard Webhooks
/// verifier, through the installed client.
fn webhooks(root: &Path, tools: &Tools, fleetd: &Fleetd) -> Result<()> {
    let started = Instant::now();
    crate::run(
        tools
            .python()
            .arg(root.join(CONTRACT_DIR).join("webhooks.py"))
            .arg(fleetd.url())
            .env("FLEET_CONTRACT_KEY", &fleetd.key),
    )?;
    eprintln!(
        "contract: the webhooks script passed in {:.0?}",
        started.elapsed()
    );
    Ok(())
}

/// Drives the EC2 endpoint with boto3 and the AWS CLI. `Tools::command` puts the
/// virtualenv's `bin` first on `PATH`, so the script finds the venv's `aws`.
fn ec2(root: &Path, tools: &Tools, fleetd: &Fleetd) -> Result<()> {
    let started = Instant::now();
    crate::run(
        tools
            .python()
            .arg(root.join(CONTRACT_DIR).join("ec2.py"))
            .arg(fleetd.url())
            .env("FLEET_CONTRACT_KEY", &fleetd.key),
    )?;
    eprintln!(
        "contract: the EC2 script passed in {:.0?}",
        started.elapsed()
    );
    Ok(())
}

/// Every check of schemathesis on every operation of the committed document.
fn schemathesis(root: &Path, tools: &Tools, fleetd: &Fleetd, out: &Path) -> Result<()> {
    let contract = root.join(CONTRACT_DIR);
    let started = Instant::now();
    // In `out`, where schemathesis keeps its cache of what it found.
    crate::run(
        tools
            .command("st")
            .current_dir(out)
            .arg("--config-file")
            .arg(contract.join("schemathesis.toml"))
            .arg("run")
            .arg(root.join("docs/openapi.json"))
            .args(["--url", &fleetd.url(), "--checks", "all"])
            .env("SCHEMATHESIS_HOOKS", contract.join("hooks.py"))
            .env("FLEET_CONTRACT_KEY", &fleetd.key)
            .env("FLEET_CONTRACT_PROJECT", &fleetd.project)
            .env("FLEET_CONTRACT_REGIONS", fleetd.regions.join(","))
            .env("FLEET_CONTRACT_TYPES", fleetd.server_types.join(",")),
    )?;
    eprintln!("contract: schemathesis passed in {:.0?}", started.elapsed());
    Ok(())
}
