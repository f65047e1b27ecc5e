//! Rate limits: a caller over its rate is refused with 429 before anything is done, told
//! when to retry and where it stands, and served again once it waited; a project's
//! override beats the default; keyless requests are counted per client address; the
//! operational routes are never limited.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use fleet_domain::ports::MockStore;
use fleet_domain::{ProjectId, Role};
use fleet_http::AuthMode;

use crate::support::{Fixture, TestKey, problem, send_to};

fn header(response: &ServiceResponse, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A store that lists servers exactly `times` times: a refused request must not list.
fn listing(times: usize) -> MockStore {
    let mut store = MockStore::new();
    store
        .expect_list()
        .times(times)
        .returning(|_, _| Ok(Vec::new()));
    store
}

fn list() -> TestRequest {
    TestRequest::get().uri("/servers")
}

#[actix_web::test]
async fn a_key_over_its_rate_is_refused_until_it_waits() {
    // 60 a minute: the whole quota at once, then one more each second (so a slow machine
    // gets a few more than 60 before the first refusal).
    let member = TestKey::new(ProjectId::DEFAULT, Role::Member);
    let listed = Arc::new(AtomicUsize::new(0));
    let mut store = MockStore::new();
    let counted = listed.clone();
    store.expect_list().returning(move |_, _| {
        counted.fetch_add(1, Ordering::SeqCst);
        Ok(Vec::new())
    });
    let mut fixture = Fixture::new(AuthMode::Keys, store);
    fixture.rate_limit = Some(60);
    fixture.knows(&member);
    let state = fixture.state();
    let mut served = 0;
    let refused = loop {
        let response = send_to(state.clone(), list().insert_header(member.header())).await;
        if response.status() != StatusCode::OK {
            break response;
        }
        served += 1;
        assert!(served <= 120, "never refused");
        assert_eq!(
            header(&response, "ratelimit-policy").as_deref(),
            Some("\"default\";q=60;w=60")
        );
        let limit = header(&response, "ratelimit").expect("RateLimit");
        let remaining: u32 = limit
            .strip_prefix("\"default\";r=")
            .and_then(|rest| rest.split(';').next())
            .and_then(|r| r.parse().ok())
            .unwrap_or_else(|| panic!("{limit}"));
        assert!(remaining < 60, "{limit}");
    };
    assert!(served >= 60, "the whole quota first: {served}");
    assert_eq!(
        listed.load(Ordering::SeqCst),
        served,
        "the refused one listed nothing"
    );
    let retry_after: u64 = header(&refused, "retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert_eq!(
        retry_after, 1,
        "one request of 60 a minute comes back each second"
    );
    assert_eq!(
        header(&refused, "ratelimit-policy").as_deref(),
        Some("\"default\";q=60;w=60")
    );
    assert_eq!(
        header(&refused, "ratelimit").as_deref(),
        Some("\"default\";r=0;t=1")
    );
    problem(refused, 429, "rate-limited").await;

    actix_web::rt::time::sleep(Duration::from_secs(retry_after)).await;
    let again = send_to(state, list().insert_header(member.header())).await;
    assert_eq!(again.status(), StatusCode::OK, "served again after waiting");
    assert_eq!(listed.load(Ordering::SeqCst), served + 1);
}

#[actix_web::test]
async fn a_project_s_override_beats_the_default() {
    let member = TestKey::new(ProjectId::random(), Role::Member);
    let mut fixture = Fixture::new(AuthMode::Keys, listing(2));
    fixture.rate_limit = Some(1_000);
    fixture.knows_limited(&member, Some(2));
    let state = fixture.state();
    for _ in 0..2 {
        let response = send_to(state.clone(), list().insert_header(member.header())).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            header(&response, "ratelimit-policy").as_deref(),
            Some("\"default\";q=2;w=60")
        );
    }
    let refused = send_to(state, list().insert_header(member.header())).await;
    problem(refused, 429, "rate-limited").await;
}

#[actix_web::test]
async fn without_a_limit_nothing_is_counted_or_announced() {
    let member = TestKey::new(ProjectId::DEFAULT, Role::Member);
    let mut fixture = Fixture::new(AuthMode::Keys, listing(3));
    fixture.knows(&member);
    let state = fixture.state();
    for _ in 0..3 {
        let response = send_to(state.clone(), list().insert_header(member.header())).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(&response, "ratelimit-policy"), None);
        assert_eq!(header(&response, "ratelimit"), None);
    }
}

#[actix_web::test]
async fn keyless_requests_are_counted_per_client_address() {
    let mut fixture = Fixture::new(AuthMode::Open, listing(3));
    fixture.rate_limit = Some(2);
    let state = fixture.state();
    let from = |address: &str| list().peer_addr(address.parse().expect("an address"));
    for _ in 0..2 {
        let response = send_to(state.clone(), from("10.0.0.1:40000")).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let refused = send_to(state.clone(), from("10.0.0.1:40001")).await;
    problem(refused, 429, "rate-limited").await;
    let other = send_to(state, from("10.0.0.2:40000")).await;
    assert_eq!(
        other.status(),
        StatusCode::OK,
        "another address has its own quota"
    );
}

#[actix_web::test]
async fn the_operational_routes_are_never_limited() {
    let mut fixture = Fixture::new(AuthMode::Open, listing(1));
    fixture.rate_limit = Some(1);
    let state = fixture.state();
    let first = send_to(state.clone(), list()).await;
    assert_eq!(first.status(), StatusCode::OK);
    for path in ["/metrics", "/healthz", "/readyz"] {
        for _ in 0..3 {
            let response = send_to(state.clone(), TestRequest::get().uri(path)).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(header(&response, "ratelimit"), None, "{path}");
        }
    }
    let refused = send_to(state, list()).await;
    problem(refused, 429, "rate-limited").await;
}
