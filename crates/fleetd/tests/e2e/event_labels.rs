//! Labels on events end to end: each event shows its server's labels as they were when it
//! happened, and `label_selector` selects the same events from a live stream (the fan-out's
//! memory), from `GET /events`, and from a second fleetd whose fan-out opened after them (so
//! its pages and its resumed stream come from the store's SQL), on SQLite and Postgres.

use std::time::Duration;

use fleetd::Settings;
use fleetd::settings::ClockMode;
use serde_json::{Value, json};

use crate::common::TestApp;
use crate::common::pg::TempDatabase;
use crate::common::sse::{Stream, until_listed};

const LONG: Duration = Duration::from_secs(10);

async fn provision(app: &TestApp, name: &str, labels: Value) -> String {
    let body = json!({"region": "us-east-1", "type": "t2.micro", "name": name, "labels": labels});
    let reply = app.post("/servers", body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body["id"].as_str().expect("id").to_owned()
}

async fn relabel(app: &TestApp, id: &str, labels: Value) {
    let path = format!("/servers/{id}");
    let request = app
        .client()
        .patch(app.url(&path))
        .header("content-type", "application/merge-patch+json")
        .body(json!({ "labels": labels }).to_string());
    let reply = app.send(request, "patch", &path).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

/// Every event `GET /events?label_selector=…` lists, following `next_after`.
async fn listed(app: &TestApp, selector: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let reply = app
            .get(&format!(
                "/events?after={after}&limit=100&label_selector={selector}"
            ))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let items = reply.body["items"].as_array().cloned().expect("items");
        let done = items.len() < 100;
        all.extend(items);
        after = reply.body["next_after"].as_i64().expect("next_after");
        if done {
            return all;
        }
    }
}

/// Reads exactly `expected` from `stream`, in order.
async fn streams(stream: &mut Stream, expected: &[Value], what: &str) {
    for event in expected {
        let message = stream.next(LONG).await.expect(what);
        assert_eq!(message.data, *event, "{what}");
    }
}

async fn events_are_selected_by_the_labels_their_server_had(database_url: String) {
    let settings = || Settings {
        clock: Some(ClockMode::Virtual),
        database_url: Some(database_url.clone()),
        ..Default::default()
    };
    let app = TestApp::spawn_with(settings()).await;
    let mut live = Stream::open(&app.base, "?label_selector=env%3Dprod", None).await;
    let a = provision(&app, "a", json!({"env": "prod", "tier": "web"})).await;
    let b = provision(&app, "b", json!({"env": "dev"})).await;
    app.advance(30).await;
    relabel(&app, &a, json!({"env": "dev"})).await;
    relabel(&app, &b, json!({"env": "prod"})).await;
    for id in [&a, &b] {
        assert_eq!(app.act(id, "stop").await.status, 202);
    }
    app.advance(30).await;

    let all = until_listed(&app.base, 0, |e| {
        e["server_id"] == b.as_str() && e["to_state"] == "stopped"
    })
    .await;
    let of_a: Vec<&Value> = all
        .iter()
        .filter(|e| e["server_id"] == a.as_str())
        .collect();
    assert_eq!(of_a[0]["labels"], json!({"env": "prod", "tier": "web"}));
    assert_eq!(
        of_a.last().expect("a's events")["labels"],
        json!({"env": "dev", "tier": "web"}),
        "the merge patch kept `tier`"
    );
    let prod: Vec<Value> = all
        .iter()
        .filter(|e| e["labels"]["env"] == "prod")
        .cloned()
        .collect();
    let not_prod: Vec<Value> = all
        .iter()
        .filter(|e| e["labels"]["env"] != "prod")
        .cloned()
        .collect();
    assert!(prod.len() >= 4 && not_prod.len() >= 4, "{all:?}");
    streams(&mut live, &prod, "the live stream").await;
    assert_eq!(listed(&app, "env%3Dprod").await, prod, "listed from memory");

    let other = TestApp::spawn_with(settings()).await;
    assert_eq!(listed(&other, "env%3Dprod").await, prod, "listed by SQL");
    assert_eq!(listed(&other, "env!%3Dprod").await, not_prod, "a negation");
    let mut resumed = Stream::open(&other.base, "?label_selector=env%3Dprod", Some(0)).await;
    streams(&mut resumed, &prod, "a stream resumed from the store").await;
    let logs = app.events(&a).await;
    assert_eq!(
        logs.last().expect("a's first event")["labels"],
        json!({"env": "prod", "tier": "web"}),
        "the server's log shows the labels too"
    );
    drop((live, resumed));
    other.shut_down().await.expect("clean shutdown");
    app.shut_down().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_selected_by_the_labels_their_server_had_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("fleet.db").display());
    events_are_selected_by_the_labels_their_server_had(url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_selected_by_the_labels_their_server_had_on_postgres() {
    let database = TempDatabase::create().await;
    events_are_selected_by_the_labels_their_server_had(database.url.clone()).await;
}
