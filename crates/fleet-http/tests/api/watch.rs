//! Watching over HTTP: `/events`, `/events/stream`, `/servers/{id}/wait` and the action
//! records, against mocked ports (and, where a wait must really wait, a quiet event log).

use std::future::poll_fn;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::http::{StatusCode, header};
use actix_web::test::{self, TestRequest};
use chrono::{DateTime, Utc};
use fleet_domain::error::StoreError;
use fleet_domain::ports::{EventLog, MockActionStore, MockEventLog, MockStore};
use fleet_domain::{
    ActionCommand, ActionId, ActionRecord, ActionStatus, Actor, Event, EventHorizon, EventKind,
    EventQuery, EventReadError, Labels, NewEvent, Selector, Server, ServerState,
};
use fleet_http::Shutdown;
use serde_json::{Value, json};

use crate::support::{Fixture, longest_selector_encoded, problem, send_to, server, t0};

/// A stored event about `server` at `seq`.
fn event(seq: i64, server: &Server, kind: EventKind) -> Event {
    Event {
        id: seq,
        seq: Some(seq),
        project: server.project,
        labels: server.labels.clone(),
        event: NewEvent {
            subject: fleet_domain::event::EventSubject::Server(server.id),
            at: t0(),
            kind,
            from_state: None,
            to_state: Some(ServerState::Provisioning),
            actor: Actor::Api,
            request_id: Some("req-1".to_owned()),
            trace: None,
            key: None,
            message: "provisioned".to_owned(),
            reason: None,
        },
    }
}

/// An event log whose first read returns `first` and later ones nothing, and whose waits
/// last their patience: nothing more ever happens.
struct Quiet {
    latest: i64,
    first: Mutex<Vec<Event>>,
}

impl Quiet {
    fn new(latest: i64, first: Vec<Event>) -> Arc<Quiet> {
        Arc::new(Quiet {
            latest,
            first: Mutex::new(first),
        })
    }
}

#[async_trait::async_trait]
impl EventLog for Quiet {
    async fn events_after(&self, _: &EventQuery) -> Result<Vec<Event>, EventReadError> {
        Ok(std::mem::take(&mut *self.first.lock().expect("first")))
    }

    async fn horizon(&self) -> Result<EventHorizon, StoreError> {
        Ok(EventHorizon {
            latest: self.latest,
            pruned_through: 0,
        })
    }

    async fn wait_beyond(&self, seen: i64, patience: Duration) -> Result<i64, StoreError> {
        tokio::time::sleep(patience).await;
        Ok(seen)
    }

    async fn prune_events(&self, _: DateTime<Utc>, _: u32, _: u32) -> Result<u32, StoreError> {
        Ok(0)
    }
}

fn horizon(events: &mut MockEventLog, latest: i64) {
    events.expect_horizon().returning(move || {
        Ok(EventHorizon {
            latest,
            pruned_through: 0,
        })
    });
}

