//! The database the fleetd under test runs on: a scratch Postgres database when a Postgres
//! and `psql` are at hand (the production store, whose pool metrics the dashboard uses),
//! otherwise a scratch SQLite file.

use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};

/// A scratch database, dropped (Postgres) when this is dropped.
pub struct ScratchDatabase {
    /// The `DATABASE_URL` fleetd gets.
    pub url: String,
    /// Whether it is Postgres.
    pub postgres: bool,
    /// The server's maintenance URL and the database's name, for dropping it.
    created: Option<(String, String)>,
}

impl ScratchDatabase {
    /// A scratch Postgres database if one can be created, else a SQLite file in `scratch`.
    pub fn create(scratch: &Path) -> ScratchDatabase {
        match create_postgres() {
            Ok(database) => database,
            Err(e) => {
                eprintln!(
                    "deploy-check: no scratch Postgres ({e:#}); fleetd under test uses SQLite"
                );
                ScratchDatabase {
                    url: format!("sqlite://{}", scratch.join("live.db").display()),
                    postgres: false,
                    created: None,
                }
            }
        }
    }
}

fn create_postgres() -> Result<ScratchDatabase> {
    let server = crate::postgres::find_or_start()?;
    let name = format!("fleet_deploy_check_{}", std::process::id());
    psql(server.url(), &format!("CREATE DATABASE {name}"))?;
    eprintln!(
        "deploy-check: fleetd under test uses the scratch database {name} on {}",
        server.display_url()
    );
    Ok(ScratchDatabase {
        url: with_database(server.url(), &name),
        postgres: true,
        created: Some((server.url().to_owned(), name)),
    })
}

fn psql(url: &str, sql: &str) -> Result<()> {
    let output = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        .output()
        .map_err(|e| anyhow::anyhow!("psql: {e}"))?;
    if !output.status.success() {
        bail!("psql: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

/// `url` naming the database `name` instead of its own.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let server = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if let Some((server, name)) = &self.created
            && let Err(e) = psql(
                server,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
        {
            eprintln!("deploy-check: could not drop the scratch database {name}: {e:#}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_of_a_url_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }
}
