//! Fault rules end to end, on both stores and the virtual clock: an error answered instead
//! of the operation (which changes nothing), added latency, `max_count`, a time window, a
//! rule of another project, and refusals that name the field.

use std::time::{Duration, Instant};

use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::common::pg::TempDatabase;
use crate::common::{TestApp, time};

pub(crate) async fn on_both(case: impl AsyncFn(&TestApp)) {
    let sqlite = TestApp::spawn().await;
    case(&sqlite).await;
    sqlite.shut_down().await.expect("clean shutdown");
    let database = TempDatabase::create().await;
    let postgres = TestApp::spawn_on(&database).await;
    case(&postgres).await;
    postgres.shut_down().await.expect("clean shutdown");
}

/// Makes a rule; returns it as created.
pub(crate) async fn rule(app: &TestApp, body: Value) -> Value {
    let created = app.post("/faults", body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(
        created.header("location"),
        Some(format!("/faults/{}", created.body["id"].as_str().expect("id")).as_str())
    );
    created.body
}

pub(crate) async fn fired(app: &TestApp, rule: &Value) -> u64 {
    let id = rule["id"].as_str().expect("id");
    let read = app.get(&format!("/faults/{id}")).await;
    assert_eq!(read.status, 200, "{}", read.text);
    read.body["fired"].as_u64().expect("fired")
}

pub(crate) async fn running(app: &TestApp, name: &str) -> Value {
    let server = app.provision(name).await;
    app.advance(10).await;
    let id = server["id"].as_str().expect("id");
    let now = app.server(id).await;
    assert_eq!(now["state"], "running");
    now
}

async fn throttled_action_changes_nothing_and_is_an_event_by_chaos(app: &TestApp) {
    let server = running(app, "throttled").await;
    let id = server["id"].as_str().expect("id");
    let throttle = rule(
        app,
        json!({
            "operations": ["action:stop"],
            "effect": { "kind": "error", "status": 429, "retry_after_seconds": 7 }
        }),
    )
    .await;
    let path = format!("/servers/{id}");
    let etag_before = app.get(&path).await.header("etag").map(str::to_owned);
    let refused = app.act(id, "stop").await;
    refused.assert_problem(429, "throttled");
    assert_eq!(refused.header("retry-after"), Some("7"));
    let after = app.server(id).await;
    assert_eq!(after["state"], "running", "nothing changed");
    assert_eq!(
        app.get(&path).await.header("etag").map(str::to_owned),
        etag_before,
        "the server's version did not move"
    );
    let events = app.events(id).await;
    let chaos: Vec<&Value> = events.iter().filter(|e| e["actor"] == "chaos").collect();
    assert_eq!(chaos.len(), 1, "{events:?}");
    assert_eq!(chaos[0]["type"], "fault_injected");
    assert!(
        chaos[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains(throttle["id"].as_str().expect("id"))),
        "{}",
        chaos[0]
    );
    assert_eq!(fired(app, &throttle).await, 1);
    // Another operation is not the rule's: a reboot goes through.
    assert_eq!(app.act(id, "reboot").await.status, 202);
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("fleet_faults_injected_total{kind=\"error\"}"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_injected_error_changes_nothing_and_is_recorded_by_chaos() {
    on_both(throttled_action_changes_nothing_and_is_an_event_by_chaos).await;
}

async fn a_rule_fires_at_most_max_count_times_within_its_window(app: &TestApp) {
    let server = running(app, "counted").await;
    let id = server["id"].as_str().expect("id");
    let twice = rule(
        app,
        json!({
            "operations": ["get"],
            "max_count": 2,
            "effect": { "kind": "error", "status": 503 }
        }),
    )
    .await;
    let path = format!("/servers/{id}");
    app.get(&path)
        .await
        .assert_problem(503, "service-unavailable");
    app.get(&path)
        .await
        .assert_problem(503, "service-unavailable");
    assert_eq!(app.get(&path).await.status, 200, "spent after two");
    assert_eq!(fired(app, &twice).await, 2);

    let now = time(&app.get("/admin/clock").await.body["now"]);
    let window = rule(
        app,
        json!({
            "operations": ["provision"],
            "starts_at": now + TimeDelta::seconds(60),
            "ends_at": now + TimeDelta::seconds(120),
            "effect": { "kind": "error", "status": 503, "problem_type": "capacity-planning" }
        }),
    )
    .await;
    let body = json!({ "region": "us-east-1", "type": "t2.micro" });
    assert_eq!(
        app.post("/servers", body.clone()).await.status,
        201,
        "before"
    );
    app.advance(60).await;
    let servers_before = app.all_servers().await.len();
    app.post("/servers", body.clone())
        .await
        .assert_problem(503, "capacity-planning");
    assert_eq!(
        app.all_servers().await.len(),
        servers_before,
        "a refused provision creates nothing"
    );
    app.advance(60).await;
    assert_eq!(app.post("/servers", body).await.status, 201, "after");
    assert_eq!(fired(app, &window).await, 1);
    assert!(
        app.logs
            .lock()
            .expect("logs")
            .iter()
            .any(|line| line.contains("fault injected") && line.contains("provision")),
        "a provision's fault is logged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_count_and_the_window_bound_a_rule() {
    on_both(a_rule_fires_at_most_max_count_times_within_its_window).await;
}

async fn latency_holds_a_list_then_it_answers(app: &TestApp) {
    let slow = rule(
        app,
        json!({
            "operations": ["list"],
            "max_count": 1,
            "effect": { "kind": "latency", "distribution": "fixed", "ms": 300 }
        }),
    )
    .await;
    let started = Instant::now();
    let listed = app.get("/servers").await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(fired(app, &slow).await, 1);
    // The recorder is the test binary's, shared by every app: counted, not counted once.
    let metrics = app.metrics_text().await;
    assert!(
        metrics.lines().any(|line| line
            .strip_prefix("fleet_faults_injected_total{kind=\"latency\"} ")
            .is_some_and(|count| count != "0")),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_latency_rule_delays_the_operation() {
    on_both(latency_holds_a_list_then_it_answers).await;
}

async fn a_rule_of_another_project_and_a_deleted_rule_do_not_fire(app: &TestApp) {
    let other = app.post("/projects", json!({ "name": "elsewhere" })).await;
    assert_eq!(other.status, 201, "{}", other.text);
    let theirs = rule(
        app,
        json!({
            "project": other.body["id"],
            "effect": { "kind": "error", "status": 503 }
        }),
    )
    .await;
    let server = running(app, "mine").await;
    let id = server["id"].as_str().expect("id");
    assert_eq!(app.get(&format!("/servers/{id}")).await.status, 200);
    assert_eq!(fired(app, &theirs).await, 0);

    let mine = rule(app, json!({ "effect": { "kind": "error", "status": 429 } })).await;
    app.get(&format!("/servers/{id}"))
        .await
        .assert_problem(429, "throttled");
    let mine_id = mine["id"].as_str().expect("id");
    let listed = app.get("/faults?limit=1").await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(1));
    assert!(listed.body["next_cursor"].is_string(), "{}", listed.text);
    let deleted = app
        .method(reqwest::Method::DELETE, &format!("/faults/{mine_id}"))
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(app.get(&format!("/servers/{id}")).await.status, 200);
    app.get(&format!("/faults/{mine_id}"))
        .await
        .assert_problem(404, "not-found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_of_another_project_never_fires_and_a_deleted_one_stops() {
    on_both(a_rule_of_another_project_and_a_deleted_rule_do_not_fire).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_rule_is_a_422_naming_the_field_and_keeps_nothing() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            json!({ "probability": 1.5, "effect": { "kind": "error" } }),
            "probability",
        ),
        (
            json!({ "effect": { "kind": "latency", "ms": -1 } }),
            "effect.ms",
        ),
        (
            json!({ "effect": { "kind": "error", "status": 404 } }),
            "effect.status",
        ),
        (
            json!({ "label_selector": "env in (", "effect": { "kind": "error" } }),
            "label_selector",
        ),
        (
            json!({ "regions": ["mars-1"], "effect": { "kind": "error" } }),
            "regions",
        ),
        (json!({ "effect": {} }), "effect.kind"),
        (
            json!({
                "effect": { "kind": "latency", "distribution": "uniform", "min_ms": 9, "max_ms": 1 }
            }),
            "effect.max_ms",
        ),
        (
            json!({ "operations": ["get"], "effect": { "kind": "capacity" } }),
            "operations",
        ),
        (
            json!({ "operations": ["list"], "effect": { "kind": "stuck" } }),
            "operations",
        ),
        (
            json!({ "operations": ["action:stop"], "effect": { "kind": "launch_failure" } }),
            "operations",
        ),
        (
            json!({ "operations": ["provision"], "effect": { "kind": "interruption", "rate_per_hour": 1 } }),
            "operations",
        ),
        (
            json!({ "probability": 0.5, "effect": { "kind": "host_failure", "rate_per_hour": 1 } }),
            "probability",
        ),
        (
            json!({ "effect": { "kind": "interruption" } }),
            "effect.rate_per_hour",
        ),
        (
            json!({ "effect": { "kind": "interruption", "rate_per_hour": -2 } }),
            "effect.rate_per_hour",
        ),
        (
            json!({ "effect": { "kind": "interruption", "rate_per_hour": 1, "notice_seconds": -1 } }),
            "effect.notice_seconds",
        ),
        (
            json!({ "effect": { "kind": "slow", "factor": 0.5 } }),
            "effect.factor",
        ),
        (
            json!({ "effect": { "kind": "slow", "distribution": "uniform", "min_factor": 3, "max_factor": 2 } }),
            "effect.max_factor",
        ),
        (
            json!({ "effect": { "kind": "slow", "ms": 10 } }),
            "effect.ms",
        ),
        (
            json!({ "effect": { "kind": "capacity", "max_running": -1 } }),
            "effect.max_running",
        ),
        (
            json!({ "effect": { "kind": "stuck", "rate_per_hour": 1 } }),
            "effect.rate_per_hour",
        ),
    ];
    for (body, field) in cases {
        let refused = app.post("/faults", body.clone()).await;
        let problem = refused.assert_problem(422, "invalid-fault-rule");
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with(&format!("{field}:"))),
            "{body}: {problem}"
        );
    }
    let unknown = app
        .post(
            "/faults",
            json!({ "operations": ["delete"], "effect": { "kind": "error" } }),
        )
        .await;
    assert_eq!(unknown.status, 422, "{}", unknown.text);
    let bad_action = app
        .post(
            "/faults",
            json!({ "effect": { "kind": "interruption", "rate_per_hour": 1, "action": "reboot" } }),
        )
        .await;
    assert_eq!(bad_action.status, 422, "{}", bad_action.text);
    let listed = app.get("/faults").await;
    assert_eq!(listed.body["items"], json!([]), "nothing kept");
    app.shut_down().await.expect("clean shutdown");
}

/// A member sees the rules of its project and those for every project, never another
/// project's, and may not make or delete one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_reads_the_rules_of_its_project_and_changes_none() {
    let (_dir, url) = crate::tenancy::sqlite();
    let (app, admin) = crate::tenancy::keys_app(url).await;
    let admin = app.as_key(&admin);
    let (a, b) = (
        admin.create_project("faults-a").await,
        admin.create_project("faults-b").await,
    );
    let (_, member) = admin.create_key(&a, "member").await;
    let member = app.as_key(&member);
    let mut ids = Vec::new();
    for project in [json!(a), json!(b), Value::Null] {
        let mut body = json!({ "operations": ["wait"], "effect": { "kind": "error" } });
        if !project.is_null() {
            body["project"] = project;
        }
        let created = admin.post("/faults", body).await;
        assert_eq!(created.status, 201, "{}", created.text);
        ids.push(created.body["id"].as_str().expect("id").to_owned());
    }
    let listed = member.get("/faults").await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    // Made at one virtual instant: listed in id order, which is no order of making.
    let seen: std::collections::BTreeSet<&str> = listed.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|rule| rule["id"].as_str())
        .collect();
    assert_eq!(seen, [ids[0].as_str(), ids[2].as_str()].into());
    member
        .get(&format!("/faults/{}", ids[1]))
        .await
        .assert_problem(404, "not-found");
    member
        .post("/faults", json!({ "effect": { "kind": "error" } }))
        .await
        .assert_problem(403, "forbidden");
    member
        .delete(&format!("/faults/{}", ids[0]))
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(
        admin.get("/faults").await.body["items"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    app.shut_down().await.expect("clean shutdown");
}
