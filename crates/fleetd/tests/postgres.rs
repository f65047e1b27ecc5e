//! The lifecycle end to end against Postgres, in a database of its own made on the server
//! of `TEST_DATABASE_URL` (which `cargo xtask test` sets; the local server otherwise) and
//! dropped afterwards. fleetd migrates it on start, as in production.

mod common;

use common::TestApp;
use fleetd::Settings;
use fleetd::settings::ClockMode;
use serde_json::json;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_lives_and_is_billed_on_postgres() {
    let name = format!("fleet_e2e_{}", uuid::Uuid::new_v4().simple());
    let admin = admin().await;
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create the test database");

    let app = TestApp::spawn_with(Settings {
        clock: Some(ClockMode::Virtual),
        database_url: Some(url_for(&admin_url(), &name)),
        ..Default::default()
    })
    .await;
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
    // An hour and a bit of running, accrued over many billing periods.
    app.advance(3_700).await;
    assert_eq!(app.act(&id, "terminate").await.status, 202);
    app.advance(3).await;
    let gone = app.server(&id).await;
    assert_eq!(gone["state"], "terminated");
    assert!(gone.get("ip").is_none());
    assert_eq!(app.free_addresses("eu-west-1").await, free_before);
    let billing = app.get(&format!("/servers/{id}/billing")).await;
    let records = billing.body["records"].as_array().expect("records");
    assert!(records.len() > 10, "accrued period by period");
    let seconds: i64 = records.iter().filter_map(|r| r["seconds"].as_i64()).sum();
    assert_eq!(seconds, 3_700);
    assert_eq!(
        billing.body["billing"]["billed"]["micros"],
        3_700 * 96_000 / 3_600
    );
    let metrics = app
        .client()
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("fleet_db_pool_connections "),
        "pool size is exported"
    );
    assert!(metrics.contains("fleet_db_pool_connections_in_use "));
    app.shut_down().await.expect("clean shutdown");

    admin
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .expect("drop the test database");
}
