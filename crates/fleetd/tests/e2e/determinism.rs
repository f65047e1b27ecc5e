//! `--seed` on the virtual clock: the same requests in the same order against a fresh store
//! give byte-identical responses and event logs; another seed gives other ids. On SQLite and
//! on Postgres, each run a fresh fleetd over a fresh store.

use std::collections::BTreeSet;

use fleetd::Settings;
use fleetd::settings::ClockMode;
use serde_json::{Value, json};

use crate::common::pg::TempDatabase;
use crate::common::{Reply, TestApp};

/// Every response of a run, then every event of the global log, as text.
#[derive(Default)]
struct Transcript(Vec<String>);

impl Transcript {
    fn record(&mut self, what: &str, reply: &Reply) -> Value {
        let request_id = reply.header("x-request-id").unwrap_or_default();
        self.0.push(format!(
            "{what} → {} {request_id}\n{}",
            reply.status, reply.text
        ));
        reply.body.clone()
    }
}

/// A run's store, fresh for each run.
enum Store {
    Sqlite,
    Postgres(TempDatabase),
}

impl Store {
    async fn fresh(postgres: bool) -> Store {
        if postgres {
            Store::Postgres(TempDatabase::create().await)
        } else {
            Store::Sqlite
        }
    }

    fn url(&self) -> Option<String> {
        match self {
            Store::Sqlite => None,
            Store::Postgres(database) => Some(database.url.clone()),
        }
    }
}

async fn run(seed: u64, postgres: bool) -> Vec<String> {
    let store = Store::fresh(postgres).await;
    let app = TestApp::spawn_with(Settings {
        clock: Some(ClockMode::Virtual),
        seed: Some(seed),
        database_url: store.url(),
        // The stopped server is reaped within the scenario's advances.
        idle_timeout_s: Some(600),
        ..Default::default()
    })
    .await;
    let mut log = Transcript::default();
    log.record("clock", &app.get("/admin/clock").await);
    let mut ids = Vec::new();
    for (n, (region, kind)) in [
        ("us-east-1", "t2.micro"),
        ("us-east-1", "t2.small"),
        ("eu-west-1", "t2.micro"),
        ("eu-west-1", "t2.medium"),
    ]
    .into_iter()
    .enumerate()
    {
        let tier = if n % 2 == 0 { "web" } else { "db" };
        let body = json!({"region": region, "type": kind, "labels": {"tier": tier}});
        let created = log.record("provision", &app.post("/servers", body).await);
        ids.push(created["id"].as_str().expect("an id").to_owned());
    }
    let refused = json!({"region": "mars-1", "type": "t2.micro"});
    log.record("refused", &app.post("/servers", refused).await);
    log.record(
        "advance",
        &app.post("/admin/clock/advance", json!({"seconds": 5}))
            .await,
    );
    for (id, action) in ids.iter().zip(["stop", "reboot", "terminate", "stop"]) {
        log.record(action, &app.act(id, action).await);
    }
    log.record("no-op", &app.act(&ids[0], "stop").await);
    log.record(
        "advance",
        &app.post("/admin/clock/advance", json!({"seconds": 30}))
            .await,
    );
    let bulk = json!({"action": "start", "label_selector": "tier=db"});
    log.record("bulk", &app.post("/servers/actions", bulk).await);
    log.record(
        "advance",
        &app.post("/admin/clock/advance", json!({"seconds": 3_700}))
            .await,
    );
    log.record("list", &app.get("/servers?limit=100").await);
    for id in &ids {
        for read in ["", "/logs", "/billing", "/actions"] {
            log.record(read, &app.get(&format!("/servers/{id}{read}")).await);
        }
    }
    let settled = settled_events(&app).await;
    log.0.extend(settled.iter().map(Value::to_string));
    app.shut_down().await.expect("a clean stop");
    log.0
}

