//! The database file outlives the store; memory stores are throwaway; schemas are checked.

use chrono::TimeDelta;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use fleet_domain::error::StoreError;
use fleet_domain::ports::{Clock, Store, StoreStatus};
use fleet_domain::{Action, Caller, RequestContext, ServerState};
use fleet_sqlite::{SqliteLocation, SqliteStore};

use crate::common::{Fleet, t0, temp_db};

#[derive(QueryableByName)]
struct JournalMode {
    #[diesel(sql_type = Text)]
    journal_mode: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_survives_closing_and_reopening_the_file() {
    let (_dir, path) = temp_db();
    let fleet = Fleet::file(&path, t0()).await;
    let server = fleet.provision("eu-west").await;
    fleet.advance(TimeDelta::minutes(5)).await;
    fleet
        .servers
        .act(
            &Caller::open(),
            server.id,
            Action::Stop,
            None,
            &RequestContext::api("req-stop"),
        )
        .await
        .expect("stop");
    fleet.advance(TimeDelta::minutes(1)).await;
    let before = fleet
        .servers
        .usage(&Caller::open(), server.id, None, None)
        .await
        .expect("usage");
    let events_before = fleet
        .servers
        .events(&Caller::open(), server.id, None)
        .await
        .expect("events");
    assert_eq!(before.view.server.state, ServerState::Stopped);
    assert!(before.records.len() >= 2, "accruals and the closing record");
    let now = fleet.clock.now();
    drop(fleet);

    let reopened = Fleet::file(&path, now).await;
    let after = reopened
        .servers
        .usage(&Caller::open(), server.id, None, None)
        .await
        .expect("usage");
    assert_eq!(after.view.server, before.view.server);
    assert_eq!(after.view.server.ip, server.ip);
    assert_eq!(after.records, before.records);
    assert_eq!(
        reopened
            .servers
            .events(&Caller::open(), server.id, None)
            .await
            .expect("events"),
        events_before
    );
    let pools = reopened.store.pool_usage().await.expect("pool usage");
    let eu = pools
        .iter()
        .find(|p| p.region == "eu-west")
        .expect("eu-west");
    assert_eq!((eu.allocated, eu.free), (1, 253));

    let other = reopened.provision("eu-west").await;
    assert_ne!(
        other.ip, server.ip,
        "a held address is not handed out again"
    );
    reopened
        .servers
        .act(
            &Caller::open(),
            server.id,
            Action::Start,
            None,
            &RequestContext::api("req-start"),
        )
        .await
        .expect("the reopened store keeps working");
    reopened.advance(TimeDelta::seconds(5)).await;
    assert_eq!(
        reopened
            .servers
            .get(&Caller::open(), server.id)
            .await
            .expect("get")
            .server
            .state,
        ServerState::Running
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stores_work_and_are_separate() {
    let first = Fleet::open(SqliteLocation::Memory, t0()).await;
    let second = Fleet::open(SqliteLocation::Memory, t0()).await;
    let server = first.provision("eu-west").await;
    first.advance(TimeDelta::seconds(10)).await;
    assert_eq!(
        first
            .servers
            .get(&Caller::open(), server.id)
            .await
            .expect("get")
            .server
            .state,
        ServerState::Running
    );
    assert!(second.store.get(server.id).await.expect("get").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_file_is_in_wal_mode() {
    let (_dir, path) = temp_db();
    let store = SqliteStore::open(SqliteLocation::File(path.clone()))
        .await
        .expect("open");
    let mut raw = SqliteConnection::establish(path.to_str().expect("utf-8 path")).expect("raw");
    let mode: JournalMode = diesel::sql_query("PRAGMA journal_mode")
        .get_result(&mut raw)
        .expect("journal mode");
    assert_eq!(mode.journal_mode, "wal");
    drop(store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_from_a_newer_fleet_is_refused() {
    let (_dir, path) = temp_db();
    drop(
        SqliteStore::open(SqliteLocation::File(path.clone()))
            .await
            .expect("open"),
    );
    let mut raw = SqliteConnection::establish(path.to_str().expect("utf-8 path")).expect("raw");
    raw.batch_execute("INSERT INTO __diesel_schema_migrations (version) VALUES ('29991231000000')")
        .expect("a migration from the future");
    drop(raw);

    let refused = SqliteStore::open(SqliteLocation::File(path.clone())).await;
    assert!(
        matches!(&refused, Err(StoreError::SchemaAhead { applied, .. }) if applied == "29991231000000"),
        "a newer schema is refused: {refused:?}"
    );
    let text = refused.expect_err("refused").to_string();
    assert!(text.contains("newer fleet"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_in_a_missing_directory_is_a_clear_error() {
    let (dir, _) = temp_db();
    let path = dir.path().join("no-such-dir").join("fleet.db");
    let err = SqliteStore::open(SqliteLocation::File(path.clone()))
        .await
        .expect_err("no directory");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}
