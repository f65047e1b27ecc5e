//! The REST API against mocked ports, mounted as fleetd mounts it (beside the operational
//! routes, inside their middleware): status codes, problem bodies, request ids, the spec
//! and Swagger routes. A mock store with no expectation set panics when called, so
//! every refused request here is also shown to change nothing.

use actix_web::http::{StatusCode, header};
use actix_web::test::{self, TestRequest};
use fleet_domain::ServerState;
use fleet_domain::error::StoreError;
use fleet_domain::ports::MockStore;
use fleet_ops::NotReady;
use serde_json::{Value, json};

use crate::support::{post_json, problem, send, send_to, send_with, server, state, t0};

#[actix_web::test]
async fn malformed_ids_are_400_problems() {
    let id_routes = [
        TestRequest::get().uri("/servers/not-a-uuid"),
        TestRequest::get().uri("/servers/123/logs"),
        TestRequest::get().uri("/servers/%00/billing"),
        post_json("/servers/zzz/action", json!({"action": "stop"})),
    ];
    for request in id_routes {
        let body = problem(send(MockStore::new(), request).await, 400, "invalid-id").await;
        assert!(
            body["detail"].as_str().is_some_and(|d| d.contains("UUID")),
            "{body}"
        );
    }
}

#[actix_web::test]
async fn bad_provisioning_bodies_are_refused_with_the_fitting_status() {
    let valid = json!({"region": "us-east-1", "type": "t2.micro"});
    let cases: Vec<(TestRequest, u16, &str)> = vec![
        (
            TestRequest::post()
                .uri("/servers")
                .set_payload(valid.to_string()),
            415,
            "unsupported-media-type",
        ),
        (
            TestRequest::post()
                .uri("/servers")
                .insert_header((header::CONTENT_TYPE, "text/plain"))
                .set_payload(valid.to_string()),
            415,
            "unsupported-media-type",
        ),
        (
            TestRequest::post()
                .uri("/servers")
                .insert_header((header::CONTENT_TYPE, "application/json"))
                .set_payload("{\"region\":"),
            400,
            "malformed-body",
        ),
        (
            TestRequest::post()
                .uri("/servers")
                .insert_header((header::CONTENT_TYPE, "application/json"))
                .set_payload(""),
            400,
            "malformed-body",
        ),
        (
            post_json(
                "/servers",
                json!({"region": "us-east-1", "type": "t2.micro", "colour": "red"}),
            ),
            422,
            "invalid-body",
        ),
        (
            post_json("/servers", json!({"region": "us-east-1"})),
            422,
            "invalid-body",
        ),
        (post_json("/server", json!([1, 2])), 422, "invalid-body"),
        (
            post_json("/server", json!(["us-east-1", "t2.micro"])),
            422,
            "invalid-body",
        ),
        (
            post_json(
                "/servers",
                json!({"region": "us-east-1", "type": "t2.micro", "name": null}),
            ),
            422,
            "invalid-body",
        ),
        (
            post_json("/servers", json!({"region": 7, "type": "t2.micro"})),
            422,
            "invalid-body",
        ),
        (
            post_json(
                "/servers",
                json!({"region": "us-east-1", "type": "t2.micro", "name": "x".repeat(9_000)}),
            ),
            413,
            "payload-too-large",
        ),
        (
            post_json("/servers", json!({"region": "mars-1", "type": "t2.micro"})),
            422,
            "unknown-region",
        ),
        (
            post_json(
                "/servers",
                json!({"region": "us-east-1", "type": "z9.huge"}),
            ),
            422,
            "unknown-server-type",
        ),
        (
            post_json(
                "/servers",
                json!({"region": "us-east-1", "type": "t2.micro", "name": "  "}),
            ),
            422,
            "invalid-name",
        ),
    ];
    for (request, status, slug) in cases {
        problem(send(MockStore::new(), request).await, status, slug).await;
    }
}

#[actix_web::test]
async fn an_unknown_field_or_action_is_named_in_the_problem() {
    let id = uuid::Uuid::new_v4();
    let uri = format!("/servers/{id}/action");
    let body = problem(
        send(
            MockStore::new(),
            post_json(&uri, json!({"action": "explode"})),
        )
        .await,
        422,
        "invalid-body",
    )
    .await;
    let detail = body["detail"].as_str().expect("detail");
    assert!(
        detail.contains("explode") && detail.contains("terminate"),
        "{detail}"
    );
    let body = problem(
        send(
            MockStore::new(),
            post_json(&uri, json!({"action": "stop", "force": true})),
        )
        .await,
        422,
        "invalid-body",
    )
    .await;
    assert!(
        body["detail"].as_str().is_some_and(|d| d.contains("force")),
        "{body}"
    );
}

