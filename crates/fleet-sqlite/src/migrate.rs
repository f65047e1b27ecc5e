//! The schema: `migrations/sqlite`, embedded in the binary and applied when a store opens.

use std::collections::HashSet;

use diesel::SqliteConnection;
use diesel::migration::MigrationSource;
use diesel::sqlite::Sqlite;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// The migrations this binary knows.
pub(crate) const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// Why the schema is not the one this binary expects.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SchemaError {
    /// The database was migrated by a newer fleet.
    #[error(
        "the database has migrations this fleet does not know ({0}); it was written by a newer \
         fleet: upgrade fleet, or point it at another database"
    )]
    Newer(String),
    /// Migrations are still to be applied.
    #[error("the database schema is behind: migrations {0} are not applied")]
    Behind(String),
    /// Reading or applying migrations failed.
    #[error("migrating the database failed: {0}")]
    Failed(String),
}

/// Applies the migrations the database lacks, refusing one written by a newer binary.
///
/// Runs in one `BEGIN IMMEDIATE` transaction, so two processes opening one file migrate it once.
pub(crate) fn migrate(conn: &mut SqliteConnection) -> Result<(), SchemaError> {
    conn.immediate_transaction(|conn| {
        refuse_newer(conn)?;
        conn.run_pending_migrations(MIGRATIONS)
            .map(drop)
            .map_err(|e| SchemaError::Failed(e.to_string()))
    })
}

/// Whether the database has exactly the migrations this binary knows.
pub(crate) fn check(conn: &mut SqliteConnection) -> Result<(), SchemaError> {
    refuse_newer(conn)?;
    let pending = conn
        .pending_migrations(MIGRATIONS)
        .map_err(|e| SchemaError::Failed(e.to_string()))?;
    if pending.is_empty() {
        Ok(())
    } else {
        let names: Vec<String> = pending.iter().map(|m| m.name().to_string()).collect();
        Err(SchemaError::Behind(names.join(", ")))
    }
}

fn refuse_newer(conn: &mut SqliteConnection) -> Result<(), SchemaError> {
    let failed = |e: Box<dyn std::error::Error + Send + Sync>| SchemaError::Failed(e.to_string());
    let known: HashSet<String> = MigrationSource::<Sqlite>::migrations(&MIGRATIONS)
        .map_err(failed)?
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    let unknown: Vec<String> = conn
        .applied_migrations()
        .map_err(failed)?
        .iter()
        .map(|v| v.to_string())
        .filter(|v| !known.contains(v))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(SchemaError::Newer(unknown.join(", ")))
    }
}

impl From<diesel::result::Error> for SchemaError {
    fn from(err: diesel::result::Error) -> Self {
        SchemaError::Failed(err.to_string())
    }
}
