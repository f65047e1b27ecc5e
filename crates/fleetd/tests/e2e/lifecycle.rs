//! End to end through HTTP, on the virtual clock: a server's whole life, the idle reaper,
//! pagination, and what the metrics and logs show; and on the system clock, that the times
//! a response shows are the times the store keeps.

use fleetd::Settings;
use serde_json::{Value, json};

use crate::common::TestApp;

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["type"].as_str().unwrap_or_default(),
                e["to_state"].as_str().unwrap_or("-")
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_lives_its_whole_life_through_the_api() {
    let app = TestApp::spawn().await;
    let free_before = app.free_addresses("us-east-1").await;

    let created = app
        .client()
        .post(app.url("/servers"))
        .header("X-Request-Id", "e2e-provision")
        .json(&json!({"region": "us-east-1", "type": "t2.micro", "name": "web-1"}));
    let created = app.send(created, "post", "/servers").await;
    assert_eq!(created.status, 201, "{}", created.text);
    let server = &created.body;
    let id = server["id"].as_str().expect("id").to_owned();
    assert_eq!(
        created.header("location"),
        Some(format!("/servers/{id}").as_str())
    );
    assert_eq!(created.header("x-request-id"), Some("e2e-provision"));
    assert_eq!(server["state"], "provisioning");
    assert_eq!(server["name"], "web-1");
    let ip = server["ip"].as_str().expect("an address").to_owned();
    assert!(ip.starts_with("10.0."), "{ip}");
    assert_eq!(app.free_addresses("us-east-1").await, free_before - 1);

    app.advance(10).await;
    let running = app.server(&id).await;
    assert_eq!(running["state"], "running");
    assert!(running["started_at"].is_string());

    app.advance(30).await;
    let stopping = app.act(&id, "stop").await;
    assert_eq!(stopping.status, 202, "{}", stopping.text);
    assert_eq!(stopping.body["state"], "stopping");
    app.advance(5).await;
    let stopped = app.server(&id).await;
    assert_eq!(stopped["state"], "stopped");
    assert_eq!(
        stopped["ip"],
        ip.as_str(),
        "a stopped server keeps its address"
    );
    // Running from t=5 to the stop at t=40 is 35 s, billed as the 60 s minimum.
    assert_eq!(stopped["billing"]["billed_seconds"], 60);
    assert_eq!(stopped["billing"]["billed"]["micros"], 60 * 11_600 / 3_600);

    let again = app.act(&id, "stop").await;
    assert_eq!(again.status, 200, "stopping a stopped server is a no-op");

    let starting = app.act(&id, "start").await;
    assert_eq!(starting.status, 202);
    assert_eq!(starting.body["state"], "starting");
    app.advance(5).await;
    assert_eq!(app.server(&id).await["state"], "running");

    let rebooting = app.act(&id, "reboot").await;
    assert_eq!(rebooting.status, 202);
    assert_eq!(rebooting.body["state"], "rebooting");
    app.advance(5).await;
    assert_eq!(app.server(&id).await["state"], "running");

    let terminating = app.act(&id, "terminate").await;
    assert_eq!(terminating.status, 202);
    assert_eq!(terminating.body["state"], "terminating");
    app.advance(5).await;
    let terminated = app.server(&id).await;
    assert_eq!(terminated["state"], "terminated");
    assert!(terminated.get("ip").is_none(), "the address is released");
    assert!(terminated["terminated_at"].is_string());
    assert_eq!(app.free_addresses("us-east-1").await, free_before);

    let billing = app.get(&format!("/servers/{id}/billing")).await;
    assert_eq!(billing.status, 200);
    let records = billing.body["records"].as_array().expect("records");
    let seconds: i64 = records.iter().filter_map(|r| r["seconds"].as_i64()).sum();
    let micros: i64 = records
        .iter()
        .filter_map(|r| r["amount"]["micros"].as_i64())
        .sum();
    assert_eq!(
        seconds,
        billing.body["billing"]["billed_seconds"]
            .as_i64()
            .expect("s")
    );
    assert_eq!(
        micros,
        billing.body["billing"]["billed"]["micros"]
            .as_i64()
            .expect("m")
    );
    // Two runs: 60 s (minimum) and 15 s of running + rebooting, topped up to 60 s.
    assert_eq!(seconds, 120);
    assert_eq!(billing.body["state"], "terminated");

    let events = app.events(&id).await;
    let kinds = kinds(&events);
    assert_eq!(
        kinds.first().map(String::as_str),
        Some("transition_completed:terminated")
    );
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("created:provisioning")
    );
    for expected in [
        "action_requested:stopping",
        "transition_completed:stopped",
        "action_requested:starting",
        "action_requested:rebooting",
        "action_requested:terminating",
        "billed:-",
    ] {
        assert!(
            kinds.iter().any(|k| k == expected),
            "{expected} in {kinds:?}"
        );
    }
    let created_event = events.last().expect("created");
    assert_eq!(created_event["request_id"], "e2e-provision");
    assert_eq!(created_event["actor"], "api");
    assert!(
        events
            .iter()
            .filter(|e| e["type"] == "transition_completed")
            .all(|e| e["actor"] == "system" && e.get("request_id").is_none())
    );
    let stop_event = events
        .iter()
        .find(|e| e["to_state"] == "stopping")
        .expect("the stop");
    assert_eq!(
        stop_event["request_id"],
        stopping.header("x-request-id").expect("id")
    );

    let listed = app.get("/servers?state=terminated").await;
    assert!(
        listed.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|s| s["id"] == id.as_str())
    );

    let metrics = app.metrics_text().await;
    for needle in [
        "fleet_http_requests_total{method=\"POST\",route=\"/servers/{id}/action\",status=\"202\"}",
        "fleet_http_request_duration_seconds_bucket{method=\"GET\",route=\"/servers/{id}\",status=\"200\"",
        "fleet_servers{state=\"terminated\"}",
        "fleet_actions_total{action=\"stop\",outcome=\"accepted\"}",
        "fleet_actions_total{action=\"stop\",outcome=\"noop\"}",
        "fleet_provision_duration_seconds_bucket",
        "fleet_pool_free_addresses{region=\"us-east-1\"}",
        "fleet_billed_micros_total{source=\"action\"}",
        "fleet_transitions_completed_total ",
    ] {
        assert!(metrics.contains(needle), "{needle} missing from /metrics");
    }

    let logs = app.logs.lock().expect("logs").clone();
    assert!(
        logs.iter().any(|l| l.contains("request_id=e2e-provision")
            && l.contains("route=/servers")
            && l.contains("status=201")
            && l.contains("method=POST")
            && l.contains("latency_ms=")),
        "the access log has the provisioning request: {logs:?}"
    );
    app.shut_down().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_server_is_reaped_and_its_address_released() {
    let app = TestApp::spawn().await;
    let free_before = app.free_addresses("us-east-1").await;
    let id = app.provision("idle").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.advance(10).await;
    assert_eq!(app.act(&id, "stop").await.status, 202);
    app.advance(5).await;
    assert_eq!(app.server(&id).await["state"], "stopped");
    // Stopped at t=13 (the stop at t=10 takes 3 s); now t=15. At t=1812 it has been
    // stopped for 1,799 s: not yet idle for the 1,800 s timeout.
    app.advance(1_797).await;
    assert_eq!(
        app.server(&id).await["state"],
        "stopped",
        "not idle long enough yet"
    );
    let report = app.advance(10).await;
    assert_eq!(report["reaped"], 1);
    let reaped = app.server(&id).await;
    assert_eq!(reaped["state"], "terminated");
    assert!(reaped.get("ip").is_none());
    assert_eq!(app.free_addresses("us-east-1").await, free_before);
    let events = app.events(&id).await;
    let by_reaper = events
        .iter()
        .find(|e| e["to_state"] == "terminating")
        .expect("terminated");
    assert_eq!(by_reaper["actor"], "reaper");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_server_leaves_the_list_an_hour_after_it_terminated() {
    let app = TestApp::spawn().await;
    let id_of = |server: Value| server["id"].as_str().expect("id").to_owned();
    let (gone, kept) = (
        id_of(app.provision("gone").await),
        id_of(app.provision("kept").await),
    );
    app.advance(10).await;
    assert_eq!(app.act(&gone, "terminate").await.status, 202);
    app.advance(10).await;
    let names = |servers: Vec<Value>| -> Vec<String> {
        let mut names: Vec<String> = servers
            .iter()
            .map(|s| s["name"].as_str().expect("name").to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(app.all_servers().await), ["gone", "kept"]);
    app.advance(3_600).await;
    assert_eq!(names(app.all_servers().await), ["kept"], "an hour later");
    let terminated = app.get("/servers?state=terminated").await;
    assert_eq!(
        terminated.body["items"][0]["id"],
        gone.as_str(),
        "asked by state"
    );
    assert_eq!(app.server(&gone).await["state"], "terminated", "read by id");
    assert_eq!(app.server(&kept).await["state"], "running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_follow_their_cursors_without_gaps_or_repeats() {
    let app = TestApp::spawn().await;
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(app.provision(&format!("s{i}")).await["id"].clone());
        app.advance(1).await;
    }
    let mut seen = Vec::new();
    let mut path = "/servers?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let page = app.get(&path).await;
        assert_eq!(page.status, 200);
        pages += 1;
        seen.extend(
            page.body["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|s| s["id"].clone()),
        );
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/servers?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, made, "creation order, each once");
    let offset = app.get("/servers?offset=4").await;
    assert_eq!(offset.body["items"].as_array().map(Vec::len), Some(1));
    let alias = app.get("/servers?status=provisioning&limit=100").await;
    assert_eq!(alias.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_shows_pools_and_prices() {
    let app = TestApp::spawn().await;
    let catalog = app.get("/catalog").await;
    assert_eq!(catalog.status, 200);
    let region = &catalog.body["regions"][0];
    assert_eq!(region["name"], "us-east-1");
    assert_eq!(region["pool"]["cidr"], "10.0.0.0/16");
    assert_eq!(region["pool"]["allocated"], 0);
    let micro = catalog.body["server_types"]
        .as_array()
        .expect("types")
        .iter()
        .find(|t| t["name"] == "t2.micro")
        .expect("t2.micro");
    assert_eq!(
        micro["hourly_price"],
        json!({"micros": 11600, "amount": "0.011600", "currency": "USD"})
    );
}

/// The system clock reads nanoseconds and the stores keep microseconds: a response must not
/// show a time that a later read of the same server does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_system_clock_a_response_shows_the_times_a_later_read_shows() {
    let app = TestApp::spawn_with(Settings::default()).await;
    for i in 0..5 {
        let created = app.provision(&format!("wall-{i}")).await;
        let id = created["id"].as_str().expect("id");
        let read = app.server(id).await;
        for field in ["created_at", "updated_at", "transition_due_at"] {
            assert!(created[field].is_string(), "{field}: {created}");
            assert_eq!(created[field], read[field], "{field}");
        }
        let acted = app.act(id, "terminate").await;
        assert_eq!(acted.status, 202, "{}", acted.text);
        let read = app.server(id).await;
        for field in ["created_at", "updated_at", "transition_due_at"] {
            assert_eq!(acted.body[field], read[field], "{field} after an action");
        }
    }
    app.shut_down().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invented_methods_and_paths_add_no_http_metric_series() {
    let app = TestApp::spawn().await;
    let id = uuid::Uuid::new_v4();
    let paths = [
        ("/servers".to_owned(), "/servers", "405"),
        (format!("/servers/{id}"), "/servers/{id}", "405"),
        ("/healthz".to_owned(), "/healthz", "405"),
        ("/no/such/route".to_owned(), "unmatched", "404"),
    ];
    for n in 0..50 {
        let method = reqwest::Method::from_bytes(format!("FOO{n}").as_bytes()).expect("a token");
        for (path, _, status) in &paths {
            let response = app
                .client()
                .request(method.clone(), app.url(path))
                .send()
                .await
                .expect("answered");
            assert_eq!(response.status().as_str(), *status, "{method} {path}");
        }
    }
    let page = app.metrics_text().await;
    let series: Vec<&str> = page
        .lines()
        .filter(|line| line.starts_with("fleet_http_requests_total{"))
        .collect();
    for line in &series {
        assert!(
            !line.contains("FOO") && !line.contains("/no/such") && !line.contains(&id.to_string()),
            "a label from the request: {line}"
        );
    }
    for (_, route, status) in &paths {
        let needle = format!(
            "fleet_http_requests_total{{method=\"other\",route=\"{route}\",status=\"{status}\"}} 50"
        );
        assert!(page.contains(&needle), "{needle} missing from {series:#?}");
    }
    app.shut_down().await.expect("clean shutdown");
}
