//! Watching end to end: a stream resumed with `Last-Event-ID` delivers exactly what its
//! client missed (SQLite, Postgres, and a stream on a second fleetd process), waits answer
//! at the transition on both clocks and refuse an unreachable state at once, action records
//! follow their requests, and open streams end at shutdown.

use std::time::{Duration, Instant};

use chrono::Utc;
use fleetd::Settings;
use fleetd::settings::ClockMode;
use serde_json::{Value, json};

use crate::common::pg::TempDatabase;
use crate::common::process::Fleetd;
use crate::common::sse::{Stream, until_listed};
use crate::common::{TestApp, time};

const LONG: Duration = Duration::from_secs(10);

/// Where a scenario provisions, acts and moves the clock.
struct Fleet<'a> {
    base: &'a str,
    /// Seconds to advance the virtual clock by after acting; `None` on the system clock.
    advance: Option<i64>,
}

impl Fleet<'_> {
    async fn post(&self, path: &str, body: Value) -> Value {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .expect("request");
        assert!(response.status().is_success(), "POST {path}");
        response.json().await.expect("json")
    }

    async fn provision(&self, name: &str) -> String {
        let body = json!({"region": "us-east-1", "type": "t2.micro", "name": name});
        let server = self.post("/servers", body).await;
        server["id"].as_str().expect("id").to_owned()
    }

    async fn act(&self, id: &str, action: &str) {
        self.post(
            &format!("/servers/{id}/action"),
            json!({ "action": action }),
        )
        .await;
    }

    /// Lets what was asked complete: the virtual clock moves; zero delays need nothing.
    async fn settle(&self) {
        if let Some(seconds) = self.advance {
            self.post("/admin/clock/advance", json!({ "seconds": seconds }))
                .await;
        }
    }
}

/// Reads `stream` until the event of `server` of type `event`; its `seq`.
async fn until(stream: &mut Stream, server: &str, event: &str) -> i64 {
    loop {
        let message = stream.next(LONG).await.expect("the event arrives");
        if message.data["server_id"] == server && message.event == event {
            return message.id;
        }
    }
}

/// A client follows the stream of `watched`, is killed mid-stream, and while it is gone
/// servers are provisioned and acted on through `acting`; reconnecting with the last id it
/// saw, it receives exactly the events `GET /events` lists after that id, in order, and
/// then the next new one: nothing missed, nothing twice.
async fn a_resumed_stream_misses_nothing(watched: &str, acting: &Fleet<'_>) {
    let mut stream = Stream::open(watched, "", None).await;
    let first = acting.provision("first").await;
    let sent = Instant::now();
    let seen = until(&mut stream, &first, "server.provisioned").await;
    let delay = sent.elapsed();
    assert!(
        delay < Duration::from_secs(1),
        "delivered within a second: {delay:?}"
    );
    assert_eq!(stream.retry.as_deref(), Some("3000"), "the retry hint");
    let origin = stream
        .origin
        .expect("a stream from now names where it starts");
    assert!(
        origin < seen,
        "it starts before the first event: {origin} < {seen}"
    );
    drop(stream);

    let second = acting.provision("second").await;
    acting.settle().await;
    acting.act(&first, "stop").await;
    acting.settle().await;
    // Numbered within a moment of their commit (on Postgres, by the sequencer after it).
    let missed = until_listed(acting.base, seen, |event| {
        event["server_id"] == first.as_str() && event["to_state"] == "stopped"
    })
    .await;
    assert!(missed.len() >= 4, "enough happened meanwhile: {missed:?}");

    let mut resumed = Stream::open(watched, "", Some(seen)).await;
    for expected in &missed {
        let message = resumed.next(LONG).await.expect("a missed event");
        assert_eq!(Some(message.id), expected["seq"].as_i64());
        assert_eq!(message.data, *expected, "the event as listed");
        assert_eq!(message.event, expected["type"].as_str().expect("type"));
    }
    acting.act(&second, "terminate").await;
    let next = resumed.next(LONG).await.expect("the next new event");
    let last = missed.last().and_then(|e| e["seq"].as_i64()).expect("seq");
    assert!(next.id > last, "nothing twice: {} after {last}", next.id);
    assert_eq!(next.data["server_id"], second.as_str());
}

