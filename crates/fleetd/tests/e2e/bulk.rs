//! Bulk actions end to end: a selector over servers in mixed states gives each its own
//! outcome and leaves each where a single action would; more matches than the cap is a
//! 422 that changes nothing; a request that could act on everything, or names what does
//! not exist, is refused; another project's servers are never touched.

use futures::future::join_all;
use serde_json::{Value, json};

use crate::common::{Reply, TestApp};
use crate::tenancy::{keys_app, sqlite};

const CAP: usize = 1_000;

/// Provisions a t2.micro in us-east-1 with these labels; returns its id.
async fn labelled(app: &TestApp, name: &str, labels: Value) -> String {
    let reply = app
        .post(
            "/servers",
            json!({"region": "us-east-1", "type": "t2.micro", "name": name, "labels": labels}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body["id"].as_str().expect("id").to_owned()
}

async fn bulk(app: &TestApp, body: Value) -> Reply {
    app.post("/servers/actions", body).await
}

async fn state(app: &TestApp, id: &str) -> String {
    app.server(id).await["state"]
        .as_str()
        .expect("state")
        .to_owned()
}

#[tokio::test]
async fn a_selector_over_servers_in_mixed_states_gives_each_its_outcome() {
    let app = TestApp::spawn().await;
    let dev = json!({ "env": "dev", "tier": "web" });
    // A second apart, so that creation order is list order (ties go by id).
    let running = labelled(&app, "running", dev.clone()).await;
    app.advance(1).await;
    let stopped = labelled(&app, "stopped", dev.clone()).await;
    let terminated = labelled(&app, "terminated", dev.clone()).await;
    let prod = labelled(&app, "prod", json!({ "env": "prod", "tier": "web" })).await;
    app.advance(60).await;
    assert_eq!(app.act(&stopped, "stop").await.status, 202);
    assert_eq!(app.act(&terminated, "terminate").await.status, 202);
    app.advance(60).await;
    let provisioning = labelled(&app, "provisioning", dev).await;
    let prod_events = app.events(&prod).await;

    let request = app
        .client()
        .post(app.url("/servers/actions"))
        .header("x-request-id", "bulk-stop-1")
        .json(&json!({ "label_selector": "env=dev, tier in (web)", "action": "stop" }));
    let reply = app.send(request, "post", "/servers/actions").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let report = &reply.body;
    assert_eq!(report["action"], "stop");
    assert_eq!(report["matched"], 3, "terminated servers are left out");
    assert_eq!(
        report["counts"],
        json!({ "accepted": 1, "noop": 1, "conflict": 1, "failed": 0 })
    );
    let results = report["results"].as_array().expect("results");
    let outcomes: Vec<(&str, &str, &str)> = results
        .iter()
        .map(|r| {
            (
                r["server_id"].as_str().expect("id"),
                r["outcome"].as_str().expect("outcome"),
                r["state"].as_str().expect("state"),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            (running.as_str(), "accepted", "stopping"),
            (stopped.as_str(), "noop", "stopped"),
            (provisioning.as_str(), "conflict", "provisioning"),
        ],
        "oldest first"
    );
    let action = &results[0]["action"];
    assert_eq!(action["command"], "stop");
    assert_eq!(action["request_id"], "bulk-stop-1");
    assert!(results[1].get("action").is_none() && results[1].get("problem").is_none());
    let problem = &results[2]["problem"];
    assert_eq!(problem["type"], "urn:fleet:problem:invalid-state");
    assert_eq!(problem["status"], 409);
    assert_eq!(problem["allowed_actions"], json!(["terminate"]));
    assert_eq!(problem["request_id"], "bulk-stop-1");

    assert_eq!(state(&app, &running).await, "stopping");
    assert_eq!(state(&app, &stopped).await, "stopped");
    assert_eq!(state(&app, &terminated).await, "terminated");
    assert_eq!(state(&app, &provisioning).await, "provisioning");
    assert_eq!(state(&app, &prod).await, "running");
    assert_eq!(
        app.events(&prod).await,
        prod_events,
        "another selector's server"
    );
    let requested = app.events(&running).await;
    assert_eq!(requested[0]["request_id"], "bulk-stop-1");
    app.advance(60).await;
    assert_eq!(state(&app, &running).await, "stopped");
    let record = app
        .get(&format!("/actions/{}", action["id"].as_str().expect("id")))
        .await;
    assert_eq!(record.body["status"], "success", "{}", record.text);
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains(r#"fleet_actions_total{action="stop",outcome="conflict"}"#),
        "each server's outcome is counted"
    );
    app.shut_down().await.expect("clean shutdown");
}

/// Provisions `n` servers labelled `batch=big` in batches of concurrent requests, without
/// checking each answer against the spec (the other tests do): the cap's test is about
/// what follows.
async fn seed(app: &TestApp, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    let numbers: Vec<usize> = (0..n).collect();
    for batch in numbers.chunks(50) {
        let requests = batch.iter().map(|i| async move {
            let body = json!({"region": "us-east-1", "type": "t2.micro",
                              "name": format!("big-{i}"), "labels": { "batch": "big" }});
            let reply = app
                .client()
                .post(app.url("/servers"))
                .json(&body)
                .send()
                .await
                .expect("provision");
            assert_eq!(reply.status(), 201);
            let created: Value = reply.json().await.expect("a server");
            created["id"].as_str().expect("id").to_owned()
        });
        ids.extend(join_all(requests).await);
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_matches_than_the_cap_are_a_422_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let ids = seed(&app, CAP + 1).await;
    app.advance(60).await;
    let before = app.all_servers().await;

    let refused = bulk(
        &app,
        json!({ "label_selector": "batch=big", "action": "stop" }),
    )
    .await;
    let problem = refused.assert_problem(422, "too-many-servers");
    assert_eq!(problem["matched"], CAP + 1);
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("1001 servers match") && d.contains("at most 1000")),
        "{problem}"
    );
    assert_eq!(app.all_servers().await, before, "nothing changed");
    assert!(
        app.events(&ids[0])
            .await
            .iter()
            .all(|e| e["type"] != "server.action_requested")
    );

    let narrowed = bulk(
        &app,
        json!({ "label_selector": "batch=big", "action": "stop", "state": "provisioning" }),
    )
    .await;
    assert_eq!(narrowed.status, 200, "the filters count: {}", narrowed.text);
    assert_eq!(narrowed.body["matched"], 0);
    app.shut_down().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_bulk_action_that_could_act_on_everything_or_names_nothing_real_is_refused() {
    let app = TestApp::spawn().await;
    let id = labelled(&app, "web", json!({ "env": "dev" })).await;
    app.advance(60).await;
    let missing = bulk(&app, json!({ "action": "stop" })).await;
    missing.assert_problem(422, "invalid-body");
    for empty in ["", "  "] {
        let refused = bulk(&app, json!({ "label_selector": empty, "action": "stop" })).await;
        refused.assert_problem(422, "label-selector-required");
    }
    let malformed = bulk(
        &app,
        json!({ "label_selector": "env in (dev", "action": "stop" }),
    )
    .await;
    let problem = malformed.assert_problem(400, "invalid-label-selector");
    assert!(problem["position"].is_u64(), "{problem}");
    let refusals = [
        (json!({ "region": "mars-1" }), "unknown-region"),
        (json!({ "type": "t9.huge" }), "unknown-server-type"),
        (json!({ "state": "asleep" }), "invalid-body"),
        (json!({ "action": "explode" }), "invalid-body"),
        (json!({ "force": true }), "invalid-body"),
    ];
    for (extra, slug) in refusals {
        let mut body = json!({ "label_selector": "env=dev", "action": "stop" });
        for (key, value) in extra.as_object().expect("an object") {
            body[key] = value.clone();
        }
        bulk(&app, body).await.assert_problem(422, slug);
    }
    assert_eq!(state(&app, &id).await, "running", "nothing changed");
    let filtered = bulk(
        &app,
        json!({ "label_selector": "env=dev", "action": "stop", "state": "stopped",
                "region": "us-east-1", "type": "t2.micro" }),
    )
    .await;
    assert_eq!(filtered.status, 200, "{}", filtered.text);
    assert_eq!(
        filtered.body["matched"], 0,
        "the filters narrow the selection"
    );
    app.shut_down().await.expect("clean shutdown");
}

#[tokio::test]
async fn a_bulk_action_touches_its_callers_project_only() {
    let (_dir, url) = sqlite();
    let (app, admin) = keys_app(url).await;
    let admin = app.as_key(&admin);
    let (a, b) = (
        admin.create_project("team-a").await,
        admin.create_project("team-b").await,
    );
    let (_, member_a) = admin.create_key(&a, "member").await;
    let (_, member_b) = admin.create_key(&b, "member").await;
    let (_, viewer_a) = admin.create_key(&a, "viewer").await;
    let (ka, kb) = (app.as_key(&member_a), app.as_key(&member_b));
    let body = json!({"region": "us-east-1", "type": "t2.micro", "labels": { "env": "dev" }});
    let sa = ka.post("/servers", body.clone()).await.body["id"].clone();
    let sb = kb.post("/servers", body).await.body["id"].clone();
    let advanced = admin
        .post("/admin/clock/advance", json!({"seconds": 60}))
        .await;
    assert_eq!(advanced.status, 200, "{}", advanced.text);
    let stop = json!({ "label_selector": "env=dev", "action": "stop" });

    let viewer = app
        .as_key(&viewer_a)
        .post("/servers/actions", stop.clone())
        .await;
    viewer.assert_problem(403, "forbidden");
    let by_admin = admin.post("/servers/actions", stop.clone()).await;
    assert_eq!(by_admin.status, 200, "{}", by_admin.text);
    assert_eq!(
        by_admin.body["matched"], 0,
        "an admin acts on its own project's servers only"
    );
    let by_a = ka.post("/servers/actions", stop).await;
    assert_eq!(by_a.status, 200, "{}", by_a.text);
    assert_eq!(by_a.body["matched"], 1);
    assert_eq!(by_a.body["results"][0]["server_id"], sa);
    let b_server = kb
        .get(&format!("/servers/{}", sb.as_str().expect("id")))
        .await;
    assert_eq!(
        b_server.body["state"], "running",
        "team-b's server untouched"
    );
    app.shut_down().await.expect("clean shutdown");
}
