//! A database of the previous schema migrates with its data: its servers move into the
//! project `default`, stay readable, and foreign keys are enforced again afterwards (they
//! are off while the migrations run, and every reference is checked before they commit).

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use fleet_domain::error::StoreError;
use fleet_domain::lifecycle::{self, ServerSpec};
use fleet_domain::ports::{EventLog, ProjectDeletion, Store, StoreStatus, TenancyStore};
use fleet_domain::{
    EventQuery, Money, PageRequest, ProjectId, RequestContext, Selector, ServerFilter, ServerId,
    ServerState, StateReason,
};

use fleet_sqlite::{SqliteLocation, SqliteStore};

use crate::common::{Fleet, config, t0, temp_db};

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// 2026-01-01T00:00:00Z in the stored microseconds.
const T0_MICROS: i64 = 1_767_225_600_000_000;

const RUNNING: &str = "6f1e0c1a-0000-4000-8000-000000000001";
const GONE: &str = "6f1e0c1a-0000-4000-8000-000000000002";

/// A database at `path` migrated as a fleet whose newest migration came before the one
/// named `first_missing` (its directory's date prefix, digits only) left it.
fn migrated_before(path: &str, first_missing: &str) -> SqliteConnection {
    let mut conn = SqliteConnection::establish(path).expect("a new database file");
    conn.run_pending_migrations(MIGRATIONS)
        .expect("the migrations apply");
    let before = |version: &str| {
        let digits: String = version.chars().filter(char::is_ascii_digit).collect();
        digits.as_str() < first_missing
    };
    while !conn
        .applied_migrations()
        .expect("the applied migrations")
        .iter()
        .all(|applied| before(&applied.to_string()))
    {
        conn.revert_last_migration(MIGRATIONS)
            .expect("the newest down.sql runs");
    }
    conn
}

