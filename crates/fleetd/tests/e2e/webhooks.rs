//! Webhooks end to end: signed deliveries of every event to a receiver in the test, the
//! retry schedule on the virtual clock, 410 Gone, secret rotation, refused URLs, tenancy,
//! and a receiver that hangs without stalling the others.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use fleetd::settings::{ClockMode, Settings};
use serde_json::{Value, json};

use crate::common::pg::TempDatabase;
use crate::common::receiver::{Receiver, Script};
use crate::common::{TestApp, time};

const PATIENCE: Duration = Duration::from_secs(30);

/// Creates a webhook for `body`; its id and secret.
async fn subscribe(app: &TestApp, body: Value) -> (String, String) {
    let reply = app.post("/webhooks", body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let id = reply.body["webhook"]["id"].as_str().expect("id").to_owned();
    assert_eq!(
        reply.header("location"),
        Some(format!("/webhooks/{id}").as_str())
    );
    let secret = reply.body["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (id, secret)
}

async fn deliveries(app: &TestApp, webhook: &str) -> Vec<Value> {
    let reply = app
        .get(&format!("/webhooks/{webhook}/deliveries?limit=100"))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["items"].as_array().expect("items").clone()
}

/// Waits until the webhook's one delivery has made `attempts` attempts; returns it.
async fn after_attempts(app: &TestApp, webhook: &str, attempts: u64) -> Value {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let found = deliveries(app, webhook).await;
        if let Some(delivery) = found.first()
            && delivery["attempts"].as_u64() >= Some(attempts)
        {
            return delivery.clone();
        }
        assert!(std::time::Instant::now() < deadline, "{found:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every event of the project after `after`, oldest first.
async fn events_after(app: &TestApp, after: i64) -> Vec<Value> {
    let reply = app.get(&format!("/events?after={after}&limit=100")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["items"].as_array().expect("items").clone()
}

async fn every_event_arrives_signed(app: TestApp) {
    let receiver = Receiver::start(Script::Always(204)).await;
    let start = app.get("/events?limit=1").await.body["next_after"]
        .as_i64()
        .unwrap_or(0);
    let (webhook, secret) = subscribe(&app, json!({ "url": receiver.url })).await;
    let read = app.get(&format!("/webhooks/{webhook}")).await;
    assert_eq!(read.status, 200);
    assert!(
        read.body.get("secret").is_none(),
        "a read never shows the secret"
    );
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            app.provision(&format!("hooked-{n}")).await["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    app.advance(60).await;
    assert_eq!(app.act(&ids[0], "stop").await.status, 202);
    app.advance(60).await;
    let events = events_after(&app, start).await;
    let wanted: BTreeSet<i64> = events.iter().filter_map(|e| e["seq"].as_i64()).collect();
    assert!(wanted.len() >= 9, "{events:?}");
    let received = receiver
        .until(PATIENCE, |got| {
            let seqs: BTreeSet<i64> = got
                .iter()
                .filter_map(|r| r.json["data"]["seq"].as_i64())
                .collect();
            wanted.is_subset(&seqs)
        })
        .await;
    let wall = Utc::now().timestamp();
    for delivery in &received {
        assert!(delivery.signed_by(&secret), "{delivery:?}");
        assert!(
            (delivery.timestamp - wall).abs() < 300,
            "a wall-clock timestamp"
        );
        let event = events
            .iter()
            .find(|e| e["seq"] == delivery.json["data"]["seq"])
            .expect("the event delivered");
        assert_eq!(delivery.json["type"], event["type"]);
        assert_eq!(delivery.json["data"], *event);
        assert_eq!(time(&delivery.json["timestamp"]), time(&event["at"]));
    }
    let log = deliveries(&app, &webhook).await;
    assert_eq!(log.len(), received.len());
    for delivery in &log {
        assert_eq!(delivery["status"], "succeeded", "{delivery}");
        assert_eq!(delivery["attempts"], 1);
        assert_eq!(delivery["last_response_status"], 204);
        assert!(received.iter().any(|r| r.id == delivery["message_id"]));
    }
    receiver.stop().await;
    app.shut_down().await.expect("shut down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_arrives_signed_on_sqlite() {
    every_event_arrives_signed(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_arrives_signed_on_postgres() {
    let database = TempDatabase::create().await;
    every_event_arrives_signed(TestApp::spawn_on(&database).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_gets_the_message_again_at_the_scheduled_virtual_times() {
    let app = TestApp::spawn_with(Settings {
        clock: Some(ClockMode::Virtual),
        webhook_retry_jitter: Some(0.0),
        ..Default::default()
    })
    .await;
    let receiver = Receiver::start(Script::FailFirst(3)).await;
    let (webhook, _) = subscribe(&app, json!({ "url": receiver.url })).await;
    let queued = app
        .post(&format!("/webhooks/{webhook}/test"), json!({}))
        .await;
    assert_eq!(queued.status, 202, "{}", queued.text);
    let created = time(&queued.body["created_at"]);
    let mut due = created;
    for (attempt, wait) in [(1, 5), (2, 300), (3, 1_800)] {
        let delivery = after_attempts(&app, &webhook, attempt).await;
        assert_eq!(delivery["status"], "pending", "{delivery}");
        assert_eq!(delivery["last_response_status"], 500);
        assert_eq!(time(&delivery["last_attempt_at"]), due, "attempt {attempt}");
        due += TimeDelta::seconds(wait);
        assert_eq!(
            time(&delivery["next_attempt_at"]),
            due,
            "after attempt {attempt}"
        );
        app.advance(wait).await;
    }
    let delivered = after_attempts(&app, &webhook, 4).await;
    assert_eq!(delivered["status"], "succeeded", "{delivered}");
    assert_eq!(
        time(&delivered["last_attempt_at"]),
        created + TimeDelta::seconds(2_105)
    );
    let received = receiver.received();
    assert_eq!(received.len(), 4);
    assert!(
        received
            .iter()
            .all(|r| r.id == received[0].id && r.body == received[0].body)
    );
    assert_eq!(received[0].json["type"], "webhook.test");
    receiver.stop().await;
    app.shut_down().await.expect("shut down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_disables_the_webhook_and_says_why() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(Script::Always(410)).await;
    let (webhook, _) = subscribe(&app, json!({ "url": receiver.url })).await;
    app.post(&format!("/webhooks/{webhook}/test"), json!({}))
        .await;
    let delivery = after_attempts(&app, &webhook, 1).await;
    assert_eq!(delivery["status"], "failed", "{delivery}");
    let read = app.get(&format!("/webhooks/{webhook}")).await.body;
    assert_eq!(read["enabled"], false, "{read}");
    assert!(
        read["disabled_reason"]
            .as_str()
            .unwrap_or("")
            .contains("410"),
        "{read}"
    );
    app.provision("after-gone").await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        receiver.received().len(),
        1,
        "nothing more goes to a disabled webhook"
    );
    assert_eq!(deliveries(&app, &webhook).await.len(), 1);
    receiver.stop().await;
    app.shut_down().await.expect("shut down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_signs_beside_the_new_one() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(Script::Always(200)).await;
    let (webhook, old) = subscribe(
        &app,
        json!({ "url": receiver.url, "event_types": ["server.provisioned"] }),
    )
    .await;
    let rotated = app
        .post(&format!("/webhooks/{webhook}/rotate-secret"), json!({}))
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    assert_eq!(rotated.header("cache-control"), Some("no-store"));
    let new = rotated.body["secret"].as_str().expect("secret").to_owned();
    assert_ne!(new, old);
    assert!(rotated.body["webhook"]["previous_secret_expires_at"].is_string());
    app.provision("rotated").await;
    let received = receiver.until(PATIENCE, |got| !got.is_empty()).await;
    assert_eq!(received[0].json["type"], "server.provisioned");
    assert!(received[0].signed_by(&new) && received[0].signed_by(&old));
    assert_eq!(received[0].signature.split(' ').count(), 2);
    receiver.stop().await;
    app.shut_down().await.expect("shut down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_urls_and_filters_are_refused_naming_the_reason() {
    let app = TestApp::spawn().await;
    let long = format!("https://example.com/{}", "a".repeat(2_048));
    for (url, reason) in [
        ("ftp://example.com/hook", "scheme"),
        ("https://user:pw@example.com/hook", "credentials"),
        ("http://169.254.169.254/latest/meta-data", "metadata"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("http://224.0.0.1/hook", "multicast"),
        ("not a url", "valid"),
        (long.as_str(), "characters long"),
    ] {
        let reply = app.post("/webhooks", json!({ "url": url })).await;
        let problem = reply.assert_problem(422, "invalid-webhook-url");
        assert!(
            problem["detail"].as_str().unwrap_or("").contains(reason),
            "{url}: {problem}"
        );
    }
    let reply = app
        .post(
            "/webhooks",
            json!({ "url": "http://127.0.0.1:9/", "label_selector": "env in (" }),
        )
        .await;
    reply.assert_problem(400, "invalid-label-selector");
    let reply = app
        .post(
            "/webhooks",
            json!({ "url": "http://127.0.0.1:9/", "event_types": ["server.exploded"] }),
        )
        .await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    let listed = app.get("/webhooks").await;
    assert_eq!(listed.body["items"], json!([]), "nothing was made");
    app.shut_down().await.expect("shut down");

    let closed = TestApp::spawn_with(Settings {
        clock: Some(ClockMode::Virtual),
        webhook_allow_private: Some(false),
        ..Default::default()
    })
    .await;
    let reply = closed
        .post("/webhooks", json!({ "url": "http://127.0.0.1:8080/hook" }))
        .await;
    let problem = reply.assert_problem(422, "invalid-webhook-url");
    assert!(
        problem["detail"].as_str().unwrap_or("").contains("private"),
        "{problem}"
    );
    closed.shut_down().await.expect("shut down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_projects_webhooks_are_not_found() {
    let (_dir, url) = crate::tenancy::sqlite();
    let (app, admin) = crate::tenancy::keys_app(url).await;
    let admin = app.as_key(&admin);
    let reply = admin
        .post("/webhooks", json!({ "url": "http://127.0.0.1:9/hook" }))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let webhook = reply.body["webhook"]["id"].as_str().expect("id").to_owned();
    let project = admin.create_project("webhook-tenant").await;
    let (_, member) = admin.create_key(&project, "member").await;
    let other = app.as_key(&member);
    other
        .get(&format!("/webhooks/{webhook}"))
        .await
        .assert_problem(404, "not-found");
    other
        .post(&format!("/webhooks/{webhook}/test"), json!({}))
        .await
        .assert_problem(404, "not-found");
    assert_eq!(other.get("/webhooks").await.body["items"], json!([]));
    let (_, viewer) = admin.create_key(&project, "viewer").await;
    app.as_key(&viewer)
        .post("/webhooks", json!({ "url": "http://127.0.0.1:9/hook" }))
        .await
        .assert_problem(403, "forbidden");
    app.shut_down().await.expect("shut down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_hangs_does_not_stall_the_others() {
    let app = TestApp::spawn_with(Settings {
        clock: Some(ClockMode::Virtual),
        webhook_timeout_ms: Some(2_000),
        ..Default::default()
    })
    .await;
    let hanging = Receiver::start(Script::Slowly(Duration::from_secs(30))).await;
    let healthy = Receiver::start(Script::Always(204)).await;
    let (stuck, _) = subscribe(&app, json!({ "url": hanging.url })).await;
    let (fine, _) = subscribe(&app, json!({ "url": healthy.url })).await;
    for _ in 0..10 {
        app.post(&format!("/webhooks/{stuck}/test"), json!({}))
            .await;
    }
    let started = std::time::Instant::now();
    app.post(&format!("/webhooks/{fine}/test"), json!({})).await;
    healthy
        .until(Duration::from_secs(5), |got| got.len() == 1)
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let timed_out = after_attempts(&app, &stuck, 1).await;
    assert!(
        timed_out["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("no answer within"),
        "{timed_out}"
    );
    hanging.stop().await;
    healthy.stop().await;
    app.shut_down().await.expect("shut down");
}
