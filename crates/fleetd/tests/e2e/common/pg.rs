//! Databases of their own on the test Postgres (`TEST_DATABASE_URL`, which `cargo xtask test`
//! sets; the local server otherwise), dropped when the test is done with them.

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

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

/// An empty database, unmigrated: fleetd migrates it on start, as in production.
pub struct TempDatabase {
    /// Its connection URL.
    pub url: String,
    name: String,
}

impl TempDatabase {
    pub async fn create() -> TempDatabase {
        let name = format!("fleet_e2e_{}", uuid::Uuid::new_v4().simple());
        admin()
            .await
            .batch_execute(&format!("CREATE DATABASE {name}"))
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

    pub async fn drop_now(self) {
        admin()
            .await
            .batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", self.name))
            .await
            .expect("drop the test database");
    }
}
