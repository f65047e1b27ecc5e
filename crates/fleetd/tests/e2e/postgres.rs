//! The lifecycle end to end against Postgres, in a database of its own made on the server
//! of `TEST_DATABASE_URL` (which `cargo xtask test` sets; the local server otherwise) and
//! dropped afterwards. fleetd migrates it on start, as in production.

use serde_json::json;

use crate::common::TestApp;
use crate::common::pg::TempDatabase;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_lives_and_is_billed_on_postgres() {
    let database = TempDatabase::create().await;

    let app = TestApp::spawn_on(&database).await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    let free_before = app.free_addresses("eu-west-1").await;
    let created = app
        .post(
            "/servers",
            json!({"region": "eu-west-1", "type": "m5.large"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().expect("id").to_owned();
    app.advance(5).await;
    assert_eq!(app.server(&id).await["state"], "running");
    // An hour and a bit of running, which crosses a clock hour: accrued up to it, then
    // closed.
    app.advance(3_700).await;
    assert_eq!(app.act(&id, "terminate").await.status, 202);
    app.advance(3).await;
    let gone = app.server(&id).await;
    assert_eq!(gone["state"], "terminated");
    assert!(gone.get("ip").is_none());
    assert_eq!(app.free_addresses("eu-west-1").await, free_before);
    let billing = app.get(&format!("/servers/{id}/billing")).await;
    let records = billing.body["records"].as_array().expect("records");
    assert!(
        (2..=3).contains(&records.len()),
        "an hourly record per clock hour: {records:?}"
    );
    for pair in records.windows(2) {
        assert_eq!(
            pair[0]["period_end"], pair[1]["period_start"],
            "no gap and no overlap between records"
        );
    }
    let seconds: i64 = records.iter().filter_map(|r| r["seconds"].as_i64()).sum();
    assert_eq!(seconds, 3_700);
    assert_eq!(
        billing.body["billing"]["billed"]["micros"],
        3_700 * 96_000 / 3_600
    );
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("fleet_db_pool_connections "),
        "pool size is exported"
    );
    assert!(metrics.contains("fleet_db_pool_connections_in_use "));
    app.shut_down().await.expect("clean shutdown");
}

/// `/readyz` says why in a few words; the detail, with the database's name, host and port,
/// goes to the log only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_gives_a_short_reason_and_logs_the_detail() {
    let database = TempDatabase::create().await;
    let name = database
        .url
        .rsplit('/')
        .next()
        .expect("a database name")
        .to_owned();
    let app = TestApp::spawn_on(&database).await;
    assert_eq!(app.get("/readyz").await.status, 200);
    let logged = |reason: &str| {
        app.logs.lock().expect("logs").iter().any(|line| {
            line.contains("request failed") && line.contains(&format!("cause={reason}: "))
        })
    };

    database
        .client()
        .await
        .batch_execute(
            "DELETE FROM __diesel_schema_migrations \
             WHERE version = (SELECT max(version) FROM __diesel_schema_migrations)",
        )
        .await
        .expect("forget the last migration");
    let behind = app.get("/readyz").await;
    let problem = behind.assert_problem(503, "not-ready");
    assert_eq!(problem["detail"], "not ready: migrations pending");
    assert!(logged("migrations pending"), "the detail is logged");

    database
        .client()
        .await
        .batch_execute("INSERT INTO __diesel_schema_migrations (version) VALUES ('99991231000000')")
        .await
        .expect("a migration from the future");
    let ahead = app.get("/readyz").await;
    let problem = ahead.assert_problem(503, "not-ready");
    assert_eq!(
        problem["detail"],
        "not ready: database schema newer than this service"
    );
    assert!(!ahead.text.contains("9999"), "{}", ahead.text);

    // The database goes away under the running app.
    drop(database);
    let gone = app.get("/readyz").await;
    let problem = gone.assert_problem(503, "not-ready");
    assert_eq!(problem["detail"], "not ready: database unreachable");
    assert!(!gone.text.contains(&name), "{}", gone.text);
    assert!(!gone.text.contains("127.0.0.1"), "{}", gone.text);
    assert!(logged("database unreachable"), "the detail is logged");
    app.shut_down().await.expect("clean shutdown");
}
