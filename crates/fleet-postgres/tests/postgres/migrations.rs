//! Embedded migrations: idempotent, reversible, and refusing a database newer than the code.

use diesel::Connection;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use fleet_domain::error::StoreError;
use fleet_domain::event::{EventQuery, EventType};
use fleet_domain::ports::{EventLog, ProjectDeletion, Store, StoreStatus, TenancyStore};
use fleet_domain::{
    PageRequest, ProjectId, Selector, ServerFilter, ServerId, ServerState, StateReason,
};

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
    assert_eq!(support::tables(&mut conn).await.len(), 17);
}

/// Reverts, newest first, every migration of the database at `url` from the one named
/// `first_reverted` (its directory's date prefix) on: the schema as it was before it,
/// whatever migrations came after.
async fn revert_from(url: &str, first_reverted: &'static str) {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)
            .expect("a blocking connection");
        let target = digits(first_reverted);
        while conn
            .applied_migrations()
            .expect("the applied migrations")
            .iter()
            .any(|applied| digits(&applied.to_string()) >= target)
        {
            conn.revert_last_migration(MIGRATIONS)
                .expect("the newest down.sql runs");
        }
    })
    .await
    .expect("the revert task");
}

/// The digits of a migration version, as diesel records it (without the dashes).
fn digits(version: &str) -> String {
    version.chars().filter(char::is_ascii_digit).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_from_before_the_names_were_aligned_keeps_its_free_list_when_migrated() {
    let db = TestDb::new().await;
    revert_from(&db.url, "2026-12-01-000000").await;
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

#[tokio::test(flavor = "multi_thread")]
async fn servers_from_before_projects_move_into_default_and_stay_readable() {
    let db = TestDb::new().await;
    revert_from(&db.url, "2026-12-02-000000").await;
    let mut conn = support::connect(&db.url).await;
    assert!(
        !support::tables(&mut conn)
            .await
            .contains(&"projects".to_owned())
    );
    exec(
        &mut conn,
        "INSERT INTO ip_pools (region, cidr, size, next_offset) \
         VALUES ('lab', '10.0.0.0/24', 254, 1)",
    )
    .await;
    exec(
        &mut conn,
        "INSERT INTO servers (id, name, region, server_type, state, ip, ip_offset, \
             hourly_price_micros, generation, created_at, updated_at, started_at, \
             billed_until) \
         VALUES ('6f1e0c1a-0000-4000-8000-000000000001', 'old-running', 'lab', 't2.micro', \
             'running', '10.0.0.1/32', 0, 11600, 2, '2026-01-01T00:00:00Z', \
             '2026-01-01T00:00:10Z', '2026-01-01T00:00:10Z', '2026-01-01T00:00:10Z'), \
                ('6f1e0c1a-0000-4000-8000-000000000002', 'old-gone', 'lab', 't2.micro', \
             'terminated', NULL, NULL, 11600, 3, '2026-01-01T00:00:01Z', \
             '2026-01-01T00:00:30Z', NULL, NULL)",
    )
    .await;
    exec(
        &mut conn,
        "INSERT INTO events (server_id, at, kind, from_state, to_state, actor, request_id, \
             message) \
         VALUES ('6f1e0c1a-0000-4000-8000-000000000001', '2026-01-01T00:00:00Z', 'created', \
             NULL, 'provisioning', 'api', 'req-old', 'provisioned as t2.micro in lab')",
    )
    .await;

    let store = db.store().await;
    store
        .migrate()
        .await
        .expect("migrating the previous schema");
    store.ping().await.expect("the schema is current");

    let default = store
        .project(ProjectId::DEFAULT)
        .await
        .expect("project")
        .expect("the migration creates default");
    assert_eq!(default.name, "default");
    let running: ServerId = "6f1e0c1a-0000-4000-8000-000000000001"
        .parse()
        .expect("an id");
    let server = store
        .get(running)
        .await
        .expect("get")
        .expect("the old server is still there");
    assert_eq!(
        (server.project, server.name.as_str(), server.state),
        (ProjectId::DEFAULT, "old-running", ServerState::Running)
    );
    assert_eq!(server.ip, Some("10.0.0.1".parse().expect("an address")));
    let in_default = ServerFilter {
        project: Some(ProjectId::DEFAULT),
        ..Default::default()
    };
    let page = PageRequest {
        limit: 10,
        after: None,
        offset: 0,
    };
    let listed = store.list(&in_default, &page).await.expect("list");
    assert_eq!(
        listed.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["old-running", "old-gone"]
    );
    assert!(listed.iter().all(|s| s.project == ProjectId::DEFAULT));
    let events = store.events(running, 10).await.expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].event.request_id.as_deref(), events[0].event.key),
        (Some("req-old"), None)
    );
    assert_eq!(
        store
            .delete_project(ProjectId::DEFAULT)
            .await
            .expect("delete_project"),
        ProjectDeletion::HasLiveServers(1),
        "the migrated servers count as the project's"
    );
    let quotas = store
        .project_quotas(ProjectId::DEFAULT)
        .await
        .expect("project_quotas")
        .expect("default's quotas");
    assert_eq!(
        (quotas.used.servers, quotas.used.vcpus),
        (1, 1),
        "the running t2.micro's vCPU is backfilled from its type; the terminated one holds none"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn events_from_before_the_sequence_are_numbered_in_order_typed_and_in_their_project() {
    let db = TestDb::new().await;
    revert_from(&db.url, "2026-12-05-000000").await;
    let mut conn = support::connect(&db.url).await;
    exec(
        &mut conn,
        "INSERT INTO ip_pools (region, cidr, size, next_offset) \
         VALUES ('lab', '10.0.0.0/24', 254, 1)",
    )
    .await;
    exec(
        &mut conn,
        "INSERT INTO projects (id, name, created_at) \
         VALUES ('6f1e0c1a-0000-4000-8000-0000000000aa', 'team', '2026-01-01T00:00:00Z')",
    )
    .await;
    exec(
        &mut conn,
        "INSERT INTO servers (id, project_id, name, region, server_type, state, ip, ip_offset, \
             hourly_price_micros, generation, created_at, updated_at, vcpus) \
         VALUES ('6f1e0c1a-0000-4000-8000-000000000001', \
             '6f1e0c1a-0000-4000-8000-0000000000aa', 'old', 'lab', 't2.micro', 'terminating', \
             '10.0.0.1/32', 0, 11600, 3, '2026-01-01T00:00:00Z', '2026-01-01T00:00:30Z', 1)",
    )
    .await;
    exec(
        &mut conn,
        "INSERT INTO events (server_id, at, kind, from_state, to_state, actor, message) \
         SELECT '6f1e0c1a-0000-4000-8000-000000000001', '2026-01-01T00:00:00Z', kind, NULL, \
             NULL, actor, kind || ' by ' || actor \
         FROM (VALUES (1, 'created', 'api'), (2, 'transition_completed', 'system'), \
             (3, 'billed', 'system'), (4, 'action_requested', 'api'), \
             (5, 'action_requested', 'reaper')) AS e(n, kind, actor) ORDER BY n",
    )
    .await;

    let store = db.store().await;
    store
        .migrate()
        .await
        .expect("migrating the previous schema");
    let horizon = store.horizon().await.expect("horizon");
    assert_eq!((horizon.latest, horizon.pruned_through), (5, 0));
    let all = EventQuery {
        project: None,
        after: 0,
        server: None,
        types: Vec::new(),
        selector: None,
        limit: 100,
    };
    let events = store.events_after(&all).await.expect("events_after");
    let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in id order: {ids:?}");
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [Some(1), Some(2), Some(3), Some(4), Some(5)]
    );
    assert_eq!(
        events
            .iter()
            .map(|e| e.event.event_type())
            .collect::<Vec<_>>(),
        [
            EventType::ServerProvisioned,
            EventType::ServerStateChanged,
            EventType::ServerBilled,
            EventType::ServerActionRequested,
            EventType::ServerReaped,
        ]
    );
    let team: ProjectId = "6f1e0c1a-0000-4000-8000-0000000000aa"
        .parse()
        .expect("an id");
    assert!(events.iter().all(|e| e.project == team));
    let reaped = EventQuery {
        types: vec![EventType::ServerReaped],
        ..all
    };
    let stored_types = store.events_after(&reaped).await.expect("events_after");
    assert_eq!(
        stored_types.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [Some(5)],
        "the stored type is what the filter reads"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn servers_from_before_labels_have_none_and_selectors_see_them() {
    let db = TestDb::new().await;
    revert_from(&db.url, "2026-12-06-000000").await;
    let mut conn = support::connect(&db.url).await;
    exec(
        &mut conn,
        "INSERT INTO ip_pools (region, cidr, size, next_offset) \
         VALUES ('lab', '10.0.0.0/24', 254, 1)",
    )
    .await;
    exec(
        &mut conn,
        "INSERT INTO servers (id, project_id, name, region, server_type, state, ip, ip_offset, \
             hourly_price_micros, generation, created_at, updated_at, vcpus) \
         VALUES ('6f1e0c1a-0000-4000-8000-000000000002', \
             '00000000-0000-0000-0000-000000000001', 'old', 'lab', 't2.micro', 'running', \
             '10.0.0.1/32', 0, 11600, 3, '2026-01-01T00:00:00Z', '2026-01-01T00:00:30Z', 1)",
    )
    .await;
    let store = db.store().await;
    store
        .migrate()
        .await
        .expect("migrating the previous schema");
    let id: ServerId = "6f1e0c1a-0000-4000-8000-000000000002"
        .parse()
        .expect("an id");
    let server = store.get(id).await.expect("get").expect("the server");
    assert!(server.labels.is_empty());
    let page = PageRequest {
        limit: 10,
        after: None,
        offset: 0,
    };
    for (selector, found) in [("!env", true), ("env", false), ("env!=prod", true)] {
        let filter = ServerFilter {
            selector: Some(Selector::parse(selector).expect("a selector")),
            ..ServerFilter::default()
        };
        let listed = store.list(&filter, &page).await.expect("list");
        assert_eq!(listed.len(), usize::from(found), "{selector}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn events_from_before_event_labels_get_their_server_s_labels_and_selectors_see_them() {
    let db = TestDb::new().await;
    revert_from(&db.url, "2026-12-08-000000").await;
    let mut conn = support::connect(&db.url).await;
    exec(
        &mut conn,
        "INSERT INTO ip_pools (region, cidr, size, next_offset) \
         VALUES ('lab', '10.0.0.0/24', 254, 2)",
    )
    .await;
    exec(
        &mut conn,
        "INSERT INTO servers (id, project_id, name, region, server_type, state, ip, ip_offset, \
             hourly_price_micros, generation, created_at, updated_at, vcpus, labels) \
         VALUES ('6f1e0c1a-0000-4000-8000-000000000003', \
             '00000000-0000-0000-0000-000000000001', 'labelled', 'lab', 't2.micro', \
             'running', '10.0.0.1/32', 0, 11600, 3, '2026-01-01T00:00:00Z', \
             '2026-01-01T00:00:30Z', 1, '{\"env\": \"prod\", \"tier\": \"web\"}'), \
                ('6f1e0c1a-0000-4000-8000-000000000004', \
             '00000000-0000-0000-0000-000000000001', 'bare', 'lab', 't2.micro', \
             'running', '10.0.0.2/32', 1, 11600, 3, '2026-01-01T00:00:01Z', \
             '2026-01-01T00:00:31Z', 1, '{}')",
    )
    .await;
    exec(
        &mut conn,
        "INSERT INTO events (server_id, project_id, at, kind, event_type, from_state, to_state, \
             actor, message, seq) \
         SELECT id, project_id, created_at, 'created', 'server.provisioned', NULL, \
             'provisioning', 'api', 'old', row_number() OVER (ORDER BY created_at) \
         FROM servers",
    )
    .await;
    exec(&mut conn, "UPDATE event_sequence SET latest = 2").await;
    let store = db.store().await;
    store
        .migrate()
        .await
        .expect("migrating the previous schema");
    let query = |selector: Option<&str>| EventQuery {
        project: None,
        after: 0,
        server: None,
        types: Vec::new(),
        selector: selector.map(|text| Selector::parse(text).expect("a selector")),
        limit: 100,
    };
    let events = store
        .events_after(&query(None))
        .await
        .expect("events_after");
    let labels: Vec<Vec<(String, String)>> = events
        .iter()
        .map(|e| {
            e.labels
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .collect();
    assert_eq!(
        labels,
        [
            vec![
                ("env".to_owned(), "prod".to_owned()),
                ("tier".to_owned(), "web".to_owned())
            ],
            vec![],
        ],
        "the labelled server's event gets its labels, the bare one's none"
    );
    for (selector, expected) in [("env=prod", vec![Some(1)]), ("!env", vec![Some(2)])] {
        let selected = store
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

#[tokio::test(flavor = "multi_thread")]
async fn servers_from_before_state_reasons_get_the_reason_of_the_action_that_took_them_out() {
    let db = TestDb::new().await;
    revert_from(&db.url, "2026-12-10-000000").await;
    let mut conn = support::connect(&db.url).await;
    exec(
        &mut conn,
        "INSERT INTO ip_pools (region, cidr, size, next_offset) \
         VALUES ('lab', '10.0.0.0/24', 254, 3)",
    )
    .await;
    exec(
        &mut conn,
        "INSERT INTO servers (id, project_id, name, region, server_type, state, ip, ip_offset, \
             hourly_price_micros, generation, created_at, updated_at, vcpus) \
         VALUES ('6f1e0c1a-0000-4000-8000-000000000005', \
             '00000000-0000-0000-0000-000000000001', 'up', 'lab', 't2.micro', 'running', \
             '10.0.0.1/32', 0, 11600, 2, '2026-01-01T00:00:00Z', '2026-01-01T00:00:30Z', 1), \
                ('6f1e0c1a-0000-4000-8000-000000000006', \
             '00000000-0000-0000-0000-000000000001', 'down', 'lab', 't2.micro', 'stopped', \
             '10.0.0.2/32', 1, 11600, 4, '2026-01-01T00:00:00Z', '2026-01-01T00:00:30Z', 1), \
                ('6f1e0c1a-0000-4000-8000-000000000007', \
             '00000000-0000-0000-0000-000000000001', 'gone', 'lab', 't2.micro', \
             'terminated', NULL, NULL, 11600, 6, '2026-01-01T00:00:00Z', \
             '2026-01-01T00:00:30Z', 1)",
    )
    .await;
    exec(
        &mut conn,
        "INSERT INTO events (server_id, project_id, at, kind, event_type, from_state, to_state, \
             actor, message, seq) \
         VALUES ('6f1e0c1a-0000-4000-8000-000000000006', \
             '00000000-0000-0000-0000-000000000001', '2026-01-01T00:00:10Z', \
             'action_requested', 'server.action_requested', 'running', 'stopping', 'api', \
             'old', 1), \
                ('6f1e0c1a-0000-4000-8000-000000000007', \
             '00000000-0000-0000-0000-000000000001', '2026-01-01T00:00:10Z', \
             'action_requested', 'server.action_requested', 'running', 'stopping', 'api', \
             'old', 2), \
                ('6f1e0c1a-0000-4000-8000-000000000007', \
             '00000000-0000-0000-0000-000000000001', '2026-01-01T00:00:20Z', \
             'action_requested', 'server.reaped', 'stopped', 'terminating', 'reaper', \
             'old', 3)",
    )
    .await;
    exec(&mut conn, "UPDATE event_sequence SET latest = 3").await;
    let store = db.store().await;
    store
        .migrate()
        .await
        .expect("migrating the previous schema");
    let reason = async |id: &str| {
        let id: ServerId = id.parse().expect("an id");
        store
            .get(id)
            .await
            .expect("get")
            .expect("the server")
            .state_reason
    };
    assert_eq!(reason("6f1e0c1a-0000-4000-8000-000000000005").await, None);
    assert_eq!(
        reason("6f1e0c1a-0000-4000-8000-000000000006").await,
        Some(StateReason::UserInitiatedShutdown)
    );
    assert_eq!(
        reason("6f1e0c1a-0000-4000-8000-000000000007").await,
        Some(StateReason::IdleReaped),
        "the newest action out of service, the reaper's"
    );
    let events = store
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
