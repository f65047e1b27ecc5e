//! Embedded migrations, applied at start-up, refusing a database newer than the code.

use std::collections::HashSet;

use anyhow::anyhow;
use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use fleet_domain::error::StoreError;

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
pub(crate) fn run(url: &str) -> Result<(), StoreError> {
    let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(url).map_err(|e| {
        StoreError::Unavailable(anyhow!("connecting to the database to migrate it: {e}"))
    })?;
    conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .map_err(|e| failed("waiting for the migration lock", e))?;
    let result = apply_pending(&mut conn);
    let unlocked = conn
        .batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
        .map_err(|e| failed("releasing the migration lock", e));
    result.and(unlocked)
}

fn apply_pending(conn: &mut AsyncConnectionWrapper<AsyncPgConnection>) -> Result<(), StoreError> {
    let known = known_versions().map_err(StoreError::Unknown)?;
    let known_set: HashSet<&String> = known.iter().collect();
    let mut applied: Vec<String> = conn
        .applied_migrations()
        .map_err(|e| failed("reading the applied migrations", e))?
        .iter()
        .map(ToString::to_string)
        .collect();
    applied.sort();
    if !applied.iter().all(|v| known_set.contains(v)) {
        return Err(StoreError::SchemaAhead {
            applied: applied.pop().unwrap_or_default(),
            known: known.last().cloned().unwrap_or_default(),
        });
    }
    conn.run_pending_migrations(MIGRATIONS)
        .map_err(|e| failed("applying migrations", e))?;
    Ok(())
}

/// Whether the newest migration applied to the database is `expected`, the newest this
/// fleet embeds. Migration versions are timestamps, ordered as strings.
pub(crate) fn compare(applied: Option<String>, expected: &str) -> Result<(), StoreError> {
    match applied {
        Some(version) if version == expected => Ok(()),
        Some(version) if version.as_str() > expected => Err(StoreError::SchemaAhead {
            applied: version,
            known: expected.to_owned(),
        }),
        applied => Err(StoreError::SchemaBehind {
            applied,
            expected: expected.to_owned(),
        }),
    }
}

fn failed(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Unknown(anyhow!("{what}: {error}"))
}

#[cfg(test)]
mod tests {
    use fleet_domain::error::StoreError;

    use super::compare;

    const EXPECTED: &str = "20260101000000";

    #[test]
    fn the_current_schema_is_no_mismatch() {
        assert!(compare(Some(EXPECTED.to_owned()), EXPECTED).is_ok());
    }

    #[test]
    fn a_database_behind_the_code_needs_the_migrations() {
        for applied in [None, Some("20250101000000".to_owned())] {
            let error = compare(applied.clone(), EXPECTED).expect_err("a mismatch");
            assert!(
                matches!(&error, StoreError::SchemaBehind { applied: a, expected }
                    if *a == applied && expected == EXPECTED),
                "{error:?}"
            );
        }
    }

    #[test]
    fn a_database_ahead_of_the_code_needs_a_newer_fleet_not_the_migrations() {
        let error = compare(Some("29991231235959".to_owned()), EXPECTED).expect_err("a mismatch");
        assert!(
            matches!(&error, StoreError::SchemaAhead { applied, known }
                if applied == "29991231235959" && known == EXPECTED),
            "{error:?}"
        );
    }
}
