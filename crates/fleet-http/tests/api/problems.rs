//! Problem media types: a problem is `application/problem+json` for a client that accepts
//! it and `application/json` for one that asks only for JSON (as generated clients do),
//! with the same body, whatever refused the request.

use actix_web::http::header;
use actix_web::test::{self, TestRequest};
use fleet_domain::ports::MockStore;
use fleet_http::AuthMode;
use serde_json::{Value, json};

use crate::support::{Fixture, post_json, send_to};

/// A refused request: what it is, its status, the auth mode it is sent in, and how to
/// make it.
type Refused = (&'static str, u16, AuthMode, fn() -> TestRequest);

/// Requests refused at different stages: a path extractor, the router, a body, the
/// authenticator.
fn refused() -> Vec<Refused> {
    vec![
        ("malformed id", 400, AuthMode::Open, || {
            TestRequest::get().uri("/servers/not-a-uuid")
        }),
        ("unknown route", 404, AuthMode::Open, || {
            TestRequest::get().uri("/nowhere")
        }),
        ("unknown field", 422, AuthMode::Open, || {
            post_json("/servers", json!({"region": "us-east-1", "typo": 1}))
        }),
        ("no key", 401, AuthMode::Keys, || {
            TestRequest::get().uri("/servers")
        }),
    ]
}

/// The status, `Content-Type`, `Vary` and body of `request` sent with `accept`.
async fn answer(
    mode: AuthMode,
    request: TestRequest,
    accept: Option<&str>,
) -> (u16, String, String, Value) {
    let mut request = request.insert_header(("X-Request-Id", "negotiated"));
    if let Some(accept) = accept {
        request = request.insert_header((header::ACCEPT, accept));
    }
    let response = send_to(Fixture::new(mode, MockStore::new()).state(), request).await;
    let text = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (content_type, vary) = (text(header::CONTENT_TYPE), text(header::VARY));
    let status = response.status().as_u16();
    (
        status,
        content_type,
        vary,
        test::read_body_json(response).await,
    )
}

#[actix_web::test]
async fn the_accept_header_chooses_the_media_type_of_the_same_problem() {
    let cases = [
        (None, "application/problem+json"),
        (Some("application/problem+json"), "application/problem+json"),
        (Some("*/*"), "application/problem+json"),
        (Some("application/*"), "application/problem+json"),
        (
            Some("application/json, application/problem+json"),
            "application/problem+json",
        ),
        (Some("application/json"), "application/json"),
        (
            Some("application/json, application/problem+json;q=0.5"),
            "application/json",
        ),
        (Some("text/html"), "application/problem+json"),
    ];
    for (what, status, mode, request) in refused() {
        let (_, _, _, reference) = answer(mode, request(), None).await;
        assert_eq!(reference["status"], status, "{what}: {reference}");
        for (accept, media_type) in cases {
            let (got_status, content_type, vary, body) = answer(mode, request(), accept).await;
            assert_eq!(got_status, status, "{what}, Accept {accept:?}");
            assert_eq!(content_type, media_type, "{what}, Accept {accept:?}");
            assert!(vary.contains("accept"), "{what}: Vary {vary:?}");
            assert_eq!(
                body, reference,
                "{what}, Accept {accept:?}: the same problem"
            );
        }
    }
}
