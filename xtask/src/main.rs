//! Developer tasks for fleet, run as `cargo xtask <task>`.
//!
//! This crate only orchestrates cargo and the tools around it; it must never depend on the
//! fleet crates themselves, so it builds in seconds and works when they do not.

mod arch;
mod bench;
mod contract;
mod deploy;
mod postgres;
mod python;
mod spec;

use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  test      the whole test suite, with a Postgres found or started for it, then `contract`
            (extra arguments go to the test runner, and skip `contract`)
  ci        format check, clippy with warnings denied, `arch`, then `test`
  arch      check the crate boundaries: a pure domain, a shared fleet-ops, a REST adapter
            without the operational routes
  migrate   apply the Postgres migrations to DATABASE_URL
  bench     benchmarks into docs/benchmarks.md [--sqlite: also on SQLite]
            [--quick: a CI smoke run, debug build, writes nothing]
            [--ledger-only: the usage ledger phase alone, on both stores, writes nothing]
  contract  docs/openapi.json against a running fleetd: schemathesis, and a generated
            Python client driving a server's life (needs python3)
  deploy-check  validate deploy/ with promtool and check-jsonschema, and against a running
            fleetd (needs promtool: apt-get install prometheus; and python3)
  spec      rewrite docs/openapi.json (and openapi-v2.json) from the code
  help      this text";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("ci") => ci(),
        Some("arch") => arch::check(),
        Some("migrate") => migrate(),
        Some("bench") => bench::bench(&args[1..]),
        Some("contract") => contract::run(),
        Some("deploy-check") => deploy::check(),
        Some("spec") => spec::write(),
        Some("help") | Some("--help") | Some("-h") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(anyhow::anyhow!("unknown task '{other}'\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the whole suite against a Postgres found or started for it, then the contract
/// check; extra arguments go to the test runner and leave the contract check out.
fn test(extra: &[String]) -> Result<()> {
    if extra.is_empty() {
        require_browser()?;
    }
    let database = postgres::find_or_start()?;
    eprintln!("xtask: tests use Postgres at {}", database.display_url());
    let mut command = if has_nextest() {
        let mut c = cargo();
        c.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
        c
    } else {
        eprintln!("xtask: cargo-nextest not found, using cargo test");
        let mut c = cargo();
        c.args(["test", "--workspace", "--no-fail-fast"]);
        c
    };
    command.args(extra).env("TEST_DATABASE_URL", database.url());
    let result = run(&mut command);
    if let Err(e) = database.release() {
        eprintln!("xtask: warning: {e:#}");
    }
    result?;
    if extra.is_empty() {
        contract::run()?;
    }
    Ok(())
}

/// The console's browser tests drive the system's Chromium through ChromeDriver: say what
/// to install before building anything, rather than fail those tests after.
fn require_browser() -> Result<()> {
    let driver = std::env::var("FLEET_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let found = Command::new(&driver)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !found {
        bail!(
            "the console's browser tests need Chromium and ChromeDriver: \
             `apt-get install chromium chromium-driver` (Debian), or set FLEET_CHROMEDRIVER \
             and FLEET_CHROMIUM to a ChromeDriver and the browser it drives"
        );
    }
    Ok(())
}

fn ci() -> Result<()> {
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    arch::check()?;
    test(&[])
}

fn migrate() -> Result<()> {
    std::env::var_os("DATABASE_URL")
        .context("set DATABASE_URL to the Postgres database to migrate")?;
    // fleetd inherits DATABASE_URL; setting it again would only put it in error messages.
    run(cargo().args(["run", "--quiet", "--package", "fleetd", "--", "migrate"]))
}

fn has_nextest() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

fn run(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("could not run {}", describe(command)))?;
    if !status.success() {
        bail!("{} failed with {status}", describe(command));
    }
    Ok(())
}

/// The program and its arguments, for messages. Not `{command:?}`: that shows the
/// environment set for the child too, passwords in database URLs included; an argument
/// that is a URL is shown without its password and query string.
fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| {
            let part = part.to_string_lossy();
            if part.contains("://") {
                postgres::display_url(&part)
            } else {
                part.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The workspace root: the parent of xtask's folder, as cargo reports it when it runs xtask
/// (a path baked in at build time could be another checkout's, if the build was reused).
pub fn workspace_root() -> std::path::PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_command_is_described_without_its_environment_or_passwords() {
        let mut command = Command::new("false");
        command
            .args(["--postgres", "postgres://u:hunter2@db/fleet", "--quick"])
            .env("TEST_DATABASE_URL", "postgres://u:s3cret@db/fleet");
        let error = run(&mut command).expect_err("false fails").to_string();
        assert!(
            error.starts_with("false --postgres postgres://u@db/fleet --quick failed"),
            "{error}"
        );
        assert!(!error.contains("s3cret"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");

        let mut missing = Command::new("/nonexistent/tool");
        missing.env("DATABASE_URL", "postgres://u:s3cret@db/fleet");
        let error = format!("{:#}", run(&mut missing).expect_err("no such program"));
        assert!(
            error.starts_with("could not run /nonexistent/tool"),
            "{error}"
        );
        assert!(!error.contains("s3cret"), "{error}");
    }
}
