//! What the ledger takes: the rows of `usage_records` and their size on disk, read with
//! fleetd stopped. Postgres: `pg_total_relation_size` (heap, indexes and TOAST) and
//! `pg_indexes_size` of the table, `pg_database_size` of the database. SQLite: the pages of
//! the table and of its indexes in `dbstat`, and the file's `page_count × page_size`, read
//! through a read-only connection.

use std::path::Path;

use anyhow::{Context, Result};
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::LedgerStore;
use crate::database;

/// The ledger's rows and bytes.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct Storage {
    /// Rows of `usage_records`.
    #[diesel(sql_type = BigInt, column_name = usage_rows)]
    pub rows: i64,
    /// Bytes of `usage_records` with its indexes.
    #[diesel(sql_type = BigInt)]
    pub ledger_bytes: i64,
    /// Bytes of its indexes alone.
    #[diesel(sql_type = BigInt)]
    pub index_bytes: i64,
    /// Bytes of the whole database.
    #[diesel(sql_type = BigInt)]
    pub database_bytes: i64,
}

const POSTGRES: &str = "
SELECT (SELECT count(*) FROM usage_records) AS usage_rows,
       pg_total_relation_size('usage_records') AS ledger_bytes,
       pg_indexes_size('usage_records') AS index_bytes,
       pg_database_size(current_database()) AS database_bytes";

const SQLITE: &str = "
SELECT (SELECT count(*) FROM usage_records) AS usage_rows,
       (SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN
           (SELECT name FROM sqlite_master WHERE tbl_name = 'usage_records')) AS ledger_bytes,
       (SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN
           (SELECT name FROM sqlite_master
            WHERE tbl_name = 'usage_records' AND type = 'index')) AS index_bytes,
       (SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size())
           AS database_bytes";

/// The ledger of `store`, whose fleetd has stopped.
pub async fn measure(store: LedgerStore<'_>) -> Result<Storage> {
    match store {
        LedgerStore::Postgres(url) => {
            let row = database::connect(url)
                .await?
                .query_one(POSTGRES, &[])
                .await?;
            Ok(Storage {
                rows: row.get("usage_rows"),
                ledger_bytes: row.get("ledger_bytes"),
                index_bytes: row.get("index_bytes"),
                database_bytes: row.get("database_bytes"),
            })
        }
        LedgerStore::Sqlite(file) => sqlite(file).await,
    }
}

async fn sqlite(file: &Path) -> Result<Storage> {
    let path = file.to_str().context("an SQLite path that is not UTF-8")?;
    let url = format!("file:{path}?mode=ro");
    tokio::task::spawn_blocking(move || -> Result<Storage> {
        let mut conn = SqliteConnection::establish(&url)
            .with_context(|| format!("opening {url} to measure the ledger"))?;
        diesel::sql_query(SQLITE)
            .get_result(&mut conn)
            .context("measuring the ledger (dbstat)")
    })
    .await
    .context("the SQLite measuring task")?
}
