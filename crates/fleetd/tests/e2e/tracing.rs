//! Distributed tracing through a real fleetd process exporting to a test OTLP collector:
//! a request's `traceparent` is continued (its trace id in the request's log line, on the
//! events it causes and on the spans fleetd exports, the request's span a child of the
//! caller's), its store calls are children of the request's span, and the webhook delivery
//! of its event carries the trace on.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::collector::{Collector, Span};
use crate::common::process::Fleetd;
use crate::common::receiver::{Receiver, Script};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";
const SERVER: i32 = 2;
const CLIENT: i32 = 3;

async fn provision(fleetd: &Fleetd, traceparent: Option<&str>, request_id: &str) -> Value {
    let mut request = reqwest::Client::new()
        .post(format!("{}/servers", fleetd.base))
        .header("x-request-id", request_id)
        .json(&json!({"region": "us-west-2", "type": "t2.nano"}));
    if let Some(traceparent) = traceparent {
        request = request.header("traceparent", traceparent);
    }
    let response = request.send().await.expect("POST /servers");
    assert_eq!(response.status(), 201);
    response.json().await.expect("a server")
}

/// The access-log line of the request with this id.
fn request_line(log: &[Value], request_id: &str) -> Value {
    log.iter()
        .find(|line| line["msg"] == "request" && line["request_id"] == request_id)
        .cloned()
        .unwrap_or_else(|| panic!("no access-log line for {request_id}"))
}

fn named<'a>(spans: &'a [Span], trace_id: &str, name: &str) -> Vec<&'a Span> {
    spans
        .iter()
        .filter(|s| s.trace_id == trace_id && s.name == name)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traceparent_is_continued_into_spans_logs_events_and_webhook_deliveries() {
    let collector = Collector::start().await;
    let receiver = Receiver::start(Script::Always(204)).await;
    let dir = tempfile::tempdir().expect("a directory");
    let database = format!("sqlite://{}", dir.path().join("fleet.db").display());
    let fleetd = Fleetd::start(
        &database,
        &[
            "--otlp-endpoint".to_owned(),
            collector.endpoint.clone(),
            "--log-format".to_owned(),
            "json".to_owned(),
        ],
    );
    let (status, _) = fleetd
        .post(
            "/webhooks",
            json!({ "url": receiver.url, "event_types": ["server.provisioned"] }),
        )
        .await;
    assert_eq!(status, 201);

    let traced = provision(
        &fleetd,
        Some(&format!("00-{TRACE_ID}-{CALLER_SPAN}-01")),
        "traced-1",
    )
    .await;
    let untraced = provision(&fleetd, None, "untraced-1").await;

    // The events the requests caused carry their traces.
    let events = fleetd
        .get(&format!(
            "/servers/{}/logs",
            traced["id"].as_str().expect("an id")
        ))
        .await;
    let provisioned = &events["items"][0];
    assert_eq!(provisioned["type"], "created", "{events}");
    assert_eq!(provisioned["trace_id"], TRACE_ID, "{events}");
    let fresh = fleetd
        .get(&format!(
            "/servers/{}/logs",
            untraced["id"].as_str().expect("an id")
        ))
        .await;
    let fresh_trace = fresh["items"][0]["trace_id"]
        .as_str()
        .unwrap_or_else(|| panic!("a request without traceparent starts a trace: {fresh}"))
        .to_owned();
    assert_eq!(fresh_trace.len(), 32);
    assert_ne!(fresh_trace, TRACE_ID);

    // The webhook delivery of the traced event continues its trace.
    let deliveries = receiver
        .until(Duration::from_secs(30), |received| {
            received
                .iter()
                .any(|r| r.json["data"]["trace_id"] == TRACE_ID)
        })
        .await;
    let delivery = deliveries
        .iter()
        .find(|r| r.json["data"]["trace_id"] == TRACE_ID)
        .expect("the traced event's delivery");
    assert!(
        delivery.traceparent.starts_with(&format!("00-{TRACE_ID}-")),
        "{delivery:?}"
    );

    // The spans, flushed as fleetd stops.
    let (stopped, log) = fleetd.terminate();
    assert!(stopped, "fleetd stops cleanly");
    assert_eq!(request_line(&log, "traced-1")["trace_id"], TRACE_ID);
    assert_eq!(
        request_line(&log, "untraced-1")["trace_id"],
        fresh_trace.as_str()
    );

    let spans = collector
        .until(Duration::from_secs(10), |spans| {
            !named(spans, TRACE_ID, "POST /servers").is_empty()
                && !named(spans, TRACE_ID, "webhook delivery").is_empty()
        })
        .await;
    let request = named(&spans, TRACE_ID, "POST /servers");
    assert_eq!(request.len(), 1, "{spans:#?}");
    let request = request[0];
    assert_eq!(
        request.parent_span_id, CALLER_SPAN,
        "a child of the caller's span"
    );
    assert_eq!(request.kind, SERVER);
    assert_eq!(request.scope, "fleet-http");
    assert!(request.service.contains("fleetd"), "{request:?}");
    let provision = named(&spans, TRACE_ID, "provision");
    assert_eq!(provision.len(), 1, "the store call: {spans:#?}");
    assert_eq!(provision[0].parent_span_id, request.span_id);
    assert_eq!(provision[0].kind, CLIENT);
    assert_eq!(provision[0].scope, "fleet-store");
    let delivery_span = named(&spans, TRACE_ID, "webhook delivery")[0];
    assert_eq!(
        delivery.traceparent,
        format!("00-{TRACE_ID}-{}-01", delivery_span.span_id),
        "the delivery's request names its own span"
    );
    assert!(
        !named(&spans, &fresh_trace, "POST /servers").is_empty(),
        "the fresh trace is exported too"
    );
    assert!(
        spans
            .iter()
            .any(|s| s.name == "lifecycle pass" && s.parent_span_id.is_empty()),
        "worker passes are root spans"
    );
    receiver.stop().await;
    collector.stop().await;
}

/// Without an endpoint fleetd exports nothing, yet each request still has a trace id in
/// its log line and on its events; a malformed `traceparent` starts a new trace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_endpoint_requests_still_have_trace_ids() {
    let dir = tempfile::tempdir().expect("a directory");
    let database = format!("sqlite://{}", dir.path().join("fleet.db").display());
    let fleetd = Fleetd::start(&database, &["--log-format".to_owned(), "json".to_owned()]);
    let traced = provision(
        &fleetd,
        Some(&format!("00-{TRACE_ID}-{CALLER_SPAN}-01")),
        "traced-2",
    )
    .await;
    let malformed = provision(&fleetd, Some("00-not-a-trace-01"), "malformed-2").await;
    let trace_of = |server: Value| {
        let fleetd = &fleetd;
        async move {
            let events = fleetd
                .get(&format!(
                    "/servers/{}/logs",
                    server["id"].as_str().expect("an id")
                ))
                .await;
            events["items"][0]["trace_id"].as_str().map(str::to_owned)
        }
    };
    assert_eq!(trace_of(traced).await.as_deref(), Some(TRACE_ID));
    let fresh = trace_of(malformed).await.expect("a new trace");
    assert_ne!(fresh, TRACE_ID);
    let (stopped, log) = fleetd.terminate();
    assert!(stopped);
    assert_eq!(request_line(&log, "traced-2")["trace_id"], TRACE_ID);
    assert_eq!(
        request_line(&log, "malformed-2")["trace_id"],
        fresh.as_str()
    );
}
