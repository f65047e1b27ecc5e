//! The engine across processes, on Postgres with the system clock: two fleetd replicas
//! sharing one database do each piece of background work once, and a fleetd killed with
//! SIGKILL mid-transition finishes that work after a restart without losing billed time.
//! Also what only a process's stdout shows: its buffered log, flushed while idle and at exit;
//! and what a fresh process's `/metrics` holds before anything happened.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::common::pg::TempDatabase;
use crate::common::process::Fleetd;
use crate::common::time;

/// One-second transitions and billing periods, so the work happens within the test;
/// `overrides` replace single settings.
fn fast(overrides: &[(&str, &str)]) -> Vec<String> {
    let defaults = [
        ("--provisioning-delay-s", "1"),
        ("--starting-delay-s", "1"),
        ("--stopping-delay-s", "1"),
        ("--rebooting-delay-s", "1"),
        ("--terminating-delay-s", "1"),
        ("--billing-period-s", "1"),
        ("--idle-timeout-s", "2"),
        ("--worker-interval-ms", "50"),
        ("--batch-size", "100"),
    ];
    defaults
        .iter()
        .flat_map(|(flag, value)| {
            let value = overrides
                .iter()
                .find(|(f, _)| f == flag)
                .map_or(*value, |(_, v)| *v);
            [flag.to_string(), value.to_owned()]
        })
        .collect()
}

const PATIENCE: Duration = Duration::from_secs(60);

