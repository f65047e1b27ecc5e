//! Authentication and roles through the whole HTTP stack: open and keys mode, refused keys,
//! roles too weak, and what the log and problems never show.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::http::{StatusCode, header};
use actix_web::test::{self, TestRequest};
use fleet_domain::error::StoreError;
use fleet_domain::ports::MockStore;
use fleet_domain::{ProjectId, Role, ServerState};
use fleet_http::AuthMode;
use serde_json::{Value, json};

use crate::support::{Fixture, TestKey, post_json, problem, send_logged, send_to, server};

fn challenge(response: &actix_web::dev::ServiceResponse) -> Option<String> {
    response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn provision() -> TestRequest {
    post_json(
        "/servers",
        json!({"region": "us-east-1", "type": "t2.micro"}),
    )
}

#[actix_web::test]
async fn a_keyless_request_in_open_mode_acts_as_the_admin_of_default() {
    let mut store = MockStore::new();
    store.expect_provision().times(1).returning(|new| {
        assert_eq!(new.server.project, ProjectId::DEFAULT);
        assert_eq!(new.event.key, None, "no key made the call");
        Ok(new.server)
    });
    store
        .expect_list()
        .withf(|filter, _| filter.project.is_none())
        .times(1)
        .returning(|_, _| Ok(Vec::new()));
    let state = Fixture::new(AuthMode::Open, store).state();
    let created = send_to(state.clone(), provision()).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let listed = send_to(state, TestRequest::get().uri("/servers")).await;
    assert_eq!(
        listed.status(),
        StatusCode::OK,
        "an admin lists every project"
    );
}

#[actix_web::test]
async fn keys_mode_refuses_a_keyless_request_with_a_bearer_challenge() {
    let id = uuid::Uuid::new_v4();
    for request in [
        TestRequest::get().uri("/servers"),
        provision(),
        TestRequest::get().uri(&format!("/servers/{id}")),
        post_json(&format!("/servers/{id}/action"), json!({"action": "stop"})),
        TestRequest::get().uri(&format!("/servers/{id}/logs")),
        TestRequest::get().uri(&format!("/servers/{id}/billing")),
        TestRequest::get().uri("/catalog"),
        TestRequest::get().uri("/projects"),
        TestRequest::delete().uri(&format!("/keys/{id}")),
    ] {
        let state = Fixture::new(AuthMode::Keys, MockStore::new()).state();
        let response = send_to(state, request).await;
        assert_eq!(challenge(&response).as_deref(), Some("Bearer"));
        problem(response, 401, "unauthorized").await;
    }
}

#[actix_web::test]
async fn the_spec_and_swagger_need_no_key() {
    for uri in ["/api/spec/v3", "/api/spec/v2", "/swagger/"] {
        let state = Fixture::new(AuthMode::Keys, MockStore::new()).state();
        let response = send_to(state, TestRequest::get().uri(uri)).await;
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
    }
}

#[actix_web::test]
async fn a_bad_key_is_401_in_either_mode_with_one_detail() {
    let known = TestKey::new(ProjectId::DEFAULT, Role::Admin);
    let mut revoked = TestKey::new(ProjectId::DEFAULT, Role::Admin);
    revoked.key.revoked_at = Some(crate::support::t0());
    let unknown = TestKey::new(ProjectId::DEFAULT, Role::Admin);
    let forged = format!("{}x", &known.text[..known.text.len() - 1]);
    let presented = [
        "Bearer not-a-key".to_owned(),
        "Basic dXNlcjpwYXNz".to_owned(),
        "Bearer".to_owned(),
        format!("Bearer {}", unknown.text),
        format!("Bearer {forged}"),
        format!("Bearer {}", revoked.text),
    ];
    let mut details = Vec::new();
    for mode in [AuthMode::Open, AuthMode::Keys] {
        for authorization in &presented {
            let mut fixture = Fixture::new(mode, MockStore::new());
            fixture.knows(&known).knows(&revoked);
            let unknown_id = unknown.id();
            fixture
                .tenancy
                .expect_key_with_hash()
                .withf(move |id| *id == unknown_id)
                .returning(|_| Ok(None));
            let request = TestRequest::get()
                .uri("/servers")
                .insert_header((header::AUTHORIZATION, authorization.as_str()));
            let response = send_to(fixture.state(), request).await;
            assert_eq!(
                challenge(&response).as_deref(),
                Some(r#"Bearer error="invalid_token""#),
                "{mode:?} {authorization}"
            );
            let body = problem(response, 401, "unauthorized").await;
            details.push(body["detail"].clone());
        }
    }
    details.dedup();
    assert_eq!(details.len(), 1, "one detail whatever failed: {details:?}");
}

#[actix_web::test]
async fn a_key_whose_check_the_store_cannot_answer_is_503_not_401() {
    let key = TestKey::new(ProjectId::DEFAULT, Role::Member);
    let mut fixture = Fixture::new(AuthMode::Keys, MockStore::new());
    fixture
        .tenancy
        .expect_key_with_hash()
        .returning(|_| Err(StoreError::Unavailable(anyhow::anyhow!("db down"))));
    let request = TestRequest::get()
        .uri("/servers")
        .insert_header(key.header());
    let response = send_to(fixture.state(), request).await;
    problem(response, 503, "unavailable").await;
}

#[actix_web::test]
async fn a_viewer_may_read_but_neither_provision_nor_act() {
    let viewer = TestKey::new(ProjectId::DEFAULT, Role::Viewer);
    let mine = server(ServerState::Running);
    let id = mine.id;
    let mut store = MockStore::new();
    store
        .expect_get()
        .returning(move |_| Ok(Some(mine.clone())));
    store.expect_provision().never();
    store.expect_apply().never();
    let mut fixture = Fixture::new(AuthMode::Keys, store);
    fixture.knows(&viewer);
    let state = fixture.state();
    let read = send_to(
        state.clone(),
        TestRequest::get()
            .uri(&format!("/servers/{id}"))
            .insert_header(viewer.header()),
    )
    .await;
    assert_eq!(read.status(), StatusCode::OK);
    for request in [
        provision(),
        post_json(&format!("/servers/{id}/action"), json!({"action": "stop"})),
    ] {
        let response = send_to(state.clone(), request.insert_header(viewer.header())).await;
        let body = problem(response, 403, "forbidden").await;
        assert_eq!(body["required_role"], "member", "{body}");
    }
}

#[actix_web::test]
async fn a_member_cannot_manage_projects_keys_or_the_clock() {
    let member = TestKey::new(ProjectId::random(), Role::Member);
    let project = member.key.project;
    let mut fixture = Fixture::new(AuthMode::Keys, MockStore::new());
    fixture.knows(&member);
    fixture.virtual_clock = true;
    fixture.tenancy.expect_create_key().never();
    let state = fixture.state();
    for request in [
        post_json(
            &format!("/projects/{project}/keys"),
            json!({"role": "admin"}),
        ),
        TestRequest::get().uri(&format!("/projects/{project}/keys")),
        TestRequest::get().uri("/projects"),
        post_json("/projects", json!({"name": "mine"})),
        TestRequest::delete().uri(&format!("/keys/{}", member.id())),
        TestRequest::get().uri("/admin/clock"),
        post_json("/admin/clock/advance", json!({"seconds": 60})),
    ] {
        let response = send_to(state.clone(), request.insert_header(member.header())).await;
        let body = problem(response, 403, "forbidden").await;
        assert_eq!(body["required_role"], "admin", "{body}");
    }
}

#[actix_web::test]
async fn a_member_acts_in_its_own_project_and_its_key_is_on_the_event() {
    let member = TestKey::new(ProjectId::random(), Role::Member);
    let (project, key) = (member.key.project, member.id());
    let mut store = MockStore::new();
    store.expect_provision().times(1).returning(move |new| {
        assert_eq!(new.server.project, project, "created in the key's project");
        assert_eq!(new.event.key, Some(key), "the event names the key");
        Ok(new.server)
    });
    let mut fixture = Fixture::new(AuthMode::Keys, store);
    fixture.knows(&member);
    let response = send_to(fixture.state(), provision().insert_header(member.header())).await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[actix_web::test]
async fn a_key_is_checked_against_the_store_once_within_the_ttl() {
    let member = TestKey::new(ProjectId::DEFAULT, Role::Member);
    let (stored, lookups) = (member.stored(None), Arc::new(AtomicUsize::new(0)));
    let mut store = MockStore::new();
    store.expect_list().returning(|_, _| Ok(Vec::new()));
    let mut fixture = Fixture::new(AuthMode::Keys, store);
    let counted = lookups.clone();
    fixture.tenancy.expect_key_with_hash().returning(move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
        Ok(Some(stored.clone()))
    });
    let requests = (0..3)
        .map(|_| {
            TestRequest::get()
                .uri("/servers")
                .insert_header(member.header())
        })
        .collect();
    let (responses, _) = send_logged(fixture.state(), requests).await;
    assert!(responses.iter().all(|r| r.status() == StatusCode::OK));
    assert_eq!(
        lookups.load(Ordering::SeqCst),
        1,
        "the cache answered the rest"
    );
}

#[actix_web::test]
async fn a_key_s_use_is_recorded_once_for_many_requests_and_a_keyless_one_not_at_all() {
    let member = TestKey::new(ProjectId::DEFAULT, Role::Member);
    let mut store = MockStore::new();
    store.expect_list().returning(|_, _| Ok(Vec::new()));
    let mut fixture = Fixture::new(AuthMode::Open, store);
    fixture.knows(&member);
    let marks = fixture.marks.clone();
    let mut requests: Vec<TestRequest> = (0..3)
        .map(|_| {
            TestRequest::get()
                .uri("/servers")
                .insert_header(member.header())
        })
        .collect();
    requests.push(TestRequest::get().uri("/servers"));
    let (responses, _) = send_logged(fixture.state(), requests).await;
    assert!(responses.iter().all(|r| r.status() == StatusCode::OK));
    // The record is written on a task of its own, after the response.
    actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(*marks.lock().expect("marks"), [vec![member.id()]]);
}

#[actix_web::test]
async fn a_key_revoked_here_stops_working_here_at_once() {
    let admin = TestKey::new(ProjectId::DEFAULT, Role::Admin);
    let member = TestKey::new(ProjectId::DEFAULT, Role::Member);
    let mut store = MockStore::new();
    store.expect_list().returning(|_, _| Ok(Vec::new()));
    let mut fixture = Fixture::new(AuthMode::Keys, store);
    fixture.knows(&admin);
    let revoked = Arc::new(AtomicUsize::new(0));
    let stored = member.stored(None);
    let seen = revoked.clone();
    let member_id = member.id();
    fixture
        .tenancy
        .expect_key_with_hash()
        .withf(move |id| *id == member_id)
        .returning(move |_| {
            let mut stored = stored.clone();
            if seen.load(Ordering::SeqCst) > 0 {
                stored.key.revoked_at = Some(crate::support::t0());
            }
            Ok(Some(stored))
        });
    let at_revocation = member.key.clone();
    let flag = revoked.clone();
    fixture.tenancy.expect_revoke_key().returning(move |_, at| {
        flag.fetch_add(1, Ordering::SeqCst);
        let mut key = at_revocation.clone();
        key.revoked_at = Some(at);
        Ok(Some(key))
    });
    let list = || {
        TestRequest::get()
            .uri("/servers")
            .insert_header(member.header())
    };
    let revoke = TestRequest::delete()
        .uri(&format!("/keys/{}", member.id()))
        .insert_header(admin.header());
    let (responses, _) = send_logged(fixture.state(), vec![list(), revoke, list()]).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses, [200, 200, 401]);
}

#[actix_web::test]
async fn the_authorization_header_never_reaches_the_log_or_a_problem() {
    let member = TestKey::new(ProjectId::DEFAULT, Role::Member);
    let revoked_key = {
        let mut key = TestKey::new(ProjectId::DEFAULT, Role::Admin);
        key.key.revoked_at = Some(crate::support::t0());
        key
    };
    let failing = TestKey::new(ProjectId::DEFAULT, Role::Admin);
    let mut store = MockStore::new();
    store.expect_get().returning(|_| Ok(None));
    let mut fixture = Fixture::new(AuthMode::Keys, store);
    fixture.knows(&member).knows(&revoked_key);
    let failing_id = failing.id();
    fixture
        .tenancy
        .expect_key_with_hash()
        .withf(move |id| *id == failing_id)
        .returning(|_| Err(StoreError::Unknown(anyhow::anyhow!("disk on fire"))));
    let garbage = "Bearer fleet_0123456789abcdef0123456789abcdef_notasecretbutstillsecret";
    let id = uuid::Uuid::new_v4();
    let requests = vec![
        TestRequest::get()
            .uri(&format!("/servers/{id}"))
            .insert_header(member.header()),
        TestRequest::get()
            .uri(&format!("/servers/{id}"))
            .insert_header(revoked_key.header()),
        TestRequest::get()
            .uri(&format!("/servers/{id}"))
            .insert_header(failing.header()),
        TestRequest::get()
            .uri("/servers/not-a-uuid")
            .insert_header(member.header()),
        TestRequest::get()
            .uri("/servers")
            .insert_header((header::AUTHORIZATION, garbage)),
    ];
    let (responses, log) = send_logged(fixture.state(), requests).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses, [404, 401, 500, 400, 401]);
    assert!(
        log.iter().any(|l| l.contains("cause=")),
        "a 5xx logs its cause"
    );
    assert!(log.iter().any(|l| l.contains("API key refused")), "{log:?}");
    let mut bodies = Vec::new();
    for response in responses {
        let body: Value = test::read_body_json(response).await;
        bodies.push(body.to_string());
    }
    let secrets = [
        member.text.as_str(),
        &member.text[39..],
        revoked_key.text.as_str(),
        failing.text.as_str(),
        &failing.text[39..],
        "notasecretbutstillsecret",
    ];
    for text in log.iter().chain(&bodies) {
        assert!(!text.contains("Bearer fleet_"), "{text}");
        for secret in secrets {
            assert!(!text.contains(secret), "a key is shown: {text}");
        }
    }
}