/// The scenario on one fleetd under the virtual clock, over `database_url` (SQLite of its
/// own when `None`).
async fn a_resumed_stream_misses_nothing_on_one_app(database_url: Option<String>) {
    let app = TestApp::spawn_with(Settings {
        clock: Some(ClockMode::Virtual),
        database_url,
        ..Default::default()
    })
    .await;
    let fleet = Fleet {
        base: &app.base,
        advance: Some(30),
    };
    a_resumed_stream_misses_nothing(&app.base, &fleet).await;
    // The harness checks these against the spec.
    let page = app.get("/events?limit=2&type=server.provisioned").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.body["items"][0]["type"], "server.provisioned");
    app.get("/events?after=-1")
        .await
        .assert_problem(400, "invalid-cursor");
    for (query, last_event_id) in [("", "-1"), ("?after=9223372036854775808", "0")] {
        let path = format!("/events/stream{query}");
        let resuming = app
            .client()
            .get(app.url(&path))
            .header("Last-Event-ID", last_event_id);
        app.send(resuming, "get", "/events/stream")
            .await
            .assert_problem(400, "invalid-cursor");
    }
    app.shut_down().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_stream_misses_nothing_on_sqlite() {
    a_resumed_stream_misses_nothing_on_one_app(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_stream_misses_nothing_on_postgres() {
    let database = TempDatabase::create().await;
    a_resumed_stream_misses_nothing_on_one_app(Some(database.url.clone())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_on_another_process_misses_nothing() {
    let database = TempDatabase::create().await;
    let instant: Vec<String> = [
        "--provisioning-delay-s",
        "--starting-delay-s",
        "--stopping-delay-s",
        "--rebooting-delay-s",
        "--terminating-delay-s",
    ]
    .iter()
    .flat_map(|flag| [flag.to_string(), "0".to_owned()])
    .collect();
    let acting = Fleetd::start(&database.url, &instant);
    let watching = Fleetd::start(&database.url, &instant);
    let fleet = Fleet {
        base: &acting.base,
        advance: None,
    };
    a_resumed_stream_misses_nothing(&watching.base, &fleet).await;
    let (clean, _) = watching.terminate();
    assert!(clean, "the watching fleetd stops cleanly");
}

/// The id of a server provisioned through `app`.
async fn provisioned(app: &TestApp, name: &str) -> String {
    app.provision(name).await["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_answers_at_the_advance_of_the_virtual_clock() {
    let app = TestApp::spawn().await;
    let id = provisioned(&app, "waited").await;
    let url = app.url(&format!("/servers/{id}/wait?state=running&timeout=30"));
    let waiting = tokio::spawn(async move { reqwest::get(url).await.expect("the wait") });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "provisioning, so still waiting");
    let advanced = Instant::now();
    app.advance(10).await;
    let response = waiting.await.expect("joined");
    let answered = advanced.elapsed();
    assert_eq!(response.status(), 200);
    let server: Value = response.json().await.expect("json");
    assert_eq!(server["state"], "running");
    assert!(
        answered < Duration::from_secs(1),
        "at the advance: {answered:?}"
    );
    app.shut_down().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_answers_within_a_second_of_the_transition_on_the_system_clock() {
    let app = TestApp::spawn_with(Settings {
        clock: Some(ClockMode::System),
        provisioning_delay_s: Some(1),
        worker_interval_ms: Some(50),
        ..Default::default()
    })
    .await;
    let id = provisioned(&app, "waited").await;
    let reply = app
        .get(&format!("/servers/{id}/wait?state=running&timeout=10"))
        .await;
    let answered = Utc::now();
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["state"], "running");
    let ran = time(&reply.body["started_at"]);
    let after = (answered - ran)
        .to_std()
        .expect("answered after the transition");
    assert!(
        after < Duration::from_secs(1),
        "{after:?} after the transition"
    );
    app.shut_down().await.expect("clean shutdown");
}

/// The open watches of `kind` (`wait` or `stream`), as `/metrics` counts them.
async fn open_watches(app: &TestApp, kind: &str) -> Option<u64> {
    let text = app.metrics_text().await;
    let label = format!("kind=\"{kind}\"");
    text.lines()
        .find(|line| line.starts_with("fleet_open_watches{") && line.contains(&label))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

/// Sends `GET path` on a connection of its own, waits until fleetd counts the watch of
/// `kind` open, hangs up, and returns how long the watch outlived the connection.
async fn hang_up_on(app: &TestApp, path: &str, kind: &str) -> Duration {
    let address = app.base.trim_start_matches("http://").to_owned();
    let mut client = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\n\r\n");
    tokio::io::AsyncWriteExt::write_all(&mut client, request.as_bytes())
        .await
        .expect("send the request");
    let counted = |open: u64| async move {
        tokio::time::timeout(LONG, async {
            while open_watches(app, kind).await != Some(open) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .is_ok()
    };
    assert!(counted(1).await, "the {kind} is open");
    let hung_up = Instant::now();
    drop(client);
    assert!(counted(0).await, "the {kind} outlived its client");
    hung_up.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_or_stream_whose_client_hangs_up_ends_at_once() {
    let app = TestApp::spawn().await;
    // Provisioning on a virtual clock: the wait has nothing to answer until an advance.
    let id = provisioned(&app, "abandoned").await;
    let wait = format!("/servers/{id}/wait?state=running&timeout=60");
    let outlived = hang_up_on(&app, &wait, "wait").await;
    assert!(outlived < Duration::from_secs(2), "the wait: {outlived:?}");
    // Keep-alives come every 15 s: the stream ends before it writes one.
    let outlived = hang_up_on(&app, "/events/stream", "stream").await;
    assert!(
        outlived < Duration::from_secs(2),
        "the stream: {outlived:?}"
    );
    app.shut_down().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_for_running_on_a_terminated_server_is_an_immediate_409() {
    let app = TestApp::spawn().await;
    let id = provisioned(&app, "gone").await;
    assert_eq!(app.act(&id, "terminate").await.status, 202);
    app.advance(10).await;
    let started = Instant::now();
    let reply = app
        .get(&format!("/servers/{id}/wait?state=running&state=stopped"))
        .await;
    assert!(started.elapsed() < Duration::from_secs(1), "at once");
    let problem = reply.assert_problem(409, "state-unreachable");
    assert_eq!(problem["state"], "terminated");
    let timeout = app
        .get(&format!("/servers/{id}/wait?state=terminated&timeout=0"))
        .await;
    timeout.assert_problem(400, "invalid-query");
    app.shut_down().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_records_follow_their_requests_to_the_end() {
    let app = TestApp::spawn().await;
    let created = app.provision("recorded").await;
    let id = created["id"].as_str().expect("id").to_owned();
    let provisioning = created["action"].clone();
    assert_eq!(provisioning["command"], "provision");
    assert_eq!(provisioning["status"], "running");
    app.advance(10).await;
    let path = format!("/actions/{}", provisioning["id"].as_str().expect("id"));
    let done = app.get(&path).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["status"], "success");
    assert!(done.body["finished_at"].is_string());

    let stopping = app.act(&id, "stop").await;
    assert_eq!(stopping.status, 202);
    let stop = stopping.body["action"].clone();
    assert_eq!(stop["command"], "stop");
    assert_eq!(stop["status"], "running");
    // Still stopping a second later; the records' start times then differ.
    app.advance(1).await;
    let terminating = app.act(&id, "terminate").await;
    assert_eq!(terminating.status, 202);
    let stopped = app
        .get(&format!("/actions/{}", stop["id"].as_str().expect("id")))
        .await;
    assert_eq!(stopped.body["status"], "error");
    assert_eq!(stopped.body["error"], "terminate requested while stopping");
    let noop = app.act(&id, "terminate").await;
    assert_eq!(noop.status, 200);
    assert!(noop.body.get("action").is_none(), "a no-op opens none");

    let listed = app.get(&format!("/servers/{id}/actions")).await;
    let commands: Vec<&str> = listed.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|a| a["command"].as_str())
        .collect();
    assert_eq!(commands, ["terminate", "stop", "provision"], "newest first");
    app.shut_down().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_streams_end_when_fleetd_shuts_down() {
    let app = TestApp::spawn().await;
    let mut streams = Vec::new();
    for _ in 0..3 {
        streams.push(Stream::open(&app.base, "?type=server.billed", Some(0)).await);
    }
    let stopping = Instant::now();
    app.shut_down().await.expect("clean shutdown");
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "the streams did not hold the graceful stop: {:?}",
        stopping.elapsed()
    );
    for mut stream in streams {
        assert!(stream.ended(LONG).await, "the stream ended");
    }
}
