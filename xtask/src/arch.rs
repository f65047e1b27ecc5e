//! Checks the architecture invariants that the compiler cannot: the domain crate pulls in no
//! adapter, framework, runtime or SQL dependency.

use std::process::Command;

use anyhow::{Context, Result, bail};

/// Crates the domain must never depend on, directly or through another crate.
const FORBIDDEN_IN_DOMAIN: &[&str] = &[
    "actix-web",
    "diesel",
    "diesel-async",
    "tokio",
    "tokio-postgres",
    "paperclip",
    "slog",
    "metrics",
    "fleet-postgres",
    "fleet-sqlite",
    "fleet-http",
];

/// Fails when `cargo tree` shows a forbidden crate among the domain's normal dependencies.
pub fn check() -> Result<()> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args([
            "tree",
            "--package",
            "fleet-domain",
            "--edges",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .output()
        .context("could not run cargo tree")?;
    if !output.status.success() {
        bail!(
            "cargo tree failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let tree = String::from_utf8_lossy(&output.stdout);
    let found: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| FORBIDDEN_IN_DOMAIN.contains(name))
        .collect();
    if !found.is_empty() {
        bail!(
            "fleet-domain must stay pure, but depends on: {}",
            found.join(", ")
        );
    }
    eprintln!("xtask: fleet-domain depends on no adapter, framework, runtime or SQL crate");
    Ok(())
}
