//! The generated Rust client (`fleet-client`, from the committed document) drives a server's
//! whole life against a real fleetd, on SQLite and on Postgres, moving the virtual clock
//! itself, and reads refusals as typed problems: what an SDK user would do.

use fleet_client::{Client, Failure, builder, types};
use uuid::Uuid;

use crate::common::TestApp;
use crate::common::pg::TempDatabase;

/// The typed problem a refused call answered (`application/json`, as the client asks
/// for); fails the test on any other outcome.
async fn refusal<T: std::fmt::Debug>(
    result: Result<T, fleet_client::Error<types::Problem>>,
) -> types::Problem {
    let response = match result {
        Ok(value) => panic!("the call succeeded: {value:?}"),
        Err(fleet_client::Error::ErrorResponse(response)) => response,
        Err(other) => panic!("not a documented error response: {other}"),
    };
    let content_type = response.headers().get("content-type").cloned();
    assert_eq!(
        content_type.as_ref().and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let failure = Failure::of(fleet_client::Error::ErrorResponse(response)).await;
    let (title, detail) = failure
        .title_and_detail()
        .expect("a problem's title and detail");
    assert!(!title.is_empty() && !detail.is_empty(), "{failure}");
    match failure {
        Failure::Refused(problem) => *problem,
        other => panic!("not a problem: {other}"),
    }
}

/// A request for `action` on the server `id`, to send.
fn act<'a>(client: &'a Client, id: Uuid, action: &'a str) -> builder::ActOnServer<'a> {
    client
        .act_on_server()
        .id(id)
        .body_map(move |body| body.action(action))
}

/// Moves the virtual clock `seconds` on through the client; the clock reads the new time.
async fn advance(client: &Client, seconds: i64) {
    let before = client
        .read_clock()
        .send()
        .await
        .expect("read the clock")
        .now;
    let report = client
        .advance_clock()
        .body_map(|body| body.seconds(seconds))
        .send()
        .await
        .expect("advance the clock");
    assert_eq!((report.now - before).num_seconds(), seconds);
    let after = client.read_clock().send().await.expect("read the clock");
    assert_eq!(after.now, report.now);
}

async fn lifecycle(app: &TestApp) {
    let client = Client::connect(&app.base, None).expect("client");

    let created = client
        .provision_server()
        .body_map(|body| {
            body.region("us-east-1".to_owned())
                .type_("t2.micro".to_owned())
                .name(Some(
                    "sdk-1"
                        .parse::<types::ProvisionRequestName>()
                        .expect("a name"),
                ))
        })
        .send()
        .await
        .expect("provision");
    assert_eq!(created.status().as_u16(), 201);
    let id = created.id;
    assert_eq!(created.name, "sdk-1");
    assert_eq!(created.state.to_string(), "provisioning");
    let ip = created.ip.clone().expect("an address");

    advance(&client, 10).await;
    let running = client.get_server().id(id).send().await.expect("get");
    assert_eq!(running.state.to_string(), "running");

    let listed = client
        .list_servers()
        .region("us-east-1")
        .limit(100)
        .send()
        .await
        .expect("list");
    assert!(listed.items.iter().any(|s| s.id == id));

    advance(&client, 30).await;
    let stopping = act(&client, id, "stop").send().await.expect("stop");
    assert_eq!(stopping.status().as_u16(), 202);
    assert_eq!(stopping.state.to_string(), "stopping");
    advance(&client, 5).await;
    let stopped = client.get_server().id(id).send().await.expect("get");
    assert_eq!(stopped.state.to_string(), "stopped");
    assert_eq!(stopped.ip.as_deref(), Some(ip.as_str()));

    // Running from t=10 to the stop at t=40 is 30 s, billed as the 60 s minimum.
    let billing = client
        .get_server_billing()
        .id(id)
        .send()
        .await
        .expect("billing");
    let seconds: i64 = billing.records.iter().map(|r| r.seconds).sum();
    assert_eq!(seconds, 60);
    assert_eq!(billing.billing.billed.micros, 60 * 11_600 / 3_600);
    assert_eq!(billing.billing.billed.currency, "USD");

    let events = client
        .get_server_events()
        .id(id)
        .send()
        .await
        .expect("events");
    let newest = events.items.first().expect("an event");
    assert_eq!(
        newest.to_state.as_ref().map(ToString::to_string).as_deref(),
        Some("stopped")
    );
    assert!(
        events
            .items
            .iter()
            .any(|e| e.type_.to_string() == "created")
    );

    let problem = refusal(act(&client, id, "reboot").send().await).await;
    assert_eq!(problem.status, 409);
    assert_eq!(problem.type_, "urn:fleet:problem:invalid-state");
    assert!(problem.detail.contains("stopped"), "{}", problem.detail);
    let allowed: Vec<String> = problem
        .allowed_actions
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(allowed, ["start", "stop", "terminate"]);

    let problem = refusal(
        client
            .provision_server()
            .body_map(|body| {
                body.region("mars-1".to_owned())
                    .type_("t2.micro".to_owned())
            })
            .send()
            .await,
    )
    .await;
    assert_eq!(problem.status, 422);
    assert_eq!(problem.type_, "urn:fleet:problem:unknown-region");
    assert!(problem.detail.contains("mars-1"), "{}", problem.detail);
    assert!(!problem.request_id.is_empty());

    let terminating = act(&client, id, "terminate")
        .send()
        .await
        .expect("terminate");
    assert_eq!(terminating.state.to_string(), "terminating");
    advance(&client, 5).await;
    let gone = client.get_server().id(id).send().await.expect("get");
    assert_eq!(gone.state.to_string(), "terminated");
    assert_eq!(gone.ip, None, "a terminated server gives its address back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generated_client_drives_a_server_on_sqlite() {
    let app = TestApp::spawn().await;
    lifecycle(&app).await;
    app.shut_down().await.expect("shut down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generated_client_drives_a_server_on_postgres() {
    let database = TempDatabase::create().await;
    let app = TestApp::spawn_on(&database).await;
    lifecycle(&app).await;
    app.shut_down().await.expect("shut down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_system_clock_the_clock_is_a_documented_404_problem() {
    let app = TestApp::spawn_with(fleetd::Settings::default()).await;
    let client = Client::connect(&app.base, None).expect("client");
    let reading = refusal(client.read_clock().send().await).await;
    let advancing = refusal(
        client
            .advance_clock()
            .body_map(|body| body.seconds(60))
            .send()
            .await,
    )
    .await;
    for problem in [reading, advancing] {
        assert_eq!(problem.status, 404);
        assert_eq!(problem.type_, "urn:fleet:problem:route-not-found");
    }
    app.shut_down().await.expect("shut down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_of_a_closed_port_is_told_it_got_no_answer() {
    let client = Client::connect("http://127.0.0.1:1", None).expect("client");
    let error = client.get_catalog().send().await.expect_err("no service");
    match Failure::of(error).await {
        Failure::Unreachable { reason } => assert!(!reason.is_empty()),
        other => panic!("not unreachable: {other}"),
    }
}

/// The `ETag` of an answer the client received.
fn etag<T>(response: &fleet_client::ResponseValue<T>) -> String {
    response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("an ETag")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generated_client_reads_and_acts_conditionally_and_in_bulk() {
    let app = TestApp::spawn().await;
    let client = Client::connect(&app.base, None).expect("client");
    let labels = types::Labels(
        [("env".to_owned(), "dev".parse().expect("a label value"))]
            .into_iter()
            .collect(),
    );
    let created = client
        .provision_server()
        .body_map(|body| {
            body.region("us-east-1".to_owned())
                .type_("t2.micro".to_owned())
                .labels(Some(labels))
        })
        .send()
        .await
        .expect("provision");
    let id = created.id;
    advance(&client, 10).await;
    let read = client.get_server().id(id).send().await.expect("get");
    let current = etag(&read);

    let cached = client
        .get_server()
        .id(id)
        .if_none_match(current.clone())
        .send()
        .await
        .expect_err("not modified");
    assert!(fleet_client::is_not_modified(&cached), "{cached}");

    let problem = refusal(
        act(&client, id, "stop")
            .if_match(etag(&created))
            .send()
            .await,
    )
    .await;
    assert_eq!(problem.status, 412);
    assert_eq!(problem.etag.as_deref(), Some(current.as_str()));

    let report = client
        .act_on_servers()
        .body_map(|body| body.label_selector("env=dev").action(types::Action::Stop))
        .send()
        .await
        .expect("bulk stop");
    assert_eq!(report.matched, 1);
    assert_eq!(report.counts.accepted, 1);
    assert_eq!(report.results[0].server_id, id);
    assert_eq!(
        report.results[0].outcome,
        types::BulkActionOutcome::Accepted
    );
    let changed = client
        .get_server()
        .id(id)
        .if_none_match(current)
        .send()
        .await
        .expect("changed since");
    assert_eq!(changed.state.to_string(), "stopping");
    app.shut_down().await.expect("shut down");
}