/// The global event log from its start, once it holds every event the servers' own logs
/// hold (on Postgres, events are numbered by the sequencer shortly after their commit).
async fn settled_events(app: &TestApp) -> Vec<Value> {
    let mut expected = 0;
    for id in every_server(app).await {
        expected += app.events(&id).await.len();
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let events = all_events(app).await;
        if events.len() >= expected || tokio::time::Instant::now() > deadline {
            assert_eq!(events.len(), expected, "every event numbered");
            return events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn all_events(app: &TestApp) -> Vec<Value> {
    let (mut events, mut after) = (Vec::new(), 0);
    loop {
        let page = app.get(&format!("/events?after={after}&limit=100")).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let items = page.body["items"].as_array().cloned().expect("items");
        if items.is_empty() {
            return events;
        }
        after = page.body["next_after"].as_i64().expect("next_after");
        events.extend(items);
    }
}

async fn replays_byte_for_byte(postgres: bool) {
    let first = run(42, postgres).await;
    let again = run(42, postgres).await;
    assert!(first.len() > 40, "{} entries", first.len());
    for (one, two) in first.iter().zip(&again) {
        assert_eq!(one, two, "the same seed, the same run");
    }
    assert_eq!(first.len(), again.len());
    assert!(
        first
            .iter()
            .any(|entry| entry.contains("\"actor\":\"reaper\"")),
        "the reaper's action is part of the run"
    );

    let other = run(43, postgres).await;
    assert_eq!(other.len(), first.len(), "the same shape of run");
    assert_ne!(other[1], first[1], "another seed, another server id");
    let body = |entry: &str| entry.split_once('\n').map(|(_, body)| body.to_owned());
    assert_eq!(
        body(&other[0]),
        body(&first[0]),
        "the clock starts at the same instant whatever the seed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_scenario_replays_byte_for_byte_on_sqlite() {
    replays_byte_for_byte(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_scenario_replays_byte_for_byte_on_postgres() {
    replays_byte_for_byte(true).await;
}

/// The id of every server: those lists show, and those terminated long enough ago that
/// they are found by state only.
async fn every_server(app: &TestApp) -> BTreeSet<String> {
    let mut ids: BTreeSet<String> = app
        .all_servers()
        .await
        .iter()
        .map(|s| s["id"].as_str().expect("an id").to_owned())
        .collect();
    let terminated = app.get("/servers?state=terminated&limit=100").await;
    assert!(
        terminated.body["next_cursor"].is_null(),
        "one page is enough here"
    );
    for server in terminated.body["items"].as_array().expect("items") {
        ids.insert(server["id"].as_str().expect("an id").to_owned());
    }
    ids
}

/// The test's own choices for the long scenario: a fixed sequence (SplitMix64), the same
/// in every run whatever fleetd's seed, so only fleetd's draws can make runs differ.
struct Plan(u64);

impl Plan {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % below
    }
}

/// Fault rules of every kind drawn from fleetd's seed: errors, capacity refusals, failed
/// launches, slow transitions, interruptions and host failures.
fn chaos_rules() -> Vec<Value> {
    vec![
        json!({"operations": ["get"], "probability": 0.2,
               "effect": {"kind": "error", "status": 503, "retry_after_seconds": 1}}),
        json!({"operations": ["provision"], "probability": 0.2,
               "effect": {"kind": "capacity"}}),
        json!({"server_types": ["t2.small"], "effect": {"kind": "capacity", "max_running": 6}}),
        json!({"probability": 0.25, "effect": {"kind": "launch_failure"}}),
        json!({"operations": ["action:start", "action:stop", "action:reboot"], "probability": 0.5,
               "effect": {"kind": "slow", "distribution": "uniform", "min_factor": 1, "max_factor": 20}}),
        json!({"regions": ["eu-west-1"],
               "effect": {"kind": "interruption", "rate_per_hour": 3, "notice_seconds": 60}}),
        json!({"effect": {"kind": "host_failure", "rate_per_hour": 0.5}}),
    ]
}

/// 200 steps under several fault rules: launches, actions, reads and moves of the clock,
/// chosen by a fixed plan; every answer and the whole event log, as text.
async fn chaos_run(seed: u64, postgres: bool) -> Vec<String> {
    let store = Store::fresh(postgres).await;
    let app = TestApp::spawn_with(Settings {
        clock: Some(ClockMode::Virtual),
        seed: Some(seed),
        database_url: store.url(),
        idle_timeout_s: Some(1_800),
        ..Default::default()
    })
    .await;
    let mut log = Transcript::default();
    for rule in chaos_rules() {
        log.record("fault", &app.post("/faults", rule).await);
    }
    let mut plan = Plan(17);
    let mut ids: Vec<String> = Vec::new();
    let places = [
        ("us-east-1", "t2.micro"),
        ("us-east-1", "t2.small"),
        ("eu-west-1", "t2.micro"),
        ("eu-west-1", "t2.small"),
    ];
    let actions = ["start", "stop", "reboot", "terminate"];
    for step in 0..200 {
        let roll = plan.next(100);
        if roll < 25 || ids.is_empty() {
            let (region, kind) = places[plan.next(4) as usize];
            let body = json!({"region": region, "type": kind, "name": format!("s{step}")});
            let created = log.record("provision", &app.post("/servers", body).await);
            if let Some(id) = created["id"].as_str() {
                ids.push(id.to_owned());
            }
        } else if roll < 55 {
            let id = &ids[plan.next(ids.len() as u64) as usize];
            let action = actions[plan.next(4) as usize];
            log.record(action, &app.act(id, action).await);
        } else if roll < 70 {
            let id = &ids[plan.next(ids.len() as u64) as usize];
            log.record("get", &app.get(&format!("/servers/{id}")).await);
        } else if roll < 75 {
            log.record("list", &app.get("/servers?limit=100").await);
        } else {
            let seconds = 1 + plan.next(900);
            log.record(
                "advance",
                &app.post("/admin/clock/advance", json!({ "seconds": seconds }))
                    .await,
            );
        }
    }
    log.record("faults", &app.get("/faults").await);
    for id in &ids {
        log.record("billing", &app.get(&format!("/servers/{id}/billing")).await);
    }
    let settled = settled_events(&app).await;
    log.0.extend(settled.iter().map(Value::to_string));
    app.shut_down().await.expect("a clean stop");
    log.0
}

async fn chaos_replays_byte_for_byte(postgres: bool) {
    let first = chaos_run(7, postgres).await;
    let again = chaos_run(7, postgres).await;
    for (one, two) in first.iter().zip(&again) {
        assert_eq!(one, two, "the same seed, the same run");
    }
    assert_eq!(first.len(), again.len());
    let text = first.join("\n");
    for (what, sign) in [
        ("an injected error", "urn:fleet:problem:service-unavailable"),
        (
            "a capacity refusal",
            "urn:fleet:problem:insufficient-capacity",
        ),
        ("a failed launch", "\"to_state\":\"failed\""),
        ("a slowed transition", "the transition was slowed"),
        ("an interruption warning", "server.interruption_warning"),
        ("a host failure", "the host failed"),
    ] {
        assert!(text.contains(sign), "the run shows {what}");
    }
    let other = chaos_run(8, postgres).await;
    assert_ne!(other, first, "another seed, another run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_steps_of_chaos_replay_byte_for_byte_on_sqlite() {
    chaos_replays_byte_for_byte(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_steps_of_chaos_replay_byte_for_byte_on_postgres() {
    chaos_replays_byte_for_byte(true).await;
}