/// Writes, at `path`, a database of the schema before projects (every migration before
/// `2026-12-02-000000_projects_and_keys`) holding a running and a terminated server and an event, as that fleet wrote them.
fn previous_fleet_database(path: &str) {
    let mut conn = migrated_before(path, "20261202000000");
    conn.batch_execute(&format!(
        "INSERT INTO ip_pools (region, cidr, size, next_offset) \
         VALUES ('eu-west', '10.1.0.0/24', 254, 1);
         INSERT INTO servers (id, name, region, server_type, state, ip, hourly_price_micros,
             generation, created_at, updated_at, started_at, stopped_at, terminated_at,
             transition_due_at, billed_until, billed_seconds, billed_amount_micros)
         VALUES ('{RUNNING}', 'old-running', 'eu-west', 't2.micro', 'running', '10.1.0.1',
             11600, 2, {T0_MICROS}, {T0_MICROS} + 10000000, {T0_MICROS} + 10000000, NULL,
             NULL, NULL, {T0_MICROS} + 10000000, 0, 0),
                ('{GONE}', 'old-gone', 'eu-west', 't2.micro', 'terminated', NULL, 11600, 3,
             {T0_MICROS} + 1000000, {T0_MICROS} + 30000000, NULL, NULL,
             {T0_MICROS} + 30000000, NULL, NULL, 0, 0);
         INSERT INTO events (server_id, at, kind, from_state, to_state, actor, request_id,
             message)
         VALUES ('{RUNNING}', {T0_MICROS}, 'created', NULL, 'provisioning', 'api', 'req-old',
             'provisioned as t2.micro in eu-west');"
    ))
    .expect("rows of the previous schema");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_from_before_projects_move_into_default_and_stay_readable() {
    let (_dir, path) = temp_db();
    previous_fleet_database(path.to_str().expect("a UTF-8 path"));

    let fleet = Fleet::file(&path, t0()).await;
    fleet.store.ping().await.expect("the schema is current");
    let default = fleet
        .store
        .project(ProjectId::DEFAULT)
        .await
        .expect("project")
        .expect("the migration creates default");
    assert_eq!(default.name, "default");
    let running: ServerId = RUNNING.parse().expect("an id");
    let server = fleet
        .store
        .get(running)
        .await
        .expect("get")
        .expect("the old server is still there");
    assert_eq!(
        (server.project, server.name.as_str(), server.state),
        (ProjectId::DEFAULT, "old-running", ServerState::Running)
    );
    let in_default = ServerFilter {
        project: Some(ProjectId::DEFAULT),
        ..Default::default()
    };
    let page = PageRequest {
        limit: 10,
        after: None,
        offset: 0,
    };
    let listed = fleet.store.list(&in_default, &page).await.expect("list");
    assert_eq!(
        listed.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["old-running", "old-gone"]
    );
    assert!(
        server.labels.is_empty(),
        "servers from before labels have none"
    );
    let unlabelled = ServerFilter {
        selector: Some(Selector::parse("!env,tier notin (db)").expect("a selector")),
        ..Default::default()
    };
    let listed = fleet.store.list(&unlabelled, &page).await.expect("list");
    assert_eq!(listed.len(), 2, "selectors see servers from before labels");
    let events = fleet.store.events(running, 10).await.expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].event.request_id.as_deref(), events[0].event.key),
        (Some("req-old"), None)
    );
    assert_eq!(
        (events[0].seq, events[0].project),
        (Some(1), ProjectId::DEFAULT),
        "the old event is numbered first, in its server's project"
    );
    assert_eq!(
        fleet
            .store
            .delete_project(ProjectId::DEFAULT)
            .await
            .expect("delete_project"),
        ProjectDeletion::HasLiveServers(1),
        "the migrated servers count as the project's"
    );

    let new = fleet.provision("eu-west").await;
    assert_eq!(new.project, ProjectId::DEFAULT);
    assert_eq!(
        new.ip,
        Some("10.1.0.2".parse().expect("an address")),
        "the pool's counter came through the migration"
    );
    assert_eq!(
        fleet.store.horizon().await.expect("horizon").latest,
        2,
        "the new server's event is numbered after the old one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_keys_are_enforced_again_after_migrating() {
    let (_dir, path) = temp_db();
    previous_fleet_database(path.to_str().expect("a UTF-8 path"));
    let fleet = Fleet::file(&path, t0()).await;
    let before = fleet.store.pool_usage().await.expect("pool usage");
    let orphan = lifecycle::plan_provision(
        ServerSpec {
            id: ServerId::random(),
            project: ProjectId::random(),
            name: "orphan".to_owned(),
            labels: Default::default(),
            region: "eu-west".to_owned(),
            server_type: "t2.micro".to_owned(),
            hourly_price: Money::from_micros(11_600),
            policy: fleet_domain::billing::BillingPolicy::default(),
            vcpus: 1,
        },
        t0(),
        &config(),
        &RequestContext::api("req-orphan"),
        &fleet_domain::Entropy::os(),
    );
    let id = orphan.server.id;
    let refused = fleet.store.provision(orphan).await;
    assert!(refused.is_err(), "a server of no project: {refused:?}");
    assert_eq!(fleet.store.get(id).await.expect("get"), None);
    assert_eq!(
        fleet.store.pool_usage().await.expect("pool usage"),
        before,
        "nothing half-created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_that_leave_a_dangling_reference_are_rolled_back() {
    let (_dir, path) = temp_db();
    let text = path.to_str().expect("a UTF-8 path");
    previous_fleet_database(text);
    let mut raw = SqliteConnection::establish(text).expect("the database");
    raw.batch_execute(
        "PRAGMA foreign_keys = OFF; \
         INSERT INTO usage_records (server_id, period_start, period_end, seconds, \
             hourly_price_micros, amount_micros) \
         VALUES ('6f1e0c1a-0000-4000-8000-00000000dead', 0, 60000000, 60, 11600, 193)",
    )
    .expect("a row written with foreign keys off");
    drop(raw);

    let refused = SqliteStore::open(SqliteLocation::File(path.clone())).await;
    let error = refused.expect_err("the dangling usage record is reported");
    assert!(
        matches!(&error, StoreError::Unknown(_)) && error.to_string().contains("usage_records"),
        "{error}"
    );
    let mut raw = SqliteConnection::establish(text).expect("the database");
    assert!(
        raw.has_pending_migration(MIGRATIONS)
            .expect("the applied migrations"),
        "nothing was migrated"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_from_before_event_labels_get_their_server_s_labels_and_selectors_see_them() {
    let (_dir, path) = temp_db();
    let mut conn = migrated_before(path.to_str().expect("a UTF-8 path"), "20261208000000");
    conn.batch_execute(&format!(
        "INSERT INTO ip_pools (region, cidr, size, next_offset) \
         VALUES ('eu-west', '10.1.0.0/24', 254, 2);
         INSERT INTO servers (id, project_id, name, region, server_type, state, ip,
             hourly_price_micros, vcpus, generation, created_at, updated_at, billed_seconds,
             billed_amount_micros, labels)
         VALUES ('{RUNNING}', '00000000-0000-0000-0000-000000000001', 'labelled', 'eu-west',
             't2.micro', 'running', '10.1.0.1', 11600, 1, 2, {T0_MICROS}, {T0_MICROS}, 0, 0,
             '{{\"env\":\"prod\",\"tier\":\"web\"}}'),
                ('{GONE}', '00000000-0000-0000-0000-000000000001', 'bare', 'eu-west',
             't2.micro', 'running', '10.1.0.2', 11600, 1, 2, {T0_MICROS}, {T0_MICROS}, 0, 0,
             '{{}}');
         INSERT INTO events (server_id, at, kind, from_state, to_state, actor, message, seq,
             event_type, project_id)
         SELECT id, created_at, 'created', NULL, 'provisioning', 'api', 'old',
             row_number() OVER (ORDER BY name DESC), 'server.provisioned', project_id
         FROM servers;
         UPDATE event_sequence SET latest = 2;"
    ))
    .expect("rows of the previous schema");
    drop(conn);

    let fleet = Fleet::file(&path, t0()).await;
    let query = |selector: Option<&str>| EventQuery {
        project: None,
        after: 0,
        server: None,
        types: Vec::new(),
        selector: selector.map(|text| Selector::parse(text).expect("a selector")),
        limit: 100,
    };
    let events = fleet
        .store
        .events_after(&query(None))
        .await
        .expect("events_after");
    let labels: Vec<Vec<(&str, &str)>> = events.iter().map(|e| e.labels.iter().collect()).collect();
    assert_eq!(
        labels,
        [vec![("env", "prod"), ("tier", "web")], vec![]],
        "the labelled server's event gets its labels, the bare one's none"
    );
    for (selector, expected) in [("env=prod", [Some(1)]), ("!env", [Some(2)])] {
        let selected = fleet
            .store
            .events_after(&query(Some(selector)))
            .await
            .expect("events_after");
        assert_eq!(
            selected.iter().map(|e| e.seq).collect::<Vec<_>>(),
            expected,
            "{selector}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_from_before_state_reasons_get_the_reason_of_the_action_that_took_them_out() {
    const STOPPED: &str = "6f1e0c1a-0000-4000-8000-000000000003";
    const REAPED: &str = "6f1e0c1a-0000-4000-8000-000000000004";
    let (_dir, path) = temp_db();
    let mut conn = migrated_before(path.to_str().expect("a UTF-8 path"), "20261210000000");
    conn.batch_execute(&format!(
        "INSERT INTO ip_pools (region, cidr, size, next_offset) \
         VALUES ('eu-west', '10.1.0.0/24', 254, 3);
         INSERT INTO servers (id, project_id, name, region, server_type, state, ip,
             hourly_price_micros, vcpus, generation, created_at, updated_at, billed_seconds,
             billed_amount_micros)
         VALUES ('{RUNNING}', '00000000-0000-0000-0000-000000000001', 'up', 'eu-west',
             't2.micro', 'running', '10.1.0.1', 11600, 1, 2, {T0_MICROS}, {T0_MICROS}, 0, 0),
                ('{STOPPED}', '00000000-0000-0000-0000-000000000001', 'down', 'eu-west',
             't2.micro', 'stopped', '10.1.0.2', 11600, 1, 4, {T0_MICROS}, {T0_MICROS}, 0, 0),
                ('{REAPED}', '00000000-0000-0000-0000-000000000001', 'gone', 'eu-west',
             't2.micro', 'terminated', NULL, 11600, 1, 6, {T0_MICROS}, {T0_MICROS}, 0, 0);
         INSERT INTO events (server_id, at, kind, from_state, to_state, actor, message, seq,
             event_type, project_id)
         VALUES ('{STOPPED}', {T0_MICROS}, 'action_requested', 'running', 'stopping', 'api',
             'old', 1, 'server.action_requested', '00000000-0000-0000-0000-000000000001'),
                ('{REAPED}', {T0_MICROS}, 'action_requested', 'running', 'stopping', 'api',
             'old', 2, 'server.action_requested', '00000000-0000-0000-0000-000000000001'),
                ('{REAPED}', {T0_MICROS}, 'action_requested', 'stopped', 'terminating',
             'reaper', 'old', 3, 'server.reaped', '00000000-0000-0000-0000-000000000001');
         UPDATE event_sequence SET latest = 3;"
    ))
    .expect("rows of the previous schema");
    drop(conn);

    let fleet = Fleet::file(&path, t0()).await;
    let reason = async |id: &str| {
        let server = fleet
            .store
            .get(id.parse().expect("an id"))
            .await
            .expect("get")
            .expect("the server");
        server.state_reason
    };
    assert_eq!(reason(RUNNING).await, None, "in service: none");
    assert_eq!(
        reason(STOPPED).await,
        Some(StateReason::UserInitiatedShutdown)
    );
    assert_eq!(
        reason(REAPED).await,
        Some(StateReason::IdleReaped),
        "the newest action out of service, the reaper's"
    );
    let events = fleet
        .store
        .events_after(&EventQuery {
            project: None,
            after: 0,
            server: None,
            types: Vec::new(),
            selector: None,
            limit: 100,
        })
        .await
        .expect("events_after");
    assert_eq!(events.len(), 3);
    assert!(
        events.iter().all(|e| e.event.reason.is_none()),
        "the history stays as it was recorded"
    );
}
