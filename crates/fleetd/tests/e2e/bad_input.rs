//! Every kind of bad input, through the real app against each real store (SQLite, and
//! Postgres in a database of its own): the status, the problem body, and that nothing
//! changed. No malformed request gets a 5xx.

use fleetd::{Application, Config, Settings};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::pg::TempDatabase;
use crate::common::{self, TestApp};

/// What a client can see of the whole store: every server and every server's events.
async fn snapshot(app: &TestApp) -> Vec<(Value, Vec<Value>)> {
    let mut all = Vec::new();
    for server in app.all_servers().await {
        let id = server["id"].as_str().expect("id").to_owned();
        all.push((server, app.events(&id).await));
    }
    all
}

/// base64url without padding, as cursors are written.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut text = String::new();
    for chunk in bytes.chunks(3) {
        let word = chunk.iter().enumerate().fold(0u32, |word, (i, byte)| {
            word | (u32::from(*byte) << (16 - 8 * i))
        });
        for i in 0..=chunk.len() {
            text.push(char::from(ALPHABET[((word >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    text
}

#[test]
fn base64url_writes_what_the_cursor_decoder_reads() {
    assert_eq!(base64url(b"v1|x|y"), "djF8eHx5");
    assert_eq!(base64url(b"ab"), "YWI");
    assert_eq!(base64url(b"\xfb\xff"), "-_8");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_a_problem_and_changes_nothing_on_sqlite() {
    let app = TestApp::spawn().await;
    refuses_bad_input(&app).await;
    app.shut_down().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_a_problem_and_changes_nothing_on_postgres() {
    let database = TempDatabase::create().await;
    let app = TestApp::spawn_on(&database).await;
    refuses_bad_input(&app).await;
    app.shut_down().await.expect("clean shutdown");
}

async fn refuses_bad_input(app: &TestApp) {
    let stopped = app.provision("stopped-one").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.advance(10).await;
    assert_eq!(app.act(&stopped, "stop").await.status, 202);
    app.advance(5).await;
    let before = snapshot(app).await;
    let free_before = app.free_addresses("us-east-1").await;
    let unknown = uuid::Uuid::new_v4();

    // Malformed ids, on every route that takes one.
    for path in [
        "/servers/not-a-uuid".to_owned(),
        "/servers/1234/logs".to_owned(),
        "/servers/%F0%9F%92%A5/billing".to_owned(),
        format!("/servers/{}x", unknown),
    ] {
        app.get(&path).await.assert_problem(400, "invalid-id");
    }
    app.post("/servers/nope/action", json!({"action": "stop"}))
        .await
        .assert_problem(400, "invalid-id");

    // Unknown ids.
    for path in [
        format!("/servers/{unknown}"),
        format!("/servers/{unknown}/logs"),
        format!("/servers/{unknown}/billing"),
    ] {
        app.get(&path).await.assert_problem(404, "not-found");
    }
    app.act(&unknown.to_string(), "start")
        .await
        .assert_problem(404, "not-found");

    // Bodies.
    let good = json!({"region": "us-east-1", "type": "t2.micro"}).to_string();
    app.post_raw("/servers", None, good.clone().into_bytes())
        .await
        .assert_problem(415, "unsupported-media-type");
    app.post_raw("/servers", Some("text/plain"), good.into_bytes())
        .await
        .assert_problem(415, "unsupported-media-type");
    app.post_raw(
        "/servers",
        Some("application/json"),
        b"{\"region\":".to_vec(),
    )
    .await
    .assert_problem(400, "malformed-body");
    app.post_raw("/server", Some("application/json"), vec![0xff, 0xfe, 0x00])
        .await
        .assert_problem(400, "malformed-body");
    let deep = format!("{}{}", "[".repeat(5_000), "]".repeat(5_000));
    let deep = app
        .post_raw("/servers", Some("application/json"), deep.into_bytes())
        .await;
    assert!(deep.status == 400 || deep.status == 413, "{}", deep.text);
    app.post_raw("/servers", Some("application/json"), vec![b' '; 64 * 1024])
        .await
        .assert_problem(413, "payload-too-large");
    let cases = [
        (
            json!({"region": "us-east-1", "type": "t2.micro", "extra": 1}),
            "invalid-body",
            "extra",
        ),
        (json!({"region": "us-east-1"}), "invalid-body", "type"),
        (
            json!({"region": ["us-east-1"], "type": "t2.micro"}),
            "invalid-body",
            "sequence",
        ),
        (json!("us-east-1"), "invalid-body", "JSON object"),
        (
            json!(["us-east-1", "t2.micro"]),
            "invalid-body",
            "JSON object",
        ),
        (
            json!({"region": "us-east-1", "type": "t2.micro", "name": null}),
            "invalid-body",
            "null",
        ),
        (
            json!({"region": "mars-1", "type": "t2.micro"}),
            "unknown-region",
            "us-east-1",
        ),
        (
            json!({"region": "us-east-1", "type": "z9.huge"}),
            "unknown-server-type",
            "t2.micro",
        ),
        (
            json!({"region": "us-east-1", "type": "t2.micro", "name": ""}),
            "invalid-name",
            "empty",
        ),
        (
            json!({"region": "us-east-1", "type": "t2.micro", "name": "a\u{7}b"}),
            "invalid-name",
            "control",
        ),
        (
            json!({"region": "us-east-1", "type": "t2.micro", "name": "n".repeat(65)}),
            "invalid-name",
            "64",
        ),
    ];
    for (body, slug, mention) in cases {
        for path in ["/servers", "/server"] {
            let reply = app.post(path, body.clone()).await;
            let problem = reply.assert_problem(422, slug);
            assert!(
                problem["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains(mention)),
                "{body} → {problem}"
            );
        }
    }

    // Actions.
    let action = format!("/servers/{stopped}/action");
    for (body, mention) in [
        (json!({"action": "explode"}), "terminate"),
        (json!({"action": "stop", "force": true}), "force"),
        (json!({}), "action"),
        (json!({"action": 3}), "3"),
    ] {
        let reply = app.post(&action, body.clone()).await;
        let problem = reply.assert_problem(422, "invalid-body");
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains(mention)),
            "{problem}"
        );
    }
    let conflict = app.act(&stopped, "reboot").await;
    let problem = conflict.assert_problem(409, "invalid-state");
    assert_eq!(problem["state"], "stopped");
    assert_eq!(
        problem["allowed_actions"],
        json!(["start", "stop", "terminate"])
    );

    // Query strings.
    for query in [
        "limit=0",
        "limit=101",
        "limit=-3",
        "limit=ten",
        "limit=99999999999999999999",
        "offset=-1",
        "offset=18446744073709551616",
        "state=sleeping",
        "status=RUNNING",
    ] {
        app.get(&format!("/servers?{query}"))
            .await
            .assert_problem(400, "invalid-query");
    }
    app.get("/servers?region=mars-1")
        .await
        .assert_problem(400, "unknown-region");
    app.get("/servers?type=z9.huge")
        .await
        .assert_problem(400, "unknown-server-type");
    // Well-formed cursors whose time no store can represent (about 95,000 BC, which
    // chrono can hold and Postgres cannot) are bad input too, not a store failure.
    let far_past = base64url(format!("v1|-3000000000000000000|{unknown}").as_bytes());
    for cursor in [
        "garbage",
        "djF8eHx5",
        "%00%01",
        "x".repeat(2_000).as_str(),
        far_past.as_str(),
    ] {
        app.get(&format!("/servers?cursor={cursor}"))
            .await
            .assert_problem(400, "invalid-cursor");
    }
    for limit in ["0", "101", "many"] {
        app.get(&format!("/servers/{stopped}/logs?limit={limit}"))
            .await
            .assert_problem(400, "invalid-query");
    }

    // Routes and methods.
    app.get("/nowhere")
        .await
        .assert_problem(404, "route-not-found");
    app.get("/servers/")
        .await
        .assert_problem(404, "route-not-found");
    app.method(Method::DELETE, &format!("/servers/{stopped}"))
        .await
        .assert_problem(405, "method-not-allowed");
    app.method(Method::PUT, "/servers")
        .await
        .assert_problem(405, "method-not-allowed");
    app.get("/swagger/secret.txt")
        .await
        .assert_problem(404, "route-not-found");

    // Request ids that are not kept.
    let long = "r".repeat(500);
    for bad in ["has space", "semi;colon", "\"quoted\"", long.as_str()] {
        let request = app
            .client()
            .get(app.url("/servers/zzz"))
            .header("X-Request-Id", bad);
        let reply = app.send(request, "get", "/servers/zzz").await;
        assert_ne!(reply.header("x-request-id"), Some(bad));
        reply.assert_problem(400, "invalid-id");
    }

    assert_eq!(snapshot(app).await, before, "nothing changed");
    assert_eq!(app.free_addresses("us-east-1").await, free_before);
}

/// `docs/openapi.json`, the whole API with the virtual clock's routes.
fn committed_document() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/openapi.json"
    ))
    .expect("docs/openapi.json");
    serde_json::from_str(&text).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_virtual_clock_mode_serves_the_committed_spec() {
    let app = TestApp::spawn().await;
    assert_eq!(app.spec(), &committed_document());
    app.shut_down().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_system_clock_mode_serves_the_committed_spec_without_the_clock_and_no_clock_routes() {
    let app = TestApp::spawn_with(fleetd::Settings::default()).await;
    let mut without_clock = committed_document();
    let paths = without_clock["paths"].as_object_mut().expect("paths");
    for path in ["/admin/clock", "/admin/clock/advance"] {
        assert!(paths.remove(path).is_some(), "{path} is committed");
    }
    let schemas = without_clock["components"]["schemas"]
        .as_object_mut()
        .expect("schemas");
    for schema in ["ClockReading", "AdvanceRequest", "AdvanceReport"] {
        assert!(schemas.remove(schema).is_some(), "{schema} is committed");
    }
    assert_eq!(app.spec(), &without_clock);
    app.get("/admin/clock")
        .await
        .assert_problem(404, "route-not-found");
    app.post("/admin/clock/advance", json!({"seconds": 10}))
        .await
        .assert_problem(404, "route-not-found");
    let health = app.get("/healthz").await;
    assert_eq!(health.status, 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    let swagger = app.get("/swagger/").await;
    assert_eq!(swagger.status, 200);
    assert!(swagger.text.contains("/api/spec/v3"));
    let bundle = app.get("/swagger/swagger-ui-bundle.js").await;
    assert_eq!(bundle.status, 200);
    assert!(bundle.text.len() > 100_000);
    app.shut_down().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_already_taken_fails_the_start_and_leaves_nothing_running() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let address = taken.local_addr().expect("address");
    let dir = tempfile::tempdir().expect("temp dir");
    let database = dir.path().join("fleet.db");
    let config = Config::from_settings(
        Settings {
            bind: Some(address),
            database_url: Some(format!("sqlite://{}", database.display())),
            worker_interval_ms: Some(10),
            ..Default::default()
        },
        |p| std::fs::read_to_string(p),
    )
    .expect("config");
    let (logger, logs) = common::memory_logger();
    let error = match Application::build(config, logger, common::metrics()).await {
        Ok(_) => panic!("{address} is taken, yet fleetd started"),
        Err(error) => format!("{error:#}"),
    };
    assert!(error.contains(&format!("binding {address}")), "{error}");
    // Time for a worker started by mistake to run many passes and say so.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let logs = logs.lock().expect("logs").clone();
    assert!(
        !logs.iter().any(|line| line.contains("worker")),
        "no worker ran: {logs:#?}"
    );
    assert!(!database.exists(), "the store was not even opened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shut_down_app_finishes_and_stops_listening() {
    let app = TestApp::spawn().await;
    let url = app.url("/healthz");
    assert_eq!(app.get("/healthz").await.status, 200);
    let client = reqwest::Client::new();
    app.shut_down().await.expect("clean shutdown");
    assert!(client.get(url).send().await.is_err(), "no longer listening");
}
