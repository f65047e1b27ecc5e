//! Embedded migrations: idempotent, reversible, and refusing a database newer than the code.

use diesel::Connection;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use fleet_domain::error::StoreError;
use fleet_domain::ports::Store;

use crate::support::{self, TestDb, exec};

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

#[tokio::test(flavor = "multi_thread")]
async fn migrating_a_migrated_database_changes_nothing_and_ping_is_happy() {
    let db = TestDb::new().await;
    let store = db.store().await;
    store
        .migrate()
        .await
        .expect("a second migration is a no-op");
    store.ping().await.expect("the schema is current");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_migrated_by_a_newer_fleet_is_refused() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let mut conn = support::connect(&db.url).await;
    exec(
        &mut conn,
        "INSERT INTO __diesel_schema_migrations (version) VALUES ('29991231235959')",
    )
    .await;
    let refused = store
        .migrate()
        .await
        .expect_err("a newer database must be refused");
    let message = format!("{refused:#}");
    assert!(
        message.contains("29991231235959") && message.contains("newer fleet"),
        "{message}"
    );
    match store.ping().await {
        Err(StoreError::Unavailable(e)) => {
            let reason = e.to_string();
            assert!(reason.contains("newer fleet"), "{reason}");
            assert!(!reason.contains("run the migrations"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_database_is_not_ready_until_migrated_and_the_migrations_revert_cleanly() {
    let db = TestDb::new().await;
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
            .expect("a blocking connection");
        conn.revert_all_migrations(MIGRATIONS)
            .expect("every down.sql runs");
    })
    .await
    .expect("the revert task");
    let mut conn = support::connect(&db.url).await;
    let tables = support::tables(&mut conn).await;
    assert_eq!(tables, vec!["__diesel_schema_migrations".to_owned()]);
    let store = db.store().await;
    match store.ping().await {
        Err(StoreError::Unavailable(e)) => {
            let reason = e.to_string();
            assert!(reason.contains("run the migrations"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    store.migrate().await.expect("migrating the empty database");
    store.ping().await.expect("the schema is current");
    assert_eq!(support::tables(&mut conn).await.len(), 6);
}
