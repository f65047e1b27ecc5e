//! `cargo xtask spec`: rewrites the committed OpenAPI documents (`docs/openapi.json`, v3,
//! and `docs/openapi-v2.json`) from what the code generates, through the fleet-http test
//! that otherwise fails when they drift.

use anyhow::Result;

/// Regenerates the committed documents.
pub fn write() -> Result<()> {
    crate::run(
        crate::cargo()
            .args([
                "test",
                "--quiet",
                "--package",
                "fleet-http",
                "--test",
                "api",
                "--",
                "spec::the_committed_documents_match_the_code",
            ])
            .env("FLEET_UPDATE_SPEC", "1"),
    )?;
    eprintln!("xtask: rewrote docs/openapi.json and docs/openapi-v2.json from the code");
    Ok(())
}
