//! Embedded migrations: idempotent, reversible, and refusing a database newer than the code.

use diesel::Connection;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use fleet_domain::error::StoreError;
use fleet_domain::ports::StoreStatus;

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
    let refused = store.migrate().await;
    assert!(
        matches!(&refused, Err(StoreError::SchemaAhead { applied, .. }) if applied == "29991231235959"),
        "a newer database must be refused: {refused:?}"
    );
    let pinged = store.ping().await;
    assert!(
        matches!(&pinged, Err(StoreError::SchemaAhead { applied, .. }) if applied == "29991231235959"),
        "{pinged:?}"
    );
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
    let pinged = store.ping().await;
    assert!(
        matches!(pinged, Err(StoreError::SchemaBehind { applied: None, .. })),
        "{pinged:?}"
    );
    store.migrate().await.expect("migrating the empty database");
    store.ping().await.expect("the schema is current");
    assert_eq!(support::tables(&mut conn).await.len(), 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_of_the_previous_schema_keeps_its_free_list_when_migrated() {
    let db = TestDb::new().await;
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
            .expect("a blocking connection");
        conn.revert_last_migration(MIGRATIONS)
            .expect("the newest down.sql runs");
    })
    .await
    .expect("the revert task");
    let mut conn = support::connect(&db.url).await;
    exec(
        &mut conn,
        "INSERT INTO ip_pools (region, cidr, size, next_offset) \
         VALUES ('lab', '10.0.0.0/24', 254, 5)",
    )
    .await;
    exec(
        &mut conn,
        "INSERT INTO ip_free (region, ip_offset) VALUES ('lab', 3)",
    )
    .await;
    let store = db.store().await;
    store
        .migrate()
        .await
        .expect("migrating the previous schema");
    let usage = store.pool_usage().await.expect("pool usage");
    assert_eq!(
        (usage[0].allocated, usage[0].free),
        (4, 250),
        "the released address is still free: {usage:?}"
    );
}