#[actix_web::test]
async fn bad_list_parameters_are_400_problems() {
    for query in [
        "limit=abc",
        "limit=0",
        "limit=101",
        "limit=-1",
        "offset=-5",
        "offset=10001",
        "cursor=not-a-cursor",
        "state=sleeping",
        "status=sleeping",
        "region=mars-1",
        "type=z9.huge",
    ] {
        let response = send(
            MockStore::new(),
            TestRequest::get().uri(&format!("/servers?{query}")),
        )
        .await;
        // An unknown region or type is named as provisioning names it.
        let slug = match query.split('=').next() {
            Some("cursor") => "invalid-cursor",
            Some("region") => "unknown-region",
            Some("type") => "unknown-server-type",
            _ => "invalid-query",
        };
        problem(response, 400, slug).await;
    }
    let id = uuid::Uuid::new_v4();
    for limit in ["0", "101", "x"] {
        let uri = format!("/servers/{id}/logs?limit={limit}");
        problem(
            send(MockStore::new(), TestRequest::get().uri(&uri)).await,
            400,
            "invalid-query",
        )
        .await;
    }
}

#[actix_web::test]
async fn the_state_filter_wins_over_its_alias_status() {
    for (query, wanted) in [
        ("status=stopped", ServerState::Stopped),
        ("state=running&status=stopped", ServerState::Running),
    ] {
        let mut store = MockStore::new();
        store
            .expect_list()
            .withf(move |filter, _| filter.state == Some(wanted))
            .times(1)
            .returning(|_, _| Ok(Vec::new()));
        let response = send(store, TestRequest::get().uri(&format!("/servers?{query}"))).await;
        assert_eq!(response.status(), StatusCode::OK, "{query}");
    }
}

#[actix_web::test]
async fn deep_bodies_and_long_query_strings_are_refused_before_any_use_case() {
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    problem(
        send(
            MockStore::new(),
            TestRequest::post()
                .uri("/servers")
                .insert_header((header::CONTENT_TYPE, "application/json"))
                .set_payload(deep),
        )
        .await,
        400,
        "malformed-body",
    )
    .await;
    let padding = "x".repeat(fleet_http::query::MAX_QUERY_BYTES);
    let id = uuid::Uuid::new_v4();
    for uri in [
        format!("/servers?region={padding}"),
        format!("/servers/{id}/logs?limit=5&pad={padding}"),
    ] {
        let body = problem(
            send(MockStore::new(), TestRequest::get().uri(&uri)).await,
            400,
            "invalid-query",
        )
        .await;
        assert!(!body.to_string().contains("xxxx"), "{body}");
    }
}

#[actix_web::test]
async fn unknown_routes_and_methods_are_problems() {
    problem(
        send(MockStore::new(), TestRequest::get().uri("/nope")).await,
        404,
        "route-not-found",
    )
    .await;
    problem(
        send(MockStore::new(), TestRequest::delete().uri("/servers")).await,
        405,
        "method-not-allowed",
    )
    .await;
    problem(
        send(MockStore::new(), TestRequest::get().uri("/admin/clock")).await,
        404,
        "route-not-found",
    )
    .await;
}

#[actix_web::test]
async fn an_unknown_server_is_404() {
    let mut store = MockStore::new();
    store.expect_get().returning(|_| Ok(None));
    let id = uuid::Uuid::new_v4();
    let body = problem(
        send(store, TestRequest::get().uri(&format!("/servers/{id}"))).await,
        404,
        "not-found",
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&id.to_string()))
    );
}

#[actix_web::test]
async fn an_offset_past_the_cap_names_the_cap_and_the_cursor() {
    let body = problem(
        send(
            MockStore::new(),
            TestRequest::get().uri("/servers?offset=10001"),
        )
        .await,
        400,
        "invalid-query",
    )
    .await;
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("10000") && detail.contains("cursor"),
        "{body}"
    );
}

