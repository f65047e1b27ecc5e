//! Databases of their own on the test Postgres (`TEST_DATABASE_URL`, which `cargo xtask test`
//! sets; the local server otherwise), dropped when the test is done with them, also when it
//! fails. Databases of runs that were killed (no destructor ran) are dropped by a later run
//! once they are an hour old.

use std::time::{SystemTime, UNIX_EPOCH};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Every test database's name starts with this, then its creation time in Unix seconds.
const PREFIX: &str = "fleet_e2e_";
const STALE_AFTER_SECS: u64 = 3_600;

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// `url` with its database replaced by `name`.
fn url_for(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    match query {
        Some(query) => format!("{}/{name}?{query}", &base[..authority_end]),
        None => format!("{}/{name}", &base[..authority_end]),
    }
}

async fn admin() -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| {
            panic!("cannot reach the test Postgres ({e}); run `cargo xtask test` or set TEST_DATABASE_URL")
        });
    tokio::spawn(connection);
    client
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Drops the test databases created more than [`STALE_AFTER_SECS`] ago. Another run may
/// sweep the same ones at the same time, so a failure is reported, not fatal.
async fn drop_stale(admin: &tokio_postgres::Client) {
    let pattern = format!("{}%", PREFIX.replace('_', "\\_"));
    let rows = admin
        .query(
            "SELECT datname::text FROM pg_database WHERE datname LIKE $1",
            &[&pattern],
        )
        .await
        .expect("list the test databases");
    for row in rows {
        let name: String = row.get(0);
        let created = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        if created.is_some_and(|secs| now_secs().saturating_sub(secs) > STALE_AFTER_SECS) {
            let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            if let Err(e) = admin.batch_execute(&sql).await {
                eprintln!("could not drop the stale test database {name}: {e}");
            }
        }
    }
}

/// An empty database, unmigrated: fleetd migrates it on start, as in production. Dropped
/// with this value.
pub struct TempDatabase {
    /// Its connection URL.
    pub url: String,
    name: String,
}

impl TempDatabase {
    pub async fn create() -> TempDatabase {
        let admin = admin().await;
        drop_stale(&admin).await;
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("{PREFIX}{}_{}", now_secs(), &suffix[..12]);
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create the test database");
        TempDatabase {
            url: url_for(&admin_url(), &name),
            name,
        }
    }

    /// A client connected to this database.
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .expect("connect to the test database");
        tokio::spawn(connection);
        client
    }
}

impl Drop for TempDatabase {
    /// Drops the database on a thread of its own with a runtime of its own: a value may be
    /// dropped inside a runtime, which must not block on another, or outside any. `FORCE`
    /// ends the connections a fleetd may still hold.
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let (client, connection) =
                    tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls)
                        .await
                        .map_err(|e| e.to_string())?;
                tokio::spawn(connection);
                client.batch_execute(&sql).await.map_err(|e| e.to_string())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop the test database {}: {e}", self.name),
            Err(_) => eprintln!("dropping the test database {} panicked", self.name),
        }
    }
}
