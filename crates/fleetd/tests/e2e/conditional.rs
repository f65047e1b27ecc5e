//! Conditional requests end to end, on SQLite and on Postgres: every response with a
//! server carries its `ETag`; `If-None-Match` gives a 304 until the server changes;
//! `If-Match` makes an action or an update apply only to the version the client read,
//! and a stale one is a 412 that changes nothing.

use reqwest::header::{IF_MATCH, IF_NONE_MATCH};
use serde_json::{Value, json};

use crate::common::pg::TempDatabase;
use crate::common::{Reply, TestApp};

/// A running server's id.
async fn running(app: &TestApp, name: &str) -> String {
    let id = app.provision(name).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.advance(60).await;
    assert_eq!(app.server(&id).await["state"], "running");
    id
}

fn etag(reply: &Reply) -> String {
    reply
        .header("etag")
        .unwrap_or_else(|| panic!("an ETag on {} {}", reply.status, reply.text))
        .to_owned()
}

async fn get_if_none_match(app: &TestApp, id: &str, tags: &str) -> Reply {
    let path = format!("/servers/{id}");
    let request = app.client().get(app.url(&path)).header(IF_NONE_MATCH, tags);
    app.send(request, "get", &path).await
}

async fn act_if_match(app: &TestApp, id: &str, action: &str, tags: &str) -> Reply {
    let path = format!("/servers/{id}/action");
    let request = app
        .client()
        .post(app.url(&path))
        .header(IF_MATCH, tags)
        .json(&json!({ "action": action }));
    app.send(request, "post", &path).await
}

async fn patch_if_match(app: &TestApp, id: &str, patch: Value, tags: &str) -> Reply {
    let path = format!("/servers/{id}");
    let request = app
        .client()
        .patch(app.url(&path))
        .header(IF_MATCH, tags)
        .json(&patch);
    app.send(request, "patch", &path).await
}

/// What a client can see of a server: it with its `ETag`, its events and its actions.
async fn observed(app: &TestApp, id: &str) -> (Value, String, Vec<Value>, Value) {
    let read = app.get(&format!("/servers/{id}")).await;
    assert_eq!(read.status, 200, "{}", read.text);
    let actions = app.get(&format!("/servers/{id}/actions")).await;
    assert_eq!(actions.status, 200, "{}", actions.text);
    let tag = etag(&read);
    (read.body, tag, app.events(id).await, actions.body)
}

async fn a_stale_if_match_is_412_and_changes_nothing(app: TestApp) {
    let id = running(&app, "web-1").await;
    let read = app.get(&format!("/servers/{id}")).await;
    let first = etag(&read);

    let renamed = patch_if_match(&app, &id, json!({ "name": "web-2" }), &first).await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.body["name"], "web-2");
    let second = etag(&renamed);
    assert_ne!(second, first, "the rename moved the server on");

    let before = observed(&app, &id).await;
    assert_eq!(before.1, second, "a read shows the update's ETag");
    let stale = act_if_match(&app, &id, "stop", &first).await;
    let problem = stale.assert_problem(412, "precondition-failed");
    assert_eq!(problem["etag"], second, "names the current ETag");
    let stale_patch = patch_if_match(&app, &id, json!({ "name": "web-3" }), &first).await;
    stale_patch.assert_problem(412, "precondition-failed");
    let weak = act_if_match(&app, &id, "stop", &format!("W/{second}")).await;
    weak.assert_problem(412, "precondition-failed");
    assert_eq!(
        observed(&app, &id).await,
        before,
        "server, generation, events and actions unchanged"
    );

    let stopped = act_if_match(&app, &id, "stop", &format!("\"0\", {second}")).await;
    assert_eq!(stopped.status, 202, "{}", stopped.text);
    assert_eq!(stopped.body["state"], "stopping");
    let third = etag(&stopped);
    assert_ne!(third, second);
    assert_eq!(observed(&app, &id).await.1, third);
    let again = act_if_match(&app, &id, "stop", "*").await;
    assert_eq!(again.status, 200, "`*` matches any server: {}", again.text);
    assert_eq!(etag(&again), third, "a no-op changes nothing");
    app.shut_down().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_stale_if_match_on_an_action_is_412_and_changes_nothing() {
    a_stale_if_match_is_412_and_changes_nothing(TestApp::spawn().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_if_match_on_an_action_is_412_and_changes_nothing_on_postgres() {
    let database = TempDatabase::create().await;
    a_stale_if_match_is_412_and_changes_nothing(TestApp::spawn_on(&database).await).await;
}

#[tokio::test]
async fn if_none_match_is_304_until_the_server_changes() {
    let app = TestApp::spawn().await;
    let created = app
        .post(
            "/servers",
            json!({"region": "us-east-1", "type": "t2.micro"}),
        )
        .await;
    let id = created.body["id"].as_str().expect("id").to_owned();
    let provisioned = etag(&created);
    assert_eq!(observed(&app, &id).await.1, provisioned);
    app.advance(60).await;

    let read = app.get(&format!("/servers/{id}")).await;
    let current = etag(&read);
    assert_ne!(current, provisioned, "reaching running moved it on");
    for tags in [
        current.clone(),
        format!("W/{current}"),
        format!("\"other\", {current}"),
        "*".to_owned(),
    ] {
        let cached = get_if_none_match(&app, &id, &tags).await;
        assert_eq!(cached.status, 304, "{tags}: {}", cached.text);
        assert_eq!(etag(&cached), current);
        assert!(cached.text.is_empty());
    }
    let other = get_if_none_match(&app, &id, &provisioned).await;
    assert_eq!(other.status, 200, "an older copy is not current");

    let stopped = app.act(&id, "stop").await;
    assert_eq!(stopped.status, 202, "{}", stopped.text);
    let changed = get_if_none_match(&app, &id, &current).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["state"], "stopping");
    assert_eq!(etag(&changed), etag(&stopped), "the action's ETag");
    app.advance(60).await;
    let completed = get_if_none_match(&app, &id, &etag(&stopped)).await;
    assert_eq!(
        completed.status, 200,
        "the worker's completion is a change too"
    );
    assert_eq!(completed.body["state"], "stopped");
    app.shut_down().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_patch_with_a_matching_if_match_succeeds() {
    let app = TestApp::spawn().await;
    let id = running(&app, "api-1").await;
    let (_, current, _, _) = observed(&app, &id).await;
    let labelled = patch_if_match(&app, &id, json!({ "labels": { "env": "dev" } }), &current).await;
    assert_eq!(labelled.status, 200, "{}", labelled.text);
    assert_eq!(labelled.body["labels"], json!({ "env": "dev" }));
    assert_eq!(observed(&app, &id).await.1, etag(&labelled));
    app.shut_down().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_malformed_condition_is_a_400_that_changes_nothing() {
    let app = TestApp::spawn().await;
    let id = running(&app, "db-1").await;
    let before = observed(&app, &id).await;
    let current = &before.1;
    for tags in [
        "7",
        &current.replace('"', ""),
        "\"7",
        "* , \"7\"",
        "w/\"7\"",
    ] {
        let refused = act_if_match(&app, &id, "stop", tags).await;
        let problem = refused.assert_problem(400, "invalid-precondition");
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("if-match")),
            "{problem}"
        );
        let refused = patch_if_match(&app, &id, json!({ "name": "x" }), tags).await;
        refused.assert_problem(400, "invalid-precondition");
        let refused = get_if_none_match(&app, &id, tags).await;
        refused.assert_problem(400, "invalid-precondition");
    }
    assert_eq!(observed(&app, &id).await, before);
    app.shut_down().await.expect("clean shutdown");
}