#[actix_web::test]
async fn an_unavailable_overloaded_or_contended_store_is_503_with_retry_after_and_no_cause_shown() {
    for (error, slug) in [
        (
            StoreError::Unavailable(anyhow::anyhow!("postgres://admin:secret@db timed out")),
            "unavailable",
        ),
        (
            StoreError::Saturated {
                waited: std::time::Duration::from_millis(250),
            },
            "overloaded",
        ),
        (
            StoreError::Contended(anyhow::anyhow!("database is locked")),
            "contended",
        ),
    ] {
        let error = std::sync::Mutex::new(Some(error));
        let mut store = MockStore::new();
        store
            .expect_get()
            .returning(move |_| Err(error.lock().expect("lock").take().expect("one call")));
        let response = send(
            store,
            TestRequest::get().uri(&format!("/servers/{}", uuid::Uuid::new_v4())),
        )
        .await;
        assert_eq!(
            response
                .headers()
                .get(header::RETRY_AFTER)
                .map(|v| v.as_bytes()),
            Some(&b"5"[..])
        );
        let body = problem(response, 503, slug).await;
        assert!(!body.to_string().contains("secret"), "{body}");
    }
}

#[actix_web::test]
async fn a_sane_request_id_is_kept_and_recorded_on_the_event() {
    let mut store = MockStore::new();
    store.expect_provision().times(1).returning(|new| {
        assert_eq!(new.event.request_id.as_deref(), Some("client-42"));
        let mut stored = new.server;
        stored.ip = Some("10.0.0.9".parse().expect("ip"));
        Ok(stored)
    });
    let response = send(
        store,
        post_json(
            "/servers",
            json!({"region": "us-east-1", "type": "t2.micro", "name": "web"}),
        )
        .insert_header(("X-Request-Id", "client-42")),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        response.headers().get("x-request-id").map(|v| v.as_bytes()),
        Some(&b"client-42"[..])
    );
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .expect("location")
        .to_owned();
    let body: Value = test::read_body_json(response).await;
    assert_eq!(
        location,
        format!("/servers/{}", body["id"].as_str().expect("id"))
    );
    assert_eq!(body["state"], "provisioning");
    assert_eq!(body["name"], "web");
    assert_eq!(body["ip"], "10.0.0.9");
    assert_eq!(body["billing"]["hourly_price"]["amount"], "0.011600");
    assert!(body.get("terminated_at").is_none(), "absent, never null");
    let action = &body["action"];
    assert_eq!(action["command"], "provision");
    assert_eq!(action["status"], "running");
    assert_eq!(action["server_id"], body["id"]);
    assert_eq!(action["request_id"], "client-42");
    assert!(action.get("finished_at").is_none(), "{action}");
}

#[actix_web::test]
async fn an_insane_or_over_long_request_id_is_replaced() {
    for insane in ["a b;c".to_owned(), "x".repeat(129)] {
        let response = send(
            MockStore::new(),
            TestRequest::get()
                .uri("/servers/bad")
                .insert_header(("X-Request-Id", insane.as_str())),
        )
        .await;
        let echoed = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .expect("id")
            .to_owned();
        assert!(uuid::Uuid::parse_str(&echoed).is_ok(), "{echoed}");
        problem(response, 400, "invalid-id").await;
    }
}

#[actix_web::test]
async fn a_conflict_is_409_with_the_state_and_allowed_actions() {
    let stopped = server(ServerState::Stopped);
    let id = stopped.id;
    let mut store = MockStore::new();
    store
        .expect_get()
        .returning(move |_| Ok(Some(stopped.clone())));
    let body = problem(
        send(
            store,
            post_json(
                &format!("/servers/{id}/action"),
                json!({"action": "reboot"}),
            ),
        )
        .await,
        409,
        "invalid-state",
    )
    .await;
    assert_eq!(body["state"], "stopped");
    assert_eq!(
        body["allowed_actions"],
        json!(["start", "stop", "terminate"])
    );
}

