//! The bench's own databases: created fresh on the Postgres server it is given, dropped at
//! the end.

use anyhow::{Context, Result, bail};
use tokio_postgres::{Client, NoTls};

/// Connects one client to `url`, driving its connection on the runtime.
pub async fn connect(url: &str) -> Result<Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .with_context(|| format!("connecting to {}", redact(url)))?;
    tokio::spawn(async move {
        // A broken connection fails the client's next query, which reports it.
        let _ = connection.await;
    });
    Ok(client)
}

/// The server's version and the settings that move write figures most, as one line.
pub async fn describe(url: &str) -> Result<String> {
    let client = connect(url).await?;
    let version: String = client
        .query_one("SELECT split_part(version(), ' on ', 1)", &[])
        .await?
        .get(0);
    let mut settings = Vec::new();
    for name in [
        "fsync",
        "synchronous_commit",
        "shared_buffers",
        "max_connections",
    ] {
        let row = client
            .query_one("SELECT current_setting($1)", &[&name])
            .await?;
        let value: String = row.get(0);
        settings.push(format!("`{name}` {value}"));
    }
    Ok(format!("{version}; {}", settings.join(", ")))
}

/// A database created on a server, dropped by [`Database::drop_now`].
pub struct Database {
    server_url: String,
    name: String,
}

impl Database {
    /// Creates the database `name` (dropping a leftover of that name first) on the server
    /// that `server_url` reaches.
    pub async fn create(server_url: &str, name: &str) -> Result<Database> {
        if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            bail!("'{name}' is not a plain database name");
        }
        let admin = connect(server_url).await?;
        // Two statements: DROP DATABASE may not share an (implicit) transaction.
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .with_context(|| format!("dropping a leftover database {name}"))?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .with_context(|| format!("creating the database {name}"))?;
        Ok(Database {
            server_url: server_url.to_owned(),
            name: name.to_owned(),
        })
    }

    /// The URL of this database.
    pub fn url(&self) -> Result<String> {
        with_database(&self.server_url, &self.name)
    }

    /// Drops it, closing whatever connections are left.
    pub async fn drop_now(self) -> Result<()> {
        let admin = connect(&self.server_url).await?;
        admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await
            .with_context(|| format!("dropping the database {}", self.name))
    }
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> Result<String> {
    let (scheme, rest) = url
        .split_once("://")
        .with_context(|| format!("'{}' is not a postgres:// URL", redact(url)))?;
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find('?').map_or("", |i| &tail[i..]);
    Ok(format!("{scheme}://{authority}/{name}{query}"))
}

/// `url` with any password hidden, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if scheme + 3 < at && url[scheme + 3..at].contains(':') => {
            let colon = scheme + 3 + url[scheme + 3..at].find(':').unwrap_or(0);
            format!("{}:***{}", &url[..colon], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_replaced_and_the_rest_kept() {
        let url = "postgres://postgres@127.0.0.1:5432/postgres";
        assert_eq!(
            with_database(url, "b").expect("url"),
            "postgres://postgres@127.0.0.1:5432/b"
        );
        assert_eq!(
            with_database("postgres://u:p@h:1?sslmode=disable", "b").expect("url"),
            "postgres://u:p@h:1/b?sslmode=disable"
        );
        assert!(with_database("nonsense", "b").is_err());
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(redact("postgres://u:secret@h/d"), "postgres://u:***@h/d");
        assert_eq!(redact("postgres://u@h/d"), "postgres://u@h/d");
    }
}
