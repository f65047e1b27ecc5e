//! Embedded migrations, applied at start-up, refusing a database newer than the code.

use std::collections::HashSet;

use anyhow::{Context, anyhow, bail};
use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// The migrations of `migrations/postgres`, compiled into the binary.
pub(crate) const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Taken while migrating, so replicas starting together migrate one at a time.
const MIGRATION_LOCK: i64 = 0x666c_6565_745f_6d67;

/// The versions of the embedded migrations, oldest first.
pub(crate) fn known_versions() -> anyhow::Result<Vec<String>> {
    let migrations = MigrationSource::<Pg>::migrations(&MIGRATIONS)
        .map_err(|e| anyhow!("reading the embedded migrations: {e}"))?;
    let mut versions: Vec<String> = migrations
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    versions.sort();
    Ok(versions)
}

/// Applies the pending migrations to the database at `url`, blocking; run it off the runtime.
pub(crate) fn run(url: &str) -> anyhow::Result<()> {
    let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(url)
        .context("connecting to the database to migrate it")?;
    conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .context("waiting for the migration lock")?;
    let result = apply_pending(&mut conn);
    let unlocked = conn
        .batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
        .context("releasing the migration lock");
    result.and(unlocked)
}

fn apply_pending(conn: &mut AsyncConnectionWrapper<AsyncPgConnection>) -> anyhow::Result<()> {
    let known: HashSet<String> = known_versions()?.into_iter().collect();
    let applied = conn
        .applied_migrations()
        .map_err(|e| anyhow!("reading the applied migrations: {e}"))?;
    let mut unknown: Vec<String> = applied
        .iter()
        .map(ToString::to_string)
        .filter(|v| !known.contains(v))
        .collect();
    if !unknown.is_empty() {
        unknown.sort();
        bail!(
            "the database has migrations this fleet binary does not know ({}): it was \
             migrated by a newer fleet. Run that newer version against it, or point this one \
             at a database it migrated itself",
            unknown.join(", ")
        );
    }
    conn.run_pending_migrations(MIGRATIONS)
        .map_err(|e| anyhow!("applying migrations: {e}"))?;
    Ok(())
}