#[actix_web::test]
async fn a_no_op_action_is_200_and_changes_nothing() {
    let running = server(ServerState::Running);
    let id = running.id;
    let mut store = MockStore::new();
    store
        .expect_get()
        .returning(move |_| Ok(Some(running.clone())));
    store.expect_apply().never();
    let response = send(
        store,
        post_json(&format!("/servers/{id}/action"), json!({"action": "start"})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = test::read_body_json(response).await;
    assert_eq!(body["state"], "running");
    assert!(
        body.get("action").is_none(),
        "a no-op opens no action: {body}"
    );
}

#[actix_web::test]
async fn the_spec_is_served_as_generated() {
    let specs = fleet_http::spec::generate(false);
    for (uri, expected) in [("/api/spec/v2", &specs.v2), ("/api/spec/v3", &specs.v3)] {
        let response = send(MockStore::new(), TestRequest::get().uri(uri)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = test::read_body_json(response).await;
        assert_eq!(&body, expected, "{uri}");
    }
}

#[actix_web::test]
async fn swagger_ui_is_served_offline_and_unknown_files_are_404() {
    let response = send(MockStore::new(), TestRequest::get().uri("/swagger")).await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(
        response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.as_bytes()),
        Some(&b"/swagger/"[..])
    );
    for uri in ["/swagger/", "/swagger/index.html", "/swagger/?x=1"] {
        let response = send(MockStore::new(), TestRequest::get().uri(uri)).await;
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
        let page = String::from_utf8(test::read_body(response).await.to_vec()).expect("utf-8");
        assert!(
            page.contains("/api/spec/v3") && !page.contains("petstore"),
            "{uri}"
        );
    }
    for asset in fleet_http::swagger::ASSETS {
        let response = send(
            MockStore::new(),
            TestRequest::get().uri(&format!("/swagger/{asset}")),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
    }
    for uri in ["/swagger/nope.js", "/swagger/../Cargo.toml", "/swagger/a/b"] {
        problem(
            send(MockStore::new(), TestRequest::get().uri(uri)).await,
            404,
            "route-not-found",
        )
        .await;
    }
}

#[actix_web::test]
async fn operator_routes_answer_outside_the_spec() {
    let response = send(MockStore::new(), TestRequest::get().uri("/healthz")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = send(MockStore::new(), TestRequest::get().uri("/metrics")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = String::from_utf8(test::read_body(response).await.to_vec()).expect("utf-8");
    assert!(text.contains("fleet_up 1"));
    let ready = send(MockStore::new(), TestRequest::get().uri("/readyz")).await;
    assert_eq!(ready.status(), StatusCode::OK);
    for (not_ready, reason) in [
        (
            NotReady::DatabaseUnreachable(
                "the store is unavailable: error connecting to server at \"db.internal\" \
                 (10.1.2.3), port 5432: Connection refused"
                    .into(),
            ),
            "database unreachable",
        ),
        (
            NotReady::MigrationsPending(
                "the database schema is at 20260101, this fleet expects 20260301 \
                 (db.internal:5432)"
                    .into(),
            ),
            "migrations pending",
        ),
        (
            NotReady::WorkersStopped("the worker task on db.internal ended".into()),
            "workers stopped",
        ),
    ] {
        let response = send_with(
            state(MockStore::new(), false),
            Err(not_ready),
            TestRequest::get().uri("/readyz"),
        )
        .await;
        assert!(response.headers().contains_key(header::RETRY_AFTER));
        let body = problem(response, 503, "not-ready").await;
        assert_eq!(body["detail"], format!("not ready: {reason}"), "{body}");
        let text = body.to_string();
        for hidden in ["db.internal", "10.1.2.3", "5432", "2026"] {
            assert!(!text.contains(hidden), "{hidden} shown: {text}");
        }
    }
}

#[actix_web::test]
async fn the_virtual_clock_reads_and_refuses_bad_moves() {
    let state = state(MockStore::new(), true);
    let response = send_to(state.clone(), TestRequest::get().uri("/admin/clock")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = test::read_body_json(response).await;
    assert_eq!(body["now"], "2026-01-01T00:00:00Z");
    let year = fleet_http::handlers::admin::MAX_ADVANCE_SECONDS;
    for seconds in [
        json!(-1),
        json!(year + 1),
        json!("ten"),
        json!(1.5),
        json!(null),
    ] {
        problem(
            send_to(
                state.clone(),
                post_json("/admin/clock/advance", json!({ "seconds": seconds })),
            )
            .await,
            422,
            "invalid-body",
        )
        .await;
    }
    let clock = state.virtual_clock.as_ref().expect("virtual");
    assert_eq!(fleet_domain::ports::Clock::now(clock.clock.as_ref()), t0());
}
