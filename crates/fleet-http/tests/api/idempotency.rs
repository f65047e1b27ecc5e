//! `Idempotency-Key` against mocked ports: a malformed key claims nothing; the first
//! request's final answer is recorded and replayed (whitespace and member order of the
//! body do not matter, the quoted and bare forms name one key); another request with the
//! key is a 422, one in flight a 409 with `Retry-After`; a failure gives the key back.

use std::sync::{Arc, Mutex};

use actix_web::dev::ServiceResponse;
use actix_web::http::{StatusCode, header};
use actix_web::test::{self, TestRequest};
use fleet_domain::error::StoreError;
use fleet_domain::idempotency::{ClaimToken, Claimed, HeldKey, KeyClaim};
use fleet_domain::ports::{Applied, MockIdempotencyStore, MockStore};
use fleet_domain::{ServerState, StoredResponse};
use fleet_http::AppState;
use serde_json::{Value, json};

use crate::support::{Fixture, post_json, problem, send_to, server};

const PROVISION: &str = r#"{"region": "us-east-1", "type": "t2.micro", "name": "web"}"#;

fn provision(key: &str, body: &str) -> TestRequest {
    TestRequest::post()
        .uri("/servers")
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header(("Idempotency-Key", key))
        .set_payload(body.to_owned())
}

/// Keys that keep what is recorded: a claim wins the first time, then finds the recorded
/// answer (or, before one is recorded, the request in flight).
fn recording_keys() -> (MockIdempotencyStore, Arc<Mutex<Vec<KeyClaim>>>) {
    let claims = Arc::new(Mutex::new(Vec::<KeyClaim>::new()));
    let recorded = Arc::new(Mutex::new(None::<StoredResponse>));
    let mut keys = MockIdempotencyStore::new();
    let (seen, answer) = (claims.clone(), recorded.clone());
    keys.expect_claim_key().returning(move |claim| {
        let mut seen = seen.lock().expect("claims");
        seen.push(claim.clone());
        if seen.len() == 1 {
            return Ok(Claimed::Won(ClaimToken::random()));
        }
        Ok(Claimed::Held(HeldKey {
            fingerprint: seen[0].fingerprint.clone(),
            response: answer.lock().expect("answer").clone(),
        }))
    });
    keys.expect_complete_key()
        .times(1)
        .returning(move |_, _, _, response| {
            *recorded.lock().expect("answer") = Some(response.clone());
            Ok(true)
        });
    (keys, claims)
}

fn state_over(store: MockStore, keys: MockIdempotencyStore) -> actix_web::web::Data<AppState> {
    Fixture {
        store,
        keys,
        ..Fixture::default()
    }
    .state()
}

async fn text(response: ServiceResponse) -> String {
    String::from_utf8(test::read_body(response).await.to_vec()).expect("text")
}

fn header_of<'a>(response: &'a ServiceResponse, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

#[actix_web::test]
async fn a_malformed_key_is_a_400_naming_the_header_that_claims_and_changes_nothing() {
    let id = server(ServerState::Running).id;
    let long = "k".repeat(256);
    let quoted_long = format!("\"{}\"", "k".repeat(254));
    let malformed: [&[u8]; 8] = [
        b"",
        b"\"\"",
        b"a b",
        b"a\"b",
        b"a\\b",
        "café".as_bytes(),
        long.as_bytes(),
        quoted_long.as_bytes(),
    ];
    for value in malformed {
        let requests = [
            TestRequest::post()
                .uri("/servers")
                .set_json(json!({"region": "us-east-1", "type": "t2.micro"})),
            post_json(&format!("/servers/{id}/action"), json!({"action": "stop"})),
            TestRequest::patch()
                .uri(&format!("/servers/{id}"))
                .set_json(json!({"name": "x"})),
        ];
        for request in requests {
            let request = request.insert_header((
                "Idempotency-Key",
                header::HeaderValue::from_bytes(value).expect("a header value"),
            ));
            let response = send_to(
                state_over(MockStore::new(), MockIdempotencyStore::new()),
                request,
            )
            .await;
            let body = problem(response, 400, "invalid-idempotency-key").await;
            assert!(
                body["detail"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("Idempotency-Key ")),
                "{body}"
            );
        }
    }
    let twice = provision("a", PROVISION).append_header(("Idempotency-Key", "b"));
    let body = problem(
        send_to(
            state_over(MockStore::new(), MockIdempotencyStore::new()),
            twice,
        )
        .await,
        400,
        "invalid-idempotency-key",
    )
    .await;
    assert_eq!(body["detail"], "Idempotency-Key is sent more than once");
}