#[actix_web::test]
async fn an_event_shows_the_key_that_caused_it() {
    let member = TestKey::new(ProjectId::DEFAULT, Role::Member);
    let mine = server(ServerState::Running);
    let id = mine.id;
    let key = member.id();
    let mut store = MockStore::new();
    store
        .expect_get()
        .returning(move |_| Ok(Some(mine.clone())));
    store.expect_events().returning(move |server_id, _| {
        let event = |key| fleet_domain::Event {
            id: 1,
            seq: Some(1),
            project: ProjectId::DEFAULT,
            labels: fleet_domain::Labels::default(),
            event: fleet_domain::NewEvent {
                subject: fleet_domain::event::EventSubject::Server(server_id),
                at: crate::support::t0(),
                kind: fleet_domain::EventKind::Created,
                from_state: None,
                to_state: Some(ServerState::Provisioning),
                actor: fleet_domain::Actor::Api,
                request_id: Some("r".to_owned()),
                trace: None,
                key,
                message: "created".to_owned(),
                reason: None,
            },
        };
        Ok(vec![event(Some(key)), event(None)])
    });
    let mut fixture = Fixture::new(AuthMode::Keys, store);
    fixture.knows(&member);
    let response = send_to(
        fixture.state(),
        TestRequest::get()
            .uri(&format!("/servers/{id}/logs"))
            .insert_header(member.header()),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = test::read_body_json(response).await;
    assert_eq!(body["items"][0]["key_id"], key.to_string());
    assert!(
        body["items"][1].get("key_id").is_none(),
        "absent, never null"
    );
}
