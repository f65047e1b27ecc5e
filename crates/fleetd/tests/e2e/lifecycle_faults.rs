//! The lifecycle effects of fault rules end to end, on both stores and the virtual clock:
//! capacity refusals (always, and as a cap), failed launches, slow and stuck transitions,
//! interruptions with their warning and notice, and host failures.

use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::common::{TestApp, time};
use crate::faults::{fired, on_both, rule, running};

fn id(value: &Value) -> &str {
    value["id"].as_str().expect("an id")
}

fn reason(value: &Value) -> Option<&str> {
    value["state_reason"]["code"].as_str()
}

async fn events_by(app: &TestApp, server: &str, event_type: &str) -> Vec<Value> {
    app.events(server)
        .await
        .into_iter()
        .filter(|e| e["type"] == event_type)
        .collect()
}

/// The actions fault rules asked for on the server.
async fn chaos_actions(app: &TestApp, server: &str) -> Vec<Value> {
    events_by(app, server, "action_requested")
        .await
        .into_iter()
        .filter(|e| e["actor"] == "chaos")
        .collect()
}

async fn capacity_refuses_launches_and_starts_and_changes_nothing(app: &TestApp) {
    let stopped = running(app, "to-stop").await;
    assert_eq!(app.act(id(&stopped), "stop").await.status, 202);
    app.advance(10).await;
    let shortage = rule(
        app,
        json!({
            "regions": ["us-east-1"],
            "effect": { "kind": "capacity", "retry_after_seconds": 30 }
        }),
    )
    .await;
    assert_eq!(shortage["operations"], json!(["*"]));
    let before = app.all_servers().await.len();
    let free = app.free_addresses("us-east-1").await;
    let refused = app
        .post(
            "/servers",
            json!({"region": "us-east-1", "type": "t2.micro"}),
        )
        .await;
    refused.assert_problem(503, "insufficient-capacity");
    assert_eq!(refused.header("retry-after"), Some("30"));
    assert_eq!(app.all_servers().await.len(), before, "nothing was created");
    assert_eq!(
        app.free_addresses("us-east-1").await,
        free,
        "no address taken"
    );
    app.act(id(&stopped), "start")
        .await
        .assert_problem(503, "insufficient-capacity");
    assert_eq!(app.server(id(&stopped)).await["state"], "stopped");
    // Another region has room, and other operations are not the rule's.
    let elsewhere = app
        .post(
            "/servers",
            json!({"region": "eu-west-1", "type": "t2.micro"}),
        )
        .await;
    assert_eq!(elsewhere.status, 201, "{}", elsewhere.text);
    assert_eq!(app.act(id(&stopped), "terminate").await.status, 202);
    assert_eq!(fired(app, &shortage).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capacity_rule_refuses_launches_and_starts_with_a_503() {
    on_both(capacity_refuses_launches_and_starts_and_changes_nothing).await;
}

async fn a_cap_lets_servers_in_until_it_is_reached(app: &TestApp) {
    let cap = rule(
        app,
        json!({
            "server_types": ["t2.small"],
            "effect": { "kind": "capacity", "max_running": 2 }
        }),
    )
    .await;
    let small = json!({"region": "us-east-1", "type": "t2.small"});
    let first = app.post("/servers", small.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(app.post("/servers", small.clone()).await.status, 201);
    app.post("/servers", small.clone())
        .await
        .assert_problem(503, "insufficient-capacity");
    // Other types are not capped.
    app.provision("micro").await;
    // A server that stops frees its capacity.
    app.advance(10).await;
    assert_eq!(app.act(id(&first.body), "stop").await.status, 202);
    app.advance(10).await;
    assert_eq!(app.post("/servers", small.clone()).await.status, 201);
    app.act(id(&first.body), "start")
        .await
        .assert_problem(503, "insufficient-capacity");
    assert_eq!(fired(app, &cap).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capacity_cap_refuses_only_past_the_running_servers_it_allows() {
    on_both(a_cap_lets_servers_in_until_it_is_reached).await;
}

async fn a_failed_launch_ends_failed_released_and_unbilled(app: &TestApp) {
    let failing = rule(
        app,
        json!({ "label_selector": "doomed=yes", "effect": { "kind": "launch_failure" } }),
    )
    .await;
    let free = app.free_addresses("us-east-1").await;
    let created = app
        .post(
            "/servers",
            json!({"region": "us-east-1", "type": "t2.micro", "labels": {"doomed": "yes"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(app.free_addresses("us-east-1").await, free - 1);
    let fine = app.provision("fine").await;
    app.advance(3_600).await;
    let failed = app.server(id(&created.body)).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert_eq!(reason(&failed), Some("Server.InternalError"));
    assert!(failed["ip"].is_null(), "{failed}");
    assert_eq!(failed["billing"]["total"]["micros"], 0, "nothing billed");
    assert_eq!(
        app.free_addresses("us-east-1").await,
        free - 1,
        "only the healthy server holds an address"
    );
    assert_eq!(app.server(id(&fine)).await["state"], "running");
    let server = id(&created.body);
    let injected = events_by(app, server, "fault_injected").await;
    assert_eq!(injected.len(), 1);
    assert_eq!(injected[0]["actor"], "chaos");
    let failure = events_by(app, server, "transition_completed").await;
    assert_eq!(failure.len(), 1);
    assert_eq!(failure[0]["to_state"], "failed");
    assert_eq!(failure[0]["reason"]["code"], "Server.InternalError");
    let actions = app.get(&format!("/servers/{server}/actions")).await;
    assert_eq!(
        actions.body["items"][0]["status"], "error",
        "{}",
        actions.text
    );
    // A failed server can only be terminated, and terminating it frees nothing twice.
    assert_eq!(app.act(server, "start").await.status, 409);
    assert_eq!(app.act(server, "terminate").await.status, 202);
    app.advance(10).await;
    assert_eq!(app.server(server).await["state"], "terminated");
    assert_eq!(app.free_addresses("us-east-1").await, free - 1);
    assert_eq!(fired(app, &failing).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_launch_failure_leaves_a_failed_server_with_its_address_released() {
    on_both(a_failed_launch_ends_failed_released_and_unbilled).await;
}

async fn a_slow_stop_takes_its_factor_times_as_long(app: &TestApp) {
    let server = running(app, "slow").await;
    let slow = rule(
        app,
        json!({ "operations": ["action:stop"], "effect": { "kind": "slow", "factor": 10 } }),
    )
    .await;
    assert_eq!(app.act(id(&server), "stop").await.status, 202);
    let asked = time(&app.server(id(&server)).await["updated_at"]);
    app.advance(5).await;
    let stopping = app.server(id(&server)).await;
    assert_eq!(stopping["state"], "stopping", "{stopping}");
    assert_eq!(
        time(&stopping["transition_due_at"]),
        asked + TimeDelta::seconds(30),
        "ten times the 3 s stop"
    );
    app.advance(24).await;
    assert_eq!(app.server(id(&server)).await["state"], "stopping");
    app.advance(1).await;
    let stopped = app.server(id(&server)).await;
    assert_eq!(stopped["state"], "stopped");
    assert_eq!(time(&stopped["stopped_at"]), asked + TimeDelta::seconds(30));
    assert_eq!(events_by(app, id(&server), "fault_injected").await.len(), 1);
    assert_eq!(fired(app, &slow).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_rule_multiplies_a_transitions_delay() {
    on_both(a_slow_stop_takes_its_factor_times_as_long).await;
}

async fn a_stuck_start_waits_for_its_rule_to_go(app: &TestApp) {
    let server = running(app, "stuck").await;
    assert_eq!(app.act(id(&server), "stop").await.status, 202);
    app.advance(10).await;
    let stuck = rule(
        app,
        json!({ "operations": ["action:start"], "effect": { "kind": "stuck" } }),
    )
    .await;
    assert_eq!(app.act(id(&server), "start").await.status, 202);
    // Other servers' transitions go on around the held one.
    let other = app.provision("other").await;
    app.advance(86_400).await;
    let held = app.server(id(&server)).await;
    assert_eq!(held["state"], "starting", "{held}");
    assert!(held["transition_due_at"].is_null(), "{held}");
    assert_eq!(app.server(id(&other)).await["state"], "running");
    assert_eq!(fired(app, &stuck).await, 1, "held once, not at every pass");
    let removed = app
        .method(reqwest::Method::DELETE, &format!("/faults/{}", id(&stuck)))
        .await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    app.advance(5).await;
    assert_eq!(app.server(id(&server)).await["state"], "running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_transition_completes_only_once_its_rule_is_deleted() {
    on_both(a_stuck_start_waits_for_its_rule_to_go).await;
}

async fn a_stuck_window_ends_by_itself(app: &TestApp) {
    let now = time(&app.get("/admin/clock").await.body["now"]);
    let until = now + TimeDelta::hours(1);
    rule(
        app,
        json!({ "operations": ["provision"], "ends_at": until, "effect": { "kind": "stuck" } }),
    )
    .await;
    let server = app.provision("held-for-an-hour").await;
    app.advance(3_000).await;
    assert_eq!(app.server(id(&server)).await["state"], "provisioning");
    app.advance(1_000).await;
    let running = app.server(id(&server)).await;
    assert_eq!(running["state"], "running");
    assert_eq!(time(&running["started_at"]), until);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_rule_with_an_end_lets_go_at_its_end() {
    on_both(a_stuck_window_ends_by_itself).await;
}

/// An interruption rule at 60 an hour (a minute's wait on average) hits within a day.
async fn interrupted(app: &TestApp, action: &str) -> (Value, Value) {
    let server = running(app, "spot").await;
    let spot = rule(
        app,
        json!({
            "label_selector": "!stable",
            "effect": { "kind": "interruption", "rate_per_hour": 60, "action": action }
        }),
    )
    .await;
    assert_eq!(spot["effect"]["notice_seconds"], 120);
    let stable = app
        .post(
            "/servers",
            json!({"region": "us-east-1", "type": "t2.micro", "labels": {"stable": "yes"}}),
        )
        .await;
    app.advance(86_400).await;
    assert_eq!(
        app.server(id(&stable.body)).await["state"],
        "running",
        "the selector spares it"
    );
    assert_eq!(fired(app, &spot).await, 1);
    (app.server(id(&server)).await, spot)
}

async fn warning_then_interruption_after_the_notice(app: &TestApp, server: &Value, code: &str) {
    let warnings = events_by(app, id(server), "interruption_warning").await;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["actor"], "chaos");
    assert_eq!(warnings[0]["reason"]["code"], code);
    let requested = chaos_actions(app, id(server)).await;
    assert_eq!(requested.len(), 1, "{requested:?}");
    assert_eq!(requested[0]["reason"]["code"], code);
    assert_eq!(
        time(&requested[0]["at"]) - time(&warnings[0]["at"]),
        TimeDelta::seconds(120),
        "the notice period"
    );
    // The run closed at the interruption: billed up to it, and not beyond.
    let billing = app
        .get(&format!("/servers/{}/billing", id(server)))
        .await
        .body;
    let started = time(&server["started_at"]);
    let up = (time(&requested[0]["at"]) - started).num_seconds().max(60);
    assert_eq!(billing["billing"]["billed_seconds"], up, "{billing}");
}

async fn a_spot_interruption_terminates_after_its_warning(app: &TestApp) {
    let (server, _) = interrupted(app, "terminate").await;
    assert_eq!(server["state"], "terminated", "{server}");
    assert_eq!(reason(&server), Some("Server.SpotInstanceTermination"));
    warning_then_interruption_after_the_notice(app, &server, "Server.SpotInstanceTermination")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interruption_warns_then_terminates_after_the_notice() {
    on_both(a_spot_interruption_terminates_after_its_warning).await;
}

async fn a_spot_interruption_can_stop_instead(app: &TestApp) {
    let (server, _) = interrupted(app, "stop").await;
    // Stopped, then reaped after the idle timeout: the interruption's reason is on its
    // history either way.
    assert!(
        ["stopped", "terminating", "terminated"].contains(&server["state"].as_str().unwrap_or("")),
        "{server}"
    );
    warning_then_interruption_after_the_notice(app, &server, "Server.SpotInstanceShutdown").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interruption_may_stop_the_server() {
    on_both(a_spot_interruption_can_stop_instead).await;
}

async fn a_host_failure_stops_a_running_server(app: &TestApp) {
    let server = running(app, "fragile").await;
    let failing = rule(
        app,
        json!({ "effect": { "kind": "host_failure", "rate_per_hour": 60 } }),
    )
    .await;
    app.advance(7_200).await;
    let after = app.server(id(&server)).await;
    assert!(
        ["stopped", "terminated"].contains(&after["state"].as_str().unwrap_or("")),
        "{after}"
    );
    let requested = chaos_actions(app, id(&server)).await;
    assert_eq!(requested.len(), 1, "{requested:?}");
    assert_eq!(requested[0]["to_state"], "stopping");
    assert_eq!(requested[0]["reason"]["code"], "Server.InternalError");
    assert!(
        events_by(app, id(&server), "interruption_warning")
            .await
            .is_empty()
    );
    assert_eq!(events_by(app, id(&server), "fault_injected").await.len(), 1);
    assert_eq!(fired(app, &failing).await, 1);
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("fleet_faults_injected_total{kind=\"host_failure\"}"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_failure_stops_the_server_with_an_internal_error() {
    on_both(a_host_failure_stops_a_running_server).await;
}

/// Every event of `event_type` in the global sequence.
async fn every_event_of(app: &TestApp, event_type: &str) -> Vec<Value> {
    let (mut events, mut after) = (Vec::new(), 0);
    loop {
        let page = app
            .get(&format!(
                "/events?type={event_type}&after={after}&limit=100"
            ))
            .await;
        assert_eq!(page.status, 200, "{}", page.text);
        let items = page.body["items"].as_array().cloned().expect("items");
        if items.is_empty() {
            return events;
        }
        after = page.body["next_after"].as_i64().expect("next_after");
        events.extend(items);
    }
}

/// The global log once it holds `count` events of `event_type` (on Postgres, events are
/// numbered by the sequencer shortly after their commit), or whatever it holds after 10 s.
async fn settled(app: &TestApp, event_type: &str, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let events = every_event_of(app, event_type).await;
        if events.len() >= count || tokio::time::Instant::now() > deadline {
            return events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// How many servers are in `state`, following the cursors.
async fn counted_in(app: &TestApp, state: &str) -> usize {
    let (mut count, mut cursor) = (0, String::new());
    loop {
        let page = app
            .get(&format!("/servers?state={state}&limit=100{cursor}"))
            .await;
        assert_eq!(page.status, 200, "{}", page.text);
        count += page.body["items"].as_array().map_or(0, Vec::len);
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return count,
        }
    }
}

/// 1,000 running servers under an interruption rule of 0.5 an hour: after two hours, the
/// number interrupted is within four standard deviations of the rate's expectation, and
/// each was warned exactly the notice before.
async fn interruptions_follow_their_rate(app: &TestApp) {
    const SERVERS: usize = 1_000;
    for chunk in 0..SERVERS / 50 {
        let launches = (0..50).map(|n| {
            app.post(
                "/servers",
                json!({"region": "us-east-1", "type": "t2.micro", "name": format!("spot-{chunk}-{n}")}),
            )
        });
        for launched in futures::future::join_all(launches).await {
            assert_eq!(launched.status, 201, "{}", launched.text);
        }
    }
    app.advance(10).await;
    rule(
        app,
        json!({ "effect": { "kind": "interruption", "rate_per_hour": 0.5 } }),
    )
    .await;
    app.advance(7_200).await;

    // A warning comes after an exponential wait of rate 0.5 an hour; the interruption
    // 120 s later, so within two hours only for a wait of at most 7,080 s.
    let expected = |seconds: f64| {
        let p = 1.0 - (-0.5 * seconds / 3_600.0).exp();
        (SERVERS as f64 * p, (SERVERS as f64 * p * (1.0 - p)).sqrt())
    };
    // Every interrupted server is terminating or terminated; on Postgres its events are
    // numbered shortly after their commit, so the log is read once it holds them all.
    let mut out_of_service = 0;
    for state in ["terminating", "terminated"] {
        out_of_service += counted_in(app, state).await;
    }
    let interrupted: Vec<Value> = settled(app, "server.action_requested", out_of_service)
        .await
        .into_iter()
        .filter(|e| e["actor"] == "chaos")
        .collect();
    let (mean, sigma) = expected(7_080.0);
    let count = interrupted.len() as f64;
    assert!(
        (count - mean).abs() <= 4.0 * sigma,
        "{count} interrupted; expected {mean:.0} ± {:.0}",
        4.0 * sigma
    );
    let warnings = settled(app, "server.interruption_warning", interrupted.len()).await;
    let (mean, sigma) = expected(7_200.0);
    let warned = warnings.len() as f64;
    assert!(
        (warned - mean).abs() <= 4.0 * sigma,
        "{warned} warned; expected {mean:.0} ± {:.0}",
        4.0 * sigma
    );
    eprintln!("{count} interrupted, {warned} warned, of {SERVERS}");
    let warned_at: std::collections::HashMap<&str, chrono::DateTime<chrono::Utc>> = warnings
        .iter()
        .map(|w| (w["server_id"].as_str().expect("server"), time(&w["at"])))
        .collect();
    assert_eq!(warned_at.len(), warnings.len(), "one warning per server");
    for interruption in &interrupted {
        let server = interruption["server_id"].as_str().expect("server");
        assert_eq!(interruption["to_state"], "terminating");
        assert_eq!(
            interruption["reason"]["code"],
            "Server.SpotInstanceTermination"
        );
        assert_eq!(
            time(&interruption["at"]) - warned_at[server],
            TimeDelta::seconds(120),
            "warned the notice before: {interruption}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interruptions_of_a_thousand_servers_follow_the_rate() {
    on_both(interruptions_follow_their_rate).await;
}

async fn a_bulk_action_meets_the_rules_server_by_server(app: &TestApp) {
    for name in ["b-1", "b-2"] {
        let body = json!({"region": "us-east-1", "type": "t2.micro", "name": name, "labels": {"tier": "batch"}});
        assert_eq!(app.post("/servers", body).await.status, 201);
    }
    app.advance(10).await;
    let once = rule(
        app,
        json!({
            "operations": ["action:reboot"], "max_count": 1,
            "effect": { "kind": "error", "status": 503 }
        }),
    )
    .await;
    let bulk = app
        .post(
            "/servers/actions",
            json!({"action": "reboot", "label_selector": "tier=batch"}),
        )
        .await;
    assert_eq!(bulk.status, 200, "{}", bulk.text);
    assert_eq!(bulk.body["counts"]["failed"], 1, "{}", bulk.text);
    assert_eq!(bulk.body["counts"]["accepted"], 1, "{}", bulk.text);
    let failed = &bulk.body["results"][0];
    assert_eq!(failed["outcome"], "failed");
    assert_eq!(failed["state"], "running", "nothing changed on it");
    assert_eq!(
        failed["problem"]["type"],
        "urn:fleet:problem:service-unavailable"
    );
    assert_eq!(fired(app, &once).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_action_is_faulted_server_by_server() {
    on_both(a_bulk_action_meets_the_rules_server_by_server).await;
}
