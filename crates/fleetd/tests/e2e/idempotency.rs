//! `Idempotency-Key` end to end: two fleetd processes on one Postgres database racing one
//! key create one server; on SQLite a retried provisioning, update and action are answered
//! again without being done again, and a key is forgotten after its retention on the
//! virtual clock.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::pg::TempDatabase;
use crate::common::process::Fleetd;
use crate::common::{Reply, TestApp};

/// The request with an `Idempotency-Key`, sent to `app` and checked against the spec.
async fn keyed(app: &TestApp, method: Method, path: &str, key: &str, body: Value) -> Reply {
    let name = method.as_str().to_lowercase();
    let request = app
        .client()
        .request(method, app.url(path))
        .header("Idempotency-Key", key)
        .json(&body);
    app.send(request, &name, path).await
}

fn replayed(reply: &Reply) -> bool {
    reply.header("idempotent-replayed") == Some("true")
}

/// `POST /servers` with `key` to a process: (status, replayed, body).
async fn provision_on(fleetd: &Fleetd, key: &str, body: &Value) -> (u16, bool, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/servers", fleetd.base))
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    (
        status,
        replayed,
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_racing_one_key_create_one_server_and_another_request_is_refused() {
    let database = TempDatabase::create().await;
    let replicas = [
        Fleetd::start(&database.url, &[]),
        Fleetd::start(&database.url, &[]),
    ];
    for round in 0..8 {
        let key = format!("race-{round}");
        let body = json!({"region": "us-east-1", "type": "t2.micro", "name": key});
        let (first, second) = tokio::join!(
            provision_on(&replicas[0], &key, &body),
            provision_on(&replicas[1], &key, &body),
        );
        let mut answers = [first, second];
        answers.sort_by_key(|(status, replayed, _)| (*status, *replayed));
        let [
            (created, was_replayed, server),
            (other, other_replayed, retry),
        ] = answers;
        assert_eq!((created, was_replayed), (201, false), "{server}");
        match (other, other_replayed) {
            (201, true) => assert_eq!(retry, server, "the first answer, again"),
            (409, false) => {
                assert_eq!(retry["type"], "urn:fleet:problem:idempotency-key-in-flight")
            }
            unexpected => panic!("{key}: the second request got {unexpected:?}: {retry}"),
        }
        let servers = replicas[round % 2].get("/servers?limit=100").await;
        let named: Vec<&Value> = servers["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|s| s["name"] == key.as_str())
            .collect();
        assert_eq!(named.len(), 1, "{key}: one server: {named:?}");
        assert_eq!(named[0]["id"], server["id"]);

        let elsewhere = json!({"region": "us-west-2", "type": "t2.micro", "name": key});
        let (status, _, problem) = provision_on(&replicas[(round + 1) % 2], &key, &elsewhere).await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["type"], "urn:fleet:problem:idempotency-key-reused");
        let (status, was_replayed, again) = provision_on(&replicas[round % 2], &key, &body).await;
        assert_eq!((status, was_replayed), (201, true), "{again}");
        assert_eq!(again["id"], server["id"]);
    }
}

#[tokio::test]
async fn a_retried_provisioning_is_answered_again_without_a_second_server() {
    let app = TestApp::spawn().await;
    let body = json!({"region": "us-east-1", "type": "t2.micro", "name": "once", "labels": {"env": "prod"}});
    let first = keyed(&app, Method::POST, "/servers", "create-once", body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert!(!replayed(&first));
    let quoted = "\"create-once\"";
    let again = keyed(&app, Method::POST, "/server", quoted, body).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert!(
        replayed(&again),
        "the alias and the quoted key name the same request"
    );
    assert_eq!(again.text, first.text, "the same body");
    assert_eq!(again.header("location"), first.header("location"));
    let named: Vec<Value> = app
        .all_servers()
        .await
        .into_iter()
        .filter(|s| s["name"] == "once")
        .collect();
    assert_eq!(named.len(), 1, "{named:?}");

    let malformed = keyed(
        &app,
        Method::POST,
        "/servers",
        "has space",
        json!({"region": "us-east-1", "type": "t2.micro"}),
    )
    .await;
    malformed.assert_problem(400, "invalid-idempotency-key");
}

#[tokio::test]
async fn a_retried_update_is_answered_again_and_changes_nothing_twice() {
    let app = TestApp::spawn().await;
    let id = app.provision("before").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = format!("/servers/{id}");
    let rename = json!({"name": "first"});
    let first = keyed(&app, Method::PATCH, &path, "rename-1", rename.clone()).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["name"], "first");
    let later = app
        .send(
            app.client()
                .patch(app.url(&path))
                .json(&json!({"name": "second"})),
            "patch",
            &path,
        )
        .await;
    assert_eq!(later.status, 200, "{}", later.text);

    let again = keyed(&app, Method::PATCH, &path, "rename-1", rename).await;
    assert_eq!(again.status, 200);
    assert!(replayed(&again));
    assert_eq!(again.text, first.text, "the first answer");
    assert_eq!(app.server(&id).await["name"], "second", "not renamed back");
    let updates = app
        .events(&id)
        .await
        .into_iter()
        .filter(|e| e["type"] == "updated")
        .count();
    assert_eq!(updates, 2, "one event per update that ran");
}

#[tokio::test]
async fn a_retried_action_is_answered_again_and_acts_once() {
    let app = TestApp::spawn().await;
    let id = app.provision("stopped-once").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.advance(60).await;
    let path = format!("/servers/{id}/action");
    let stop = json!({"action": "stop"});
    let first = keyed(&app, Method::POST, &path, "stop-1", stop.clone()).await;
    assert_eq!(first.status, 202, "{}", first.text);
    app.advance(60).await;
    assert_eq!(app.server(&id).await["state"], "stopped");

    let again = keyed(&app, Method::POST, &path, "stop-1", stop).await;
    assert_eq!(again.status, 202, "the first answer, not a no-op");
    assert!(replayed(&again));
    assert_eq!(again.text, first.text);
    let actions = app.get(&format!("/servers/{id}/actions")).await;
    let stops = actions.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|a| a["command"] == "stop")
        .count();
    assert_eq!(stops, 1, "{}", actions.text);
}

#[tokio::test]
async fn a_retried_bulk_action_is_answered_again_and_reboots_once() {
    let app = TestApp::spawn().await;
    let body = json!({"region": "us-east-1", "type": "t2.micro", "labels": {"tier": "web"}});
    for _ in 0..2 {
        assert_eq!(app.post("/servers", body.clone()).await.status, 201);
    }
    app.advance(60).await;
    let reboot = json!({"label_selector": "tier=web", "action": "reboot"});
    let first = keyed(
        &app,
        Method::POST,
        "/servers/actions",
        "reboot-web",
        reboot.clone(),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["counts"]["accepted"], 2, "{}", first.text);
    app.advance(60).await;

    let again = keyed(&app, Method::POST, "/servers/actions", "reboot-web", reboot).await;
    assert!(replayed(&again));
    assert_eq!(again.text, first.text, "the first report");
    for server in app.all_servers().await {
        let id = server["id"].as_str().expect("id");
        let actions = app.get(&format!("/servers/{id}/actions")).await;
        let reboots = actions.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|a| a["command"] == "reboot")
            .count();
        assert_eq!(reboots, 1, "rebooted once: {}", actions.text);
    }
}

#[tokio::test]
async fn a_key_is_forgotten_after_its_retention_on_the_virtual_clock() {
    let app = TestApp::spawn().await;
    let body = json!({"region": "us-east-1", "type": "t2.micro", "name": "daily"});
    let first = keyed(&app, Method::POST, "/servers", "daily", body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    app.advance(24 * 3_600 - 1).await;
    let kept = keyed(&app, Method::POST, "/servers", "daily", body.clone()).await;
    assert!(replayed(&kept), "kept for 24 virtual hours");
    assert_eq!(kept.body["id"], first.body["id"]);

    app.advance(2).await;
    let anew = keyed(&app, Method::POST, "/servers", "daily", body).await;
    assert_eq!(anew.status, 201, "{}", anew.text);
    assert!(!replayed(&anew), "forgotten: the request ran anew");
    assert_ne!(anew.body["id"], first.body["id"]);
}