async fn provision(fleetd: &Fleetd, name: &str) -> String {
    let (status, body) = fleetd
        .post(
            "/servers",
            json!({"region": "us-west-2", "type": "t2.small", "name": name}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().expect("id").to_owned()
}

async fn act(fleetd: &Fleetd, id: &str, action: &str) -> Value {
    let (status, body) = fleetd
        .post(
            &format!("/servers/{id}/action"),
            json!({ "action": action }),
        )
        .await;
    assert_eq!(status, 202, "{action} {id}: {body}");
    body
}

/// A server's events, oldest first.
async fn events(fleetd: &Fleetd, id: &str) -> Vec<Value> {
    let mut items = fleetd.get(&format!("/servers/{id}/logs")).await["items"]
        .as_array()
        .cloned()
        .expect("items");
    items.reverse();
    items
}

fn count(events: &[Value], kind: &str, to_state: &str) -> usize {
    events
        .iter()
        .filter(|e| e["type"] == kind && e["to_state"] == to_state)
        .count()
}

/// Asserts the ledger covers `[start, end)` exactly once: contiguous records, no overlap,
/// no gap, and returns the seconds billed.
async fn assert_ledger_covers(
    fleetd: &Fleetd,
    id: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> i64 {
    let report = fleetd.get(&format!("/servers/{id}/billing")).await;
    let records = report["records"].as_array().expect("records");
    assert!(!records.is_empty(), "{id} was billed");
    assert_eq!(
        time(&records[0]["period_start"]),
        start,
        "{id}: billing starts with the run"
    );
    for pair in records.windows(2) {
        assert_eq!(
            pair[0]["period_end"], pair[1]["period_start"],
            "{id}: no gap, no overlap"
        );
    }
    let last_end = time(&records[records.len() - 1]["period_end"]);
    assert!(
        last_end <= end && end - last_end < TimeDelta::seconds(1),
        "{id}: billed up to the stop ({last_end} vs {end})"
    );
    let seconds: i64 = records.iter().filter_map(|r| r["seconds"].as_i64()).sum();
    assert_eq!(report["billing"]["billed_seconds"].as_i64(), Some(seconds));
    seconds
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_complete_bill_and_reap_each_server_once() {
    let database = TempDatabase::create().await;
    let args = fast(&[("--batch-size", "3")]);
    let replicas = [
        Fleetd::start(&database.url, &args),
        Fleetd::start(&database.url, &args),
    ];

    let mut ids = Vec::new();
    for n in 0..24 {
        ids.push(provision(&replicas[n % 2], &format!("replica-{n}")).await);
    }
    for id in &ids {
        replicas[0].wait_for_state(id, "running", PATIENCE).await;
    }
    let (to_reap, to_terminate) = ids.split_at(16);
    for (n, id) in to_reap.iter().enumerate() {
        act(&replicas[n % 2], id, "stop").await;
    }
    for (n, id) in to_terminate.iter().enumerate() {
        act(&replicas[n % 2], id, "terminate").await;
    }
    for id in &ids {
        replicas[1].wait_for_state(id, "terminated", PATIENCE).await;
    }

    for id in &ids {
        let history = events(&replicas[0], id).await;
        assert_eq!(
            count(&history, "transition_completed", "running"),
            1,
            "{id}: {history:?}"
        );
        assert_eq!(
            count(&history, "transition_completed", "terminated"),
            1,
            "{id}: {history:?}"
        );
        assert_eq!(
            history.iter().filter(|e| e["type"] == "billed").count(),
            1,
            "{id}: one run, closed once: {history:?}"
        );
        let server = replicas[0].get(&format!("/servers/{id}")).await;
        let started = time(&server["started_at"]);
        let run_end = history
            .iter()
            .find(|e| e["type"] == "action_requested")
            .map(|e| time(&e["at"]))
            .expect("the stop or terminate");
        assert_ledger_covers(&replicas[0], id, started, run_end).await;
    }
    for id in to_reap {
        let history = events(&replicas[0], id).await;
        assert_eq!(
            count(&history, "transition_completed", "stopped"),
            1,
            "{id}: {history:?}"
        );
        let reaps: Vec<&Value> = history
            .iter()
            .filter(|e| e["to_state"] == "terminating")
            .collect();
        assert_eq!(reaps.len(), 1, "{id} is reaped once: {history:?}");
        assert_eq!(reaps[0]["actor"], "reaper");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleetd_killed_mid_transition_finishes_the_work_after_a_restart() {
    let database = TempDatabase::create().await;
    let args = fast(&[("--stopping-delay-s", "3"), ("--provisioning-delay-s", "3")]);
    let first = Fleetd::start(&database.url, &args);

    let mut running = Vec::new();
    for n in 0..4 {
        running.push(provision(&first, &format!("before-{n}")).await);
    }
    for id in &running {
        first.wait_for_state(id, "running", PATIENCE).await;
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let mut stop_requested = Vec::new();
    for id in &running[..2] {
        let stopping = act(&first, id, "stop").await;
        assert_eq!(stopping["state"], "stopping");
        stop_requested.push((id.clone(), time(&stopping["transition_due_at"])));
    }
    let mut provisioning = Vec::new();
    for n in 0..2 {
        provisioning.push(provision(&first, &format!("during-{n}")).await);
    }
    first.kill();
    // Nobody runs the engine while the transitions fall due.
    tokio::time::sleep(Duration::from_secs(4)).await;

    let second = Fleetd::start(&database.url, &args);
    for (id, due) in &stop_requested {
        let stopped = second.wait_for_state(id, "stopped", PATIENCE).await;
        assert_eq!(
            time(&stopped["stopped_at"]),
            *due,
            "{id} stopped at its due time, not at restart"
        );
        let history = events(&second, id).await;
        let stop_at = history
            .iter()
            .find(|e| e["to_state"] == "stopping")
            .map(|e| time(&e["at"]))
            .expect("the stop");
        let seconds =
            assert_ledger_covers(&second, id, time(&stopped["started_at"]), stop_at).await;
        assert_eq!(seconds, 60, "{id}: a short run is billed the minimum, once");
    }
    for id in &provisioning {
        let server = second.wait_for_state(id, "running", PATIENCE).await;
        let created = time(&server["created_at"]);
        assert_eq!(
            time(&server["started_at"]),
            created + TimeDelta::seconds(3),
            "{id} reached running at its due time"
        );
    }
    for id in &running[2..] {
        let server = second.get(&format!("/servers/{id}")).await;
        assert_eq!(server["state"], "running");
        let report = second.get(&format!("/servers/{id}/billing")).await;
        let started = time(&server["started_at"]);
        let records = report["records"].as_array().expect("records");
        assert_eq!(time(&records[0]["period_start"]), started);
        for pair in records.windows(2) {
            assert_eq!(
                pair[0]["period_end"], pair[1]["period_start"],
                "{id}: no gap across the crash"
            );
        }
    }
}

/// The JSON log is buffered: a line reaches stdout within the flush interval with no further
/// traffic, and a fleetd stopped with SIGTERM writes every line, its last included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_arrive_while_idle_and_none_are_lost_at_shutdown() {
    let database = TempDatabase::create().await;
    let fleetd = Fleetd::start(&database.url, &fast(&[]));
    let request_id = "log-flush-check";
    let response = reqwest::Client::new()
        .get(format!("{}/healthz", fleetd.base))
        .header("x-request-id", request_id)
        .send()
        .await
        .expect("request");
    assert!(response.status().is_success());
    let logged = |log: &[Value]| {
        log.iter()
            .any(|line| line["msg"] == "request" && line["request_id"] == request_id)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !logged(&fleetd.log()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the access-log line of an idle service never reached stdout"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let (exited_cleanly, log) = fleetd.terminate();
    assert!(exited_cleanly, "fleetd exits 0 on SIGTERM");
    let last = log.last().expect("log lines");
    assert_eq!(
        last["msg"], "fleetd stopped",
        "the last line is written: {last}"
    );
}

/// Every counter whose labels are known is on a fresh service's `/metrics` at zero, so a
/// dashboard panel or an alert reads 0, not "no data", before the first failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_fleetd_exports_its_known_counters_at_zero() {
    let database = TempDatabase::create().await;
    let fleetd = Fleetd::start(&database.url, &fast(&[]));
    let page = reqwest::get(format!("{}/metrics", fleetd.base))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("the metrics page");
    let mut expected = vec![
        "fleet_worker_pass_failures_total".to_owned(),
        "fleet_transitions_completed_total".to_owned(),
        "fleet_billing_accruals_total".to_owned(),
        "fleet_servers_reaped_total".to_owned(),
        r#"fleet_billed_micros_total{source="action"}"#.to_owned(),
        r#"fleet_billed_micros_total{source="worker"}"#.to_owned(),
    ];
    for action in ["start", "stop", "reboot", "terminate"] {
        for outcome in [
            "accepted",
            "noop",
            "forbidden",
            "conflict",
            "not_found",
            "contended",
            "quota_exceeded",
            "precondition_failed",
            "failed",
        ] {
            expected.push(format!(
                r#"fleet_actions_total{{action="{action}",outcome="{outcome}"}}"#
            ));
        }
    }
    for series in expected {
        assert!(
            page.lines().any(|line| line == format!("{series} 0")),
            "{series} is not exported at 0:\n{page}"
        );
    }
    let (exited_cleanly, _) = fleetd.terminate();
    assert!(exited_cleanly);
}