#[actix_web::test]
async fn a_retried_provision_gets_the_first_answer_again_and_provisions_once() {
    let mut store = MockStore::new();
    store
        .expect_provision()
        .times(1)
        .returning(|new| Ok(new.server));
    let (keys, claims) = recording_keys();
    let state = state_over(store, keys);

    let first = send_to(state.clone(), provision("k-1", PROVISION)).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert_eq!(header_of(&first, "idempotent-replayed"), None);
    let location = header_of(&first, "location").expect("location").to_owned();
    let created = text(first).await;

    let reordered = r#"{ "name":"web",  "type":"t2.micro","region" : "us-east-1" }"#;
    let again = send_to(state.clone(), provision("\"k-1\"", reordered)).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(header_of(&again, "idempotent-replayed"), Some("true"));
    assert_eq!(header_of(&again, "location"), Some(location.as_str()));
    assert_eq!(header_of(&again, "content-type"), Some("application/json"));
    assert_eq!(text(again).await, created, "the same body, byte for byte");

    let other = r#"{"region": "eu-west-1", "type": "t2.micro", "name": "web"}"#;
    let reused = send_to(state, provision("k-1", other)).await;
    assert_eq!(header_of(&reused, "idempotent-replayed"), None);
    problem(reused, 422, "idempotency-key-reused").await;

    let claims = claims.lock().expect("claims");
    assert!(claims.iter().all(|c| c.key.as_str() == "k-1"), "{claims:?}");
    assert_eq!(claims[0].fingerprint, claims[1].fingerprint);
    assert_ne!(claims[0].fingerprint, claims[2].fingerprint);
}

#[actix_web::test]
async fn a_retried_action_acts_once() {
    let running = server(ServerState::Running);
    let id = running.id;
    let mut store = MockStore::new();
    store
        .expect_get()
        .returning(move |_| Ok(Some(running.clone())));
    store
        .expect_apply()
        .times(1)
        .returning(|change| Ok(Applied::Done(Box::new(change.server.clone()))));
    let (keys, _) = recording_keys();
    let state = state_over(store, keys);
    let stop = || {
        post_json(&format!("/servers/{id}/action"), json!({"action": "stop"}))
            .insert_header(("Idempotency-Key", "stop-1"))
    };
    let first = send_to(state.clone(), stop()).await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let body: Value = test::read_body_json(first).await;
    assert_eq!(body["state"], "stopping");
    let again = send_to(state, stop()).await;
    assert_eq!(
        again.status(),
        StatusCode::ACCEPTED,
        "the first answer, not a no-op"
    );
    assert_eq!(header_of(&again, "idempotent-replayed"), Some("true"));
    let replayed: Value = test::read_body_json(again).await;
    assert_eq!(replayed, body);
}

#[actix_web::test]
async fn a_request_still_in_flight_is_a_409_with_retry_after() {
    let mut keys = MockIdempotencyStore::new();
    keys.expect_claim_key().returning(|claim| {
        Ok(Claimed::Held(HeldKey {
            fingerprint: claim.fingerprint.clone(),
            response: None,
        }))
    });
    let response = send_to(
        state_over(MockStore::new(), keys),
        provision("k-1", PROVISION),
    )
    .await;
    assert_eq!(header_of(&response, "retry-after"), Some("1"));
    problem(response, 409, "idempotency-key-in-flight").await;
}

#[actix_web::test]
async fn a_refusal_is_recorded_and_replayed_as_a_problem_of_the_retry() {
    let (keys, _) = recording_keys();
    let state = state_over(MockStore::new(), keys);
    let unknown = r#"{"region": "mars-1", "type": "t2.micro"}"#;
    let first = problem(
        send_to(state.clone(), provision("k-1", unknown)).await,
        422,
        "unknown-region",
    )
    .await;
    let again = send_to(
        state,
        provision("k-1", unknown).insert_header(("X-Request-Id", "retry-7")),
    )
    .await;
    assert_eq!(header_of(&again, "idempotent-replayed"), Some("true"));
    let replayed = problem(again, 422, "unknown-region").await;
    assert_eq!(replayed["request_id"], "retry-7", "the retry's own id");
    assert_eq!(replayed["detail"], first["detail"]);
}

#[actix_web::test]
async fn a_failure_gives_the_key_back_and_records_nothing() {
    let mut store = MockStore::new();
    store
        .expect_provision()
        .times(1)
        .returning(|_| Err(StoreError::Unavailable(anyhow::anyhow!("connection refused")).into()));
    let mut keys = MockIdempotencyStore::new();
    keys.expect_claim_key()
        .times(1)
        .returning(|_| Ok(Claimed::Won(ClaimToken::random())));
    keys.expect_complete_key().never();
    keys.expect_release_key().times(1).returning(|_, key, _| {
        assert_eq!(key.as_str(), "k-1");
        Ok(true)
    });
    let response = send_to(state_over(store, keys), provision("k-1", PROVISION)).await;
    problem(response, 503, "unavailable").await;
}

#[actix_web::test]
async fn without_a_key_nothing_is_claimed() {
    let mut store = MockStore::new();
    store
        .expect_provision()
        .times(2)
        .returning(|new| Ok(new.server));
    let state = state_over(store, MockIdempotencyStore::new());
    for _ in 0..2 {
        let request = TestRequest::post()
            .uri("/servers")
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .set_payload(PROVISION);
        let response = send_to(state.clone(), request).await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
}