#[actix_web::test]
async fn a_page_of_events_carries_each_events_place_and_the_next_cursor() {
    let mut s = server(ServerState::Provisioning);
    s.labels = Labels::from_client(
        [("env", "prod"), ("tier", "web")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into(),
    )
    .expect("labels");
    let page = vec![event(5, &s, EventKind::Created)];
    let mut fixture = Fixture::default();
    horizon(&mut fixture.events, 9);
    let selector = Selector::parse("env=prod,tier notin (db)").expect("a selector");
    fixture
        .events
        .expect_events_after()
        .withf(move |query| {
            query.after == 4 && query.limit == 20 && query.selector.as_ref() == Some(&selector)
        })
        .return_once(move |_| Ok(page));
    let response = send_to(
        fixture.state(),
        TestRequest::get().uri("/events?after=4&label_selector=env%3Dprod%2Ctier%20notin%20(db)"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = test::read_body_json(response).await;
    let first = &body["items"][0];
    assert_eq!(first["seq"], 5);
    assert_eq!(first["type"], "server.provisioned");
    assert_eq!(first["server_id"], s.id.to_string());
    assert_eq!(first["to_state"], "provisioning");
    assert_eq!(first["actor"], "api");
    assert_eq!(first["request_id"], "req-1");
    assert_eq!(first["labels"], json!({ "env": "prod", "tier": "web" }));
    assert!(first.get("from_state").is_none(), "absent, never null");
    assert_eq!(body["next_after"], 9, "nothing else up to the horizon");
}

#[actix_web::test]
async fn bad_cursors_filters_and_limits_are_400_problems_naming_what_is_wrong() {
    let cases = [
        ("/events?after=-1", "invalid-cursor", "'-1'"),
        ("/events?after=abc", "invalid-cursor", "'abc'"),
        (
            "/events?type=server.exploded",
            "invalid-query",
            "server.exploded",
        ),
        ("/events?limit=0", "invalid-query", "limit"),
        ("/events?limit=many", "invalid-query", "limit"),
        ("/events?server_id=nope", "invalid-query", "server_id"),
        ("/events/stream?after=1.5", "invalid-cursor", "'1.5'"),
        ("/events/stream?type=billed", "invalid-query", "billed"),
    ];
    for (uri, slug, named) in cases {
        // The mocks expect nothing: nothing reaches the log.
        let response = send_to(Fixture::default().state(), TestRequest::get().uri(uri)).await;
        let body = problem(response, 400, slug).await;
        assert!(
            body["detail"].as_str().is_some_and(|d| d.contains(named)),
            "{uri}: {body}"
        );
    }
    let response = send_to(
        Fixture::default().state(),
        TestRequest::get()
            .uri("/events/stream")
            .insert_header(("Last-Event-ID", "-3")),
    )
    .await;
    problem(response, 400, "invalid-cursor").await;
}

#[actix_web::test]
async fn a_bad_selector_is_the_400_that_get_servers_answers_pointing_at_its_fault() {
    for path in ["/servers", "/events", "/events/stream"] {
        for (selector, position) in [("env%20in%20()", Some(8)), ("env%3D%3D%3Dx", Some(5))] {
            let uri = format!("{path}?label_selector={selector}");
            // The mocks expect nothing: nothing reaches a store.
            let response = send_to(Fixture::default().state(), TestRequest::get().uri(&uri)).await;
            let refused = problem(response, 400, "invalid-label-selector").await;
            assert_eq!(refused["position"], json!(position), "{uri}: {refused}");
            assert!(
                refused["detail"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("invalid label selector: at character")),
                "{uri}: {refused}"
            );
        }
    }
}

#[actix_web::test]
async fn the_longest_selector_fits_beside_every_other_filter_of_events() {
    let encoded = longest_selector_encoded();
    let types: String = [
        "server.provisioned",
        "server.action_requested",
        "server.state_changed",
        "server.billed",
        "server.reaped",
        "server.updated",
    ]
    .map(|t| format!("&type={t}"))
    .concat();
    let mut fixture = Fixture::default();
    horizon(&mut fixture.events, 0);
    fixture
        .events
        .expect_events_after()
        .withf(|query| {
            query.types.len() == 6
                && query
                    .selector
                    .as_ref()
                    .is_some_and(|s| s.requirements().len() == 32)
        })
        .returning(|_| Ok(Vec::new()));
    let uri = format!(
        "/events?after={}&server_id={}&limit=100{types}&label_selector={encoded}",
        i64::MAX,
        uuid::Uuid::nil()
    );
    let response = send_to(fixture.state(), TestRequest::get().uri(&uri)).await;
    assert_eq!(response.status(), StatusCode::OK, "{uri}");
}

#[actix_web::test]
async fn a_stream_takes_a_selector_to_its_log() {
    let log = Quiet::new(7, Vec::new());
    let selectors = Arc::new(Mutex::new(Vec::new()));
    let fixture = Fixture {
        log: Some(Arc::new(Recording {
            inner: log,
            asked: Arc::default(),
            selectors: selectors.clone(),
        })),
        ..Fixture::default()
    };
    let response = send_to(
        fixture.state(),
        TestRequest::get().uri("/events/stream?after=1&label_selector=!canary"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        selectors.lock().expect("selectors")[0],
        Some(Selector::parse("!canary").expect("a selector"))
    );
}

#[actix_web::test]
async fn a_pruned_cursor_is_410_gone_before_anything_is_streamed() {
    for uri in ["/events?after=3", "/events/stream?after=3"] {
        let mut fixture = Fixture::default();
        horizon(&mut fixture.events, 900);
        fixture.events.expect_events_after().returning(|query| {
            Err(EventReadError::Expired {
                after: query.after,
                pruned_through: 250,
            })
        });
        let response = send_to(fixture.state(), TestRequest::get().uri(uri)).await;
        let body = problem(response, 410, "cursor-expired").await;
        assert!(
            body["detail"].as_str().is_some_and(|d| d.contains("250")),
            "{body}"
        );
    }
}

#[actix_web::test]
async fn a_stream_resumes_after_last_event_id_and_ends_when_the_service_shuts_down() {
    let s = server(ServerState::Running);
    let first = vec![
        event(5, &s, EventKind::Created),
        event(7, &s, EventKind::Billed),
    ];
    let log = Quiet::new(7, first);
    let (trigger, shutdown) = Shutdown::new();
    let asked = Arc::new(Mutex::new(Vec::new()));
    let fixture = Fixture {
        log: Some(Arc::new(Recording {
            inner: log,
            asked: asked.clone(),
            selectors: Arc::default(),
        })),
        shutdown,
        ..Fixture::default()
    };
    let response = send_to(
        fixture.state(),
        TestRequest::get()
            .uri("/events/stream?after=1")
            .insert_header(("Last-Event-ID", "4")),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.as_bytes()),
        Some(&b"text/event-stream"[..])
    );
    assert_eq!(
        asked.lock().expect("asked")[0],
        4,
        "Last-Event-ID takes the place of `after`"
    );
    let mut body = pin!(response.into_body());
    let mut text = String::new();
    while text.matches("\n\n").count() < 4 {
        let chunk = poll_fn(|cx| body.as_mut().poll_next(cx))
            .await
            .expect("a message")
            .expect("no failure");
        text.push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
    }
    let messages: Vec<&str> = text.split("\n\n").collect();
    assert_eq!(messages[0], "retry: 3000");
    assert_eq!(
        messages[1], "id: 4\ndata: ",
        "first, only the cursor the stream starts from"
    );
    let lines: Vec<&str> = messages[2].lines().collect();
    assert_eq!(lines[..2], ["id: 5", "event: server.provisioned"]);
    let data: Value =
        serde_json::from_str(lines[2].strip_prefix("data: ").expect("data")).expect("JSON");
    assert_eq!(data["seq"], 5);
    assert_eq!(data["type"], "server.provisioned");
    assert!(messages[3].starts_with("id: 7\nevent: server.billed\n"));

    let started = Instant::now();
    trigger.fire();
    let end = poll_fn(|cx| body.as_mut().poll_next(cx)).await;
    assert!(end.is_none(), "the stream ends cleanly");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// An event log that records the cursor and the selector of every read of another.
struct Recording {
    inner: Arc<Quiet>,
    asked: Arc<Mutex<Vec<i64>>>,
    selectors: Arc<Mutex<Vec<Option<Selector>>>>,
}

#[async_trait::async_trait]
impl EventLog for Recording {
    async fn events_after(&self, query: &EventQuery) -> Result<Vec<Event>, EventReadError> {
        self.asked.lock().expect("asked").push(query.after);
        self.selectors
            .lock()
            .expect("selectors")
            .push(query.selector.clone());
        self.inner.events_after(query).await
    }

    async fn horizon(&self) -> Result<EventHorizon, StoreError> {
        self.inner.horizon().await
    }

    async fn wait_beyond(&self, seen: i64, patience: Duration) -> Result<i64, StoreError> {
        self.inner.wait_beyond(seen, patience).await
    }

    async fn prune_events(&self, at: DateTime<Utc>, keep: u32, n: u32) -> Result<u32, StoreError> {
        self.inner.prune_events(at, keep, n).await
    }
}

fn serving(state: ServerState) -> (Server, MockStore) {
    let s = server(state);
    let mut store = MockStore::new();
    let stored = s.clone();
    store
        .expect_get()
        .returning(move |_| Ok(Some(stored.clone())));
    (s, store)
}

/// A server in `state` and an app over it whose event log stays quiet.
fn waiting(state: ServerState) -> (Server, Fixture) {
    let (s, store) = serving(state);
    let fixture = Fixture {
        store,
        log: Some(Quiet::new(3, Vec::new())),
        ..Fixture::default()
    };
    (s, fixture)
}

#[actix_web::test]
async fn a_wait_for_the_state_the_server_is_in_answers_with_the_server() {
    let (s, fixture) = waiting(ServerState::Stopped);
    let uri = format!("/servers/{}/wait?state=running&state=stopped", s.id);
    let response = send_to(fixture.state(), TestRequest::get().uri(&uri)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = test::read_body_json(response).await;
    assert_eq!(body["id"], s.id.to_string());
    assert_eq!(body["state"], "stopped");
}

#[actix_web::test]
async fn a_wait_for_running_on_a_terminated_server_is_an_immediate_409() {
    let (s, fixture) = waiting(ServerState::Terminated);
    let started = Instant::now();
    let uri = format!("/servers/{}/wait?state=running", s.id);
    let response = send_to(fixture.state(), TestRequest::get().uri(&uri)).await;
    let body = problem(response, 409, "state-unreachable").await;
    assert_eq!(body["state"], "terminated");
    assert!(started.elapsed() < Duration::from_secs(1), "at once");
}

#[actix_web::test]
async fn a_wait_that_times_out_is_408_naming_the_state() {
    let (s, fixture) = waiting(ServerState::Starting);
    let started = Instant::now();
    let uri = format!("/servers/{}/wait?state=running&timeout=1", s.id);
    let response = send_to(fixture.state(), TestRequest::get().uri(&uri)).await;
    let body = problem(response, 408, "wait-timeout").await;
    assert_eq!(body["state"], "starting");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
}

#[actix_web::test]
async fn a_wait_under_way_at_shutdown_is_a_503_to_retry() {
    let (s, mut fixture) = waiting(ServerState::Starting);
    let (trigger, shutdown) = Shutdown::new();
    trigger.fire();
    fixture.shutdown = shutdown;
    let uri = format!("/servers/{}/wait?state=running", s.id);
    let response = send_to(fixture.state(), TestRequest::get().uri(&uri)).await;
    problem(response, 503, "shutting-down").await;
}

#[actix_web::test]
async fn bad_wait_parameters_are_400_problems_before_anything_is_read() {
    let id = server(ServerState::Running).id;
    for (query, named) in [
        ("state=asleep", "asleep"),
        ("", "at least one state"),
        ("state=running&timeout=0", "timeout"),
        ("state=running&timeout=61", "timeout"),
        ("state=running&timeout=soon", "timeout"),
    ] {
        let uri = format!("/servers/{id}/wait?{query}");
        let response = send_to(Fixture::default().state(), TestRequest::get().uri(&uri)).await;
        let body = problem(response, 400, "invalid-query").await;
        assert!(
            body["detail"].as_str().is_some_and(|d| d.contains(named)),
            "{query}: {body}"
        );
    }
    let response = send_to(
        Fixture::default().state(),
        TestRequest::get().uri("/servers/nope/wait?state=running"),
    )
    .await;
    problem(response, 400, "invalid-id").await;
}

fn record(s: &Server) -> ActionRecord {
    ActionRecord {
        id: ActionId::random(),
        project: s.project,
        server_id: s.id,
        command: ActionCommand::Provision,
        status: ActionStatus::Error,
        started_at: t0(),
        finished_at: Some(t0()),
        error: Some("terminate requested while provisioning".to_owned()),
        request_id: None,
    }
}

#[actix_web::test]
async fn an_action_record_is_read_by_id_and_an_unknown_one_is_404() {
    let s = server(ServerState::Terminating);
    let action = record(&s);
    let id = action.id;
    let mut actions = MockActionStore::new();
    actions
        .expect_action()
        .returning(move |asked| Ok((asked == id).then(|| action.clone())));
    let state = Fixture {
        actions,
        ..Fixture::default()
    }
    .state();
    let response = send_to(
        state.clone(),
        TestRequest::get().uri(&format!("/actions/{id}")),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = test::read_body_json(response).await;
    assert_eq!(body["id"], id.to_string());
    assert_eq!(body["command"], "provision");
    assert_eq!(body["status"], "error");
    assert_eq!(body["error"], "terminate requested while provisioning");
    assert!(body.get("request_id").is_none(), "absent, never null");
    let other = ActionId::random();
    let response = send_to(
        state.clone(),
        TestRequest::get().uri(&format!("/actions/{other}")),
    )
    .await;
    problem(response, 404, "not-found").await;
    let response = send_to(state, TestRequest::get().uri("/actions/nope")).await;
    let body = problem(response, 400, "invalid-id").await;
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("action id")),
        "{body}"
    );
}

#[actix_web::test]
async fn a_servers_actions_are_a_page_with_a_cursor_for_the_next() {
    let (s, store) = serving(ServerState::Running);
    let records: Vec<_> = (0..3).map(|_| record(&s)).collect();
    let mut actions = MockActionStore::new();
    actions
        .expect_server_actions()
        .returning(move |_, _| Ok(records.clone()));
    let state = Fixture {
        store,
        actions,
        ..Fixture::default()
    }
    .state();
    let uri = format!("/servers/{}/actions?limit=2", s.id);
    let response = send_to(state.clone(), TestRequest::get().uri(&uri)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = test::read_body_json(response).await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(2));
    assert!(body["next_cursor"].is_string(), "{body}");
    let uri = format!("/servers/{}/actions?cursor=bogus", s.id);
    let response = send_to(state, TestRequest::get().uri(&uri)).await;
    problem(response, 400, "invalid-cursor").await;
}
