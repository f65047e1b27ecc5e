//! Checks the architecture invariants that the compiler cannot:
//!
//! - the domain crate pulls in no adapter, framework, runtime or SQL dependency;
//! - `fleet-ops`, the operational HTTP every driving adapter shares, pulls in no adapter,
//!   store, the binary, the domain or an API-spec generator;
//! - `fleet-client` knows the API only through the committed OpenAPI document: it pulls in
//!   no other fleet crate;
//! - the `fleet` CLI (`fleet-cli`) is built on `fleet-client` alone: no domain, adapter,
//!   store or binary crate;
//! - the EC2 adapter (`fleet-ec2`), a driving adapter beside the REST one, depends on the
//!   domain (and `fleet-ops`) only: no other adapter, store, binary or SQL;
//! - the console (`fleet-console`), a driving adapter too, depends on the domain (and
//!   `fleet-ops`) only: its pages reach the service through the REST API, like any client;
//! - the REST adapter does not own the operational routes (`/metrics`, `/healthz`,
//!   `/readyz`) or the readiness and metrics traits: they are `fleet-ops`', so a second
//!   driving adapter shares them instead of growing its own.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// A crate and the crates it must never depend on, directly or through another crate.
struct Purity {
    package: &'static str,
    forbidden: &'static [&'static str],
    why: &'static str,
}

const PURITY: &[Purity] = &[
    Purity {
        package: "fleet-domain",
        forbidden: &[
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
            "fleet-ops",
        ],
        why: "fleet-domain must stay pure",
    },
    Purity {
        package: "fleet-ops",
        forbidden: &[
            "fleet-domain",
            "fleet-http",
            "fleet-postgres",
            "fleet-sqlite",
            "fleetd",
            "diesel",
            "diesel-async",
            "tokio-postgres",
            "paperclip",
        ],
        why: "fleet-ops is shared by every driving adapter and knows HTTP, not servers",
    },
    Purity {
        package: "fleet-ec2",
        forbidden: NOT_IN_A_DRIVING_ADAPTER,
        why: "a driving adapter depends on the domain only, never on another adapter",
    },
    Purity {
        package: "fleet-console",
        forbidden: NOT_IN_A_DRIVING_ADAPTER,
        why: "a driving adapter depends on the domain only, never on another adapter",
    },
    Purity {
        package: "fleet-client",
        forbidden: SERVICE_CRATES,
        why: "fleet-client knows the API only through docs/openapi.json",
    },
    Purity {
        package: "fleet-cli",
        forbidden: SERVICE_CRATES,
        why: "the fleet CLI is built on fleet-client alone",
    },
];

/// What a driving adapter beside the REST one (EC2, the console) must not pull in: another
/// adapter, a store, the binary, SQL or the REST spec generator.
const NOT_IN_A_DRIVING_ADAPTER: &[&str] = &[
    "fleet-http",
    "fleet-ec2",
    "fleet-console",
    "fleet-postgres",
    "fleet-sqlite",
    "fleet-webhooks",
    "fleetd",
    "diesel",
    "diesel-async",
    "tokio-postgres",
    "paperclip",
];

/// The crates of the service: neither the client nor the CLI may use one (the CLI depends
/// on the client, so the client cannot depend on it either).
const SERVICE_CRATES: &[&str] = &[
    "fleet-console",
    "fleet-domain",
    "fleet-ec2",
    "fleet-http",
    "fleet-ops",
    "fleet-postgres",
    "fleet-sqlite",
    "fleet-store-conformance",
    "fleet-bench",
    "fleetd",
];

/// The REST adapter's sources, which must not mention these: each would make it own an
/// operational route or port.
const REST_SOURCES: &str = "crates/fleet-http/src";
const NOT_IN_REST: &[&str] = &[
    "\"/metrics\"",
    "\"/healthz\"",
    "\"/readyz\"",
    "METRICS_PATH",
    "HEALTHZ_PATH",
    "READYZ_PATH",
    "fleet_ops::routes",
    "trait Readiness",
    "trait MetricsExporter",
    "enum NotReady",
];

/// Fails when an invariant of the module documentation does not hold.
pub fn check() -> Result<()> {
    for rule in PURITY {
        let found = forbidden_dependencies(rule)?;
        if !found.is_empty() {
            bail!(
                "{}, but {} depends on: {}",
                rule.why,
                rule.package,
                found.join(", ")
            );
        }
        eprintln!(
            "xtask: {} depends on none of {}",
            rule.package,
            rule.forbidden.join(", ")
        );
    }
    let sources = crate::workspace_root().join(REST_SOURCES);
    let owned = mentions(&sources, NOT_IN_REST)?;
    if !owned.is_empty() {
        bail!(
            "the operational routes and their ports are fleet-ops', but fleet-http has:\n  {}",
            owned.join("\n  ")
        );
    }
    eprintln!("xtask: fleet-http owns no operational route or port");
    Ok(())
}

/// The forbidden crates `cargo tree` shows among the rule's package's normal dependencies.
fn forbidden_dependencies(rule: &Purity) -> Result<Vec<String>> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args([
            "tree",
            "--package",
            rule.package,
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
    let mut found: Vec<String> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        // The tree's first line is the package itself, which a shared list may name.
        .filter(|name| *name != rule.package && rule.forbidden.contains(name))
        .map(str::to_owned)
        .collect();
    found.sort();
    found.dedup();
    Ok(found)
}

/// `file:line: needle` for each line of the Rust sources under `dir` that has a needle.
fn mentions(dir: &Path, needles: &[&str]) -> Result<Vec<String>> {
    let mut found = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            found.extend(mentions(&path, needles)?);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            for (n, line) in text.lines().enumerate() {
                for needle in needles.iter().filter(|needle| line.contains(*needle)) {
                    found.push(format!("{}:{}: {needle}", path.display(), n + 1));
                }
            }
        }
    }
    found.sort();
    Ok(found)
}
