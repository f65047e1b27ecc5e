//! Per-test databases: each test gets its own database, cloned from a template migrated
//! once per version of the migrations, and dropped when the test ends (even on panic).
//!
//! The template is built under a Postgres advisory lock, so the many test processes nextest
//! starts at once build it exactly once between them. Databases left behind by killed runs
//! are dropped when they are more than an hour old.

use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use fleet_domain::RequestContext;
use fleet_domain::lifecycle::{self, LifecycleConfig, ServerSpec};
use fleet_domain::{Money, NewServer, ProjectId, ServerId};
use fleet_postgres::{EventFeed, FeedReport, PgPoolConfig, PgStore};
use fleet_store_conformance::{Fixture, Tamper, TamperFixture, TestedStore};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const TEST_PREFIX: &str = "fleet_test_";
const STALE_AFTER_SECS: u64 = 3_600;

/// The server the tests use: `TEST_DATABASE_URL`, or the local default.
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// `url` pointing at database `name` instead.
pub fn url_for(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// A connection to the server's admin database, or a failure that says what to do.
pub async fn admin() -> AsyncPgConnection {
    let url = admin_url();
    match AsyncPgConnection::establish(&url).await {
        Ok(conn) => conn,
        Err(e) => panic!(
            "cannot reach the test Postgres ({e}). Run the tests with `cargo xtask test`, \
             which finds or starts a Postgres, or set TEST_DATABASE_URL to a server where \
             this user may create databases"
        ),
    }
}

/// A pool config for tests: small, and patient when many tests share one machine.
pub fn test_pool() -> PgPoolConfig {
    PgPoolConfig {
        max_size: 8,
        wait_timeout: Duration::from_secs(30),
        create_timeout: Duration::from_secs(30),
        ..PgPoolConfig::default()
    }
}

/// Runs a statement that returns nothing of interest.
pub async fn exec(conn: &mut AsyncPgConnection, sql: &str) {
    diesel::sql_query(sql)
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Runs a query that selects one row with a `bigint` column `n`, and returns `n`.
pub async fn count(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Count>(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    datname: String,
}

/// FNV-1a over every migration file's name and text: a new migration means a new template.
fn migrations_hash() -> u64 {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/postgres");
    let mut files = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from(dir)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("the migrations directory") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in files {
        let name = file
            .strip_prefix(dir)
            .unwrap_or(&file)
            .display()
            .to_string();
        let text = std::fs::read(&file).expect("a migration file");
        for byte in name.bytes().chain(text) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The migrated template's name, building it first if no process has.
async fn template(admin: &mut AsyncPgConnection) -> String {
    let hash = migrations_hash();
    let name = format!("fleet_tpl_{hash:016x}");
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<BigInt, _>(hash as i64)
        .execute(admin)
        .await
        .expect("the template lock");
    drop_stale(admin).await;
    let existing: Vec<Name> =
        diesel::sql_query("SELECT datname FROM pg_database WHERE datname = $1")
            .bind::<Text, _>(&name)
            .load(admin)
            .await
            .expect("pg_database");
    if existing.is_empty() {
        let building = format!("{name}_building");
        exec(
            admin,
            &format!("DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"),
        )
        .await;
        exec(admin, &format!("CREATE DATABASE \"{building}\"")).await;
        let store = PgStore::connect(&url_for(&admin_url(), &building), test_pool())
            .await
            .expect("connecting to the new template");
        store.migrate().await.expect("migrating the template");
        drop(store);
        exec(
            admin,
            &format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{building}' AND pid <> pg_backend_pid()"
            ),
        )
        .await;
        exec(
            admin,
            &format!("ALTER DATABASE \"{building}\" RENAME TO \"{name}\""),
        )
        .await;
    }
    diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(hash as i64)
        .execute(admin)
        .await
        .expect("releasing the template lock");
    name
}

/// Drops test databases that killed runs left behind more than an hour ago.
async fn drop_stale(admin: &mut AsyncPgConnection) {
    let pattern = format!("{TEST_PREFIX}%");
    let names: Vec<Name> =
        diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE $1")
            .bind::<Text, _>(pattern)
            .load(admin)
            .await
            .expect("pg_database");
    for Name { datname } in names {
        let created = datname
            .strip_prefix(TEST_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        if created.is_some_and(|secs| now_secs().saturating_sub(secs) > STALE_AFTER_SECS) {
            exec(
                admin,
                &format!("DROP DATABASE IF EXISTS \"{datname}\" WITH (FORCE)"),
            )
            .await;
        }
    }
}

/// A database of the test's own, migrated, dropped when this is dropped.
pub struct TestDb {
    /// Its name.
    pub name: String,
    /// A URL that connects to it.
    pub url: String,
}

impl TestDb {
    /// A fresh migrated database.
    pub async fn new() -> TestDb {
        let mut admin = admin().await;
        let template = template(&mut admin).await;
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("{TEST_PREFIX}{}_{}", now_secs(), &suffix[..12]);
        exec(
            &mut admin,
            &format!("CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""),
        )
        .await;
        TestDb {
            url: url_for(&admin_url(), &name),
            name,
        }
    }

    /// A store over this database with the test pool settings.
    pub async fn store(&self) -> PgStore {
        PgStore::connect(&self.url, test_pool())
            .await
            .expect("connecting to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut conn = AsyncPgConnection::establish(&admin_url())
                    .await
                    .map_err(|e| e.to_string())?;
                diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        match dropped {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!("dropping test database {} panicked", self.name),
        }
    }
}

/// A store on a database of its own, with its event feed running, for the conformance
/// suite.
pub struct PgFixture {
    store: Arc<dyn TestedStore>,
    _feed: EventFeed,
    db: TestDb,
}

impl Fixture for PgFixture {
    fn store(&self) -> Arc<dyn TestedStore> {
        Arc::clone(&self.store)
    }
}

impl TamperFixture for PgFixture {
    fn tamper(&self) -> Arc<dyn Tamper> {
        Arc::new(PgTamper(self.db.url.clone()))
    }
}

/// A fresh, empty, migrated store with no pools.
pub async fn fresh_store() -> PgFixture {
    let db = TestDb::new().await;
    let store = db.store().await;
    PgFixture {
        _feed: store.start_event_feed(report()),
        store: Arc::new(store),
        db,
    }
}

/// What a test's event feed does with a failure: says it, for the test's output.
pub fn report() -> FeedReport {
    Arc::new(|doing, error| eprintln!("the event feed failed {doing}: {error}"))
}

/// How long the tampered store waits for its one connection and for a lock another
/// transaction holds: briefly, so the tampering cases are quick.
const TAMPERED_WAIT: Duration = Duration::from_millis(300);

/// A fresh store of one connection that waits only briefly.
pub async fn tampered_store() -> PgFixture {
    let db = TestDb::new().await;
    let config = PgPoolConfig {
        max_size: 1,
        wait_timeout: TAMPERED_WAIT,
        lock_timeout: TAMPERED_WAIT,
        ..test_pool()
    };
    let store = PgStore::connect(&db.url, config)
        .await
        .expect("connecting to the test database");
    PgFixture {
        _feed: store.start_event_feed(report()),
        store: Arc::new(store),
        db,
    }
}

/// Changes a test database through connections of its own, as another process would.
struct PgTamper(String);

#[async_trait::async_trait]
impl Tamper for PgTamper {
    async fn record_unknown_migration(&self) {
        let mut conn = connect(&self.0).await;
        exec(
            &mut conn,
            "INSERT INTO __diesel_schema_migrations (version) VALUES ('99991231235959')",
        )
        .await;
    }

    async fn forget_newest_migration(&self) {
        let mut conn = connect(&self.0).await;
        exec(
            &mut conn,
            "DELETE FROM __diesel_schema_migrations \
             WHERE version = (SELECT max(version) FROM __diesel_schema_migrations)",
        )
        .await;
    }

    /// The lock is held by a task of the case's runtime; the guard's drop waits until that
    /// task has rolled back, so the store's next write finds the table free.
    async fn hold_write_lock(&self) -> Box<dyn Any + Send> {
        let mut conn = connect(&self.0).await;
        exec(&mut conn, "BEGIN").await;
        exec(&mut conn, "LOCK TABLE servers IN EXCLUSIVE MODE").await;
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let (done, finished) = std::sync::mpsc::channel();
        tokio::spawn(async move {
            let _ = released.await;
            exec(&mut conn, "ROLLBACK").await;
            let _ = done.send(());
        });
        Box::new(TableLock {
            release: Some(release),
            finished,
        })
    }

    fn wait_limit(&self) -> Duration {
        TAMPERED_WAIT
    }

    async fn write_labels(&self, server: ServerId, json: &str) {
        let mut conn = connect(&self.0).await;
        diesel::sql_query("UPDATE servers SET labels = $1::jsonb WHERE id = $2")
            .bind::<Text, _>(json)
            .bind::<diesel::sql_types::Uuid, _>(server.as_uuid())
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("writing labels {json}: {e}"));
    }

    async fn write_state_reason(&self, server: ServerId, code: &str) {
        let mut conn = connect(&self.0).await;
        diesel::sql_query("UPDATE servers SET state_reason = $1 WHERE id = $2")
            .bind::<Text, _>(code)
            .bind::<diesel::sql_types::Uuid, _>(server.as_uuid())
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("writing the state reason {code}: {e}"));
    }
}

/// A lock held by another connection, released when dropped.
struct TableLock {
    release: Option<tokio::sync::oneshot::Sender<()>>,
    finished: std::sync::mpsc::Receiver<()>,
}

impl Drop for TableLock {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            let _ = release.send(());
            let _ = self.finished.recv_timeout(Duration::from_secs(10));
        }
    }
}

/// 2026-01-01T00:00:00Z.
pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).expect("a valid timestamp")
}

/// What provisioning hands the store for a `t2.micro` in `region` at `t0`.
pub fn new_server(region: &str) -> NewServer {
    let id = ServerId::random();
    lifecycle::plan_provision(
        ServerSpec {
            id,
            project: ProjectId::DEFAULT,
            name: format!("load-{id}"),
            labels: Default::default(),
            region: region.to_owned(),
            server_type: "t2.micro".to_owned(),
            hourly_price: Money::from_micros(11_600),
            policy: fleet_domain::billing::BillingPolicy::default(),
            vcpus: 1,
        },
        t0(),
        &LifecycleConfig::default(),
        &RequestContext::system(),
        &fleet_domain::Entropy::os(),
    )
}

/// A plain connection to `url`.
pub async fn connect(url: &str) -> AsyncPgConnection {
    AsyncPgConnection::establish(url)
        .await
        .unwrap_or_else(|e| panic!("connecting to a test database: {e}"))
}

#[derive(QueryableByName)]
struct Table {
    #[diesel(sql_type = Text)]
    table_name: String,
}

/// The tables of the public schema, sorted.
pub async fn tables(conn: &mut AsyncPgConnection) -> Vec<String> {
    let rows: Vec<Table> = diesel::sql_query(
        "SELECT table_name::text AS table_name FROM information_schema.tables \
         WHERE table_schema = 'public' ORDER BY table_name",
    )
    .load(conn)
    .await
    .expect("information_schema.tables");
    rows.into_iter().map(|t| t.table_name).collect()
}
