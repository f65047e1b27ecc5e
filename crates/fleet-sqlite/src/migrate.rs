//! The schema: `migrations/sqlite`, embedded in the binary and applied when a store opens.

use std::collections::HashSet;

use diesel::SqliteConnection;
use diesel::migration::MigrationSource;
use diesel::sqlite::Sqlite;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use fleet_domain::error::StoreError;

use crate::errors::TxError;

/// The migrations this binary knows.
pub(crate) const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// Applies the migrations the database lacks, refusing one written by a newer binary
/// ([`StoreError::SchemaAhead`]).
///
/// Runs in one `BEGIN IMMEDIATE` transaction, so two processes opening one file migrate it once.
pub(crate) fn migrate(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    conn.immediate_transaction::<_, TxError, _>(|conn| {
        Versions::read(conn)?.refuse_newer()?;
        conn.run_pending_migrations(MIGRATIONS)
            .map(drop)
            .map_err(|e| TxError::Store(failed("applying the migrations", e)))
    })
    .map_err(StoreError::from)
}

/// Whether the database has exactly the migrations this binary knows:
/// [`StoreError::SchemaAhead`] or [`StoreError::SchemaBehind`] when not.
pub(crate) fn check(conn: &mut SqliteConnection) -> Result<(), TxError> {
    let versions = Versions::read(conn)?;
    versions.refuse_newer()?;
    if versions.applied.len() < versions.known.len() {
        return Err(TxError::Store(StoreError::SchemaBehind {
            applied: versions.applied.last().cloned(),
            expected: versions.newest_known(),
        }));
    }
    Ok(())
}

/// The migration versions the database has and those this binary knows, each sorted.
struct Versions {
    applied: Vec<String>,
    known: Vec<String>,
}

impl Versions {
    fn read(conn: &mut SqliteConnection) -> Result<Versions, TxError> {
        let mut known: Vec<String> = MigrationSource::<Sqlite>::migrations(&MIGRATIONS)
            .map_err(|e| TxError::Store(failed("reading the embedded migrations", e)))?
            .iter()
            .map(|m| m.name().version().to_string())
            .collect();
        let mut applied: Vec<String> = conn
            .applied_migrations()
            .map_err(|e| TxError::Store(failed("reading the applied migrations", e)))?
            .iter()
            .map(ToString::to_string)
            .collect();
        known.sort();
        applied.sort();
        Ok(Versions { applied, known })
    }

    fn newest_known(&self) -> String {
        self.known.last().cloned().unwrap_or_default()
    }

    /// A database with a migration this binary does not know was written by a newer one.
    fn refuse_newer(&self) -> Result<(), TxError> {
        let known: HashSet<&String> = self.known.iter().collect();
        if self.applied.iter().all(|v| known.contains(v)) {
            return Ok(());
        }
        Err(TxError::Store(StoreError::SchemaAhead {
            applied: self.applied.last().cloned().unwrap_or_default(),
            known: self.newest_known(),
        }))
    }
}

fn failed(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Unknown(anyhow::anyhow!("{what}: {error}"))
}
