//! The schema: `migrations/sqlite`, embedded in the binary and applied when a store opens.

use std::collections::HashSet;

use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};
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
///
/// Foreign keys are not enforced while it runs, as SQLite's procedure for schema changes
/// asks: some changes (a column with `REFERENCES` and a default other than NULL, added to a
/// table holding rows; a table rebuilt in a new shape) are refused or break the references
/// to the table while they are. When any migration ran, every reference is checked before
/// the transaction commits instead (a scan of the referencing tables, so only then), and
/// migrations that leave one dangling are rolled back.
pub(crate) fn migrate(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    let enforced = foreign_keys_enforced(conn)?;
    set_foreign_keys(conn, false)?;
    let migrated = conn.immediate_transaction::<_, TxError, _>(|conn| {
        Versions::read(conn)?.refuse_newer()?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| TxError::Store(failed("applying the migrations", e)))?;
        if applied.is_empty() {
            return Ok(());
        }
        refuse_dangling_references(conn)
    });
    let restored = set_foreign_keys(conn, enforced);
    migrated.map_err(StoreError::from)?;
    restored
}

#[derive(QueryableByName)]
struct ForeignKeys {
    #[diesel(sql_type = Integer)]
    foreign_keys: i32,
}

/// A row that references a missing row, as `PRAGMA foreign_key_check` reports it.
#[derive(QueryableByName)]
struct Dangling {
    #[diesel(sql_type = Text)]
    table: String,
    #[diesel(sql_type = Text)]
    parent: String,
}

fn foreign_keys_enforced(conn: &mut SqliteConnection) -> Result<bool, StoreError> {
    let setting: ForeignKeys = diesel::sql_query("PRAGMA foreign_keys")
        .get_result(conn)
        .map_err(|e| failed("reading whether foreign keys are enforced", e))?;
    Ok(setting.foreign_keys != 0)
}

/// Turns the enforcement of foreign keys on or off; a no-op inside a transaction.
fn set_foreign_keys(conn: &mut SqliteConnection, on: bool) -> Result<(), StoreError> {
    let setting = if on { "ON" } else { "OFF" };
    conn.batch_execute(&format!("PRAGMA foreign_keys = {setting}"))
        .map_err(|e| failed("setting the enforcement of foreign keys", e))
}

fn refuse_dangling_references(conn: &mut SqliteConnection) -> Result<(), TxError> {
    let dangling: Vec<Dangling> = diesel::sql_query("PRAGMA foreign_key_check").load(conn)?;
    match dangling.first() {
        None => Ok(()),
        Some(first) => Err(TxError::Store(failed(
            "checking the references after migrating",
            format!(
                "{} rows reference rows that do not exist (the first: a row of {} \
                 referencing {})",
                dangling.len(),
                first.table,
                first.parent
            ),
        ))),
    }
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
