//! `--seed` on the virtual clock: the same requests in the same order against a fresh store
//! give byte-identical responses and event logs; another seed gives other ids. On SQLite and
//! on Postgres, each run a fresh fleetd over a fresh store.

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
    for server in app.all_servers().await {
        let id = server["id"].as_str().expect("an id");
        expected += app.events(id).await.len();
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
