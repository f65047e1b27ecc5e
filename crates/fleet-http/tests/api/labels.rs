//! Labels over HTTP: provisioning with labels, listing by selector, and `PATCH
//! /servers/{id}` (a JSON merge patch). A mock store with no expectation set panics when
//! called, so every refusal here is also shown to change nothing.

use actix_web::http::{StatusCode, header};
use actix_web::test::{self, TestRequest};
use fleet_domain::event::EventKind;
use fleet_domain::ports::{Applied, MockStore};
use fleet_domain::selector::MAX_SELECTOR_LEN;
use fleet_domain::{Cursor, Labels, Server, ServerId, ServerState};
use serde_json::{Value, json};

use crate::support::{longest_selector_encoded, post_json, problem, send, server, t0};

fn labelled(pairs: &[(&str, &str)]) -> Server {
    let mut server = server(ServerState::Running);
    let map = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    server.labels = Labels::from_client(map).expect("valid labels");
    server
}

fn patch(id: impl std::fmt::Display, content_type: &str, body: Value) -> TestRequest {
    TestRequest::patch()
        .uri(&format!("/servers/{id}"))
        .insert_header((header::CONTENT_TYPE, content_type))
        .set_payload(body.to_string())
}

/// A store holding `stored`, which applies one change (and checks it with `check`).
fn store_applying(stored: Server, check: fn(&fleet_domain::StateChange)) -> MockStore {
    let mut store = MockStore::new();
    store
        .expect_get()
        .returning(move |_| Ok(Some(stored.clone())));
    store.expect_apply().times(1).returning(move |change| {
        check(change);
        Ok(Applied::Done(Box::new(change.server.clone())))
    });
    store
}

#[actix_web::test]
async fn provisioning_stores_the_labels_and_shows_them() {
    let mut store = MockStore::new();
    store.expect_provision().times(1).returning(|new| {
        assert_eq!(
            new.server.labels.get("app.kubernetes.io/name"),
            Some("shop")
        );
        let mut stored = new.server;
        stored.ip = Some("10.0.0.9".parse().expect("ip"));
        Ok(stored)
    });
    let labels = json!({ "env": "prod", "app.kubernetes.io/name": "shop", "canary": "" });
    let response = send(
        store,
        post_json(
            "/servers",
            json!({ "region": "us-east-1", "type": "t2.micro", "labels": labels }),
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = test::read_body_json(response).await;
    assert_eq!(body["labels"], labels);
}

#[actix_web::test]
async fn bad_labels_are_422_problems_naming_the_label() {
    let cases = [
        (json!({ "-env": "prod" }), "invalid-labels", "'-env'"),
        (json!({ "env": "a b" }), "invalid-labels", "'a b'"),
        (
            json!({ "fleet.dev/owner": "me" }),
            "invalid-labels",
            "reserved",
        ),
        (json!({ "env": 7 }), "invalid-body", "label 'env'"),
        (json!({ "env": null }), "invalid-body", "label 'env'"),
        (json!(["env"]), "invalid-body", ""),
        (Value::Null, "invalid-body", "null"),
    ];
    for (labels, slug, named) in cases {
        let body = json!({ "region": "us-east-1", "type": "t2.micro", "labels": labels });
        let refused = problem(
            send(MockStore::new(), post_json("/servers", body)).await,
            422,
            slug,
        )
        .await;
        let detail = refused["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(named), "{labels}: {detail}");
    }
    let many: serde_json::Map<String, Value> =
        (0..65).map(|i| (format!("k{i}"), json!("v"))).collect();
    let body = json!({ "region": "us-east-1", "type": "t2.micro", "labels": many });
    let refused = problem(
        send(MockStore::new(), post_json("/servers", body)).await,
        422,
        "invalid-labels",
    )
    .await;
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("65 labels")),
        "{refused}"
    );
}

#[actix_web::test]
async fn servers_are_listed_by_selector_and_a_bad_one_points_at_its_fault() {
    let mut store = MockStore::new();
    store
        .expect_list()
        .withf(|filter, _| {
            filter.state == Some(ServerState::Running)
                && filter
                    .selector
                    .as_ref()
                    .is_some_and(|s| s.requirements().len() == 2)
        })
        .times(1)
        .returning(|_, _| Ok(vec![labelled(&[("env", "prod")])]));
    let response = send(
        store,
        TestRequest::get().uri("/servers?state=running&label_selector=env%3Dprod%2Ctier%21%3Ddb"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = test::read_body_json(response).await;
    assert_eq!(body["items"][0]["labels"], json!({ "env": "prod" }));

    for (selector, position) in [("env%20in%20()", Some(8)), ("env%3D%3D%3Dx", Some(5))] {
        let uri = format!("/servers?label_selector={selector}");
        let refused = problem(
            send(MockStore::new(), TestRequest::get().uri(&uri)).await,
            400,
            "invalid-label-selector",
        )
        .await;
        assert_eq!(refused["position"], json!(position), "{refused}");
        assert!(
            refused["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("invalid label selector: at character")),
            "{refused}"
        );
    }
    let too_long = vec!["k"; MAX_SELECTOR_LEN / 2 + 1].join(",");
    let refused = problem(
        send(
            MockStore::new(),
            TestRequest::get().uri(&format!("/servers?label_selector={too_long}")),
        )
        .await,
        400,
        "invalid-label-selector",
    )
    .await;
    assert!(refused.get("position").is_none(), "{refused}");
}

#[actix_web::test]
async fn the_longest_selector_fits_in_a_query_string_percent_encoded() {
    let encoded = longest_selector_encoded();
    let mut store = MockStore::new();
    store
        .expect_list()
        .withf(|filter, _| {
            filter
                .selector
                .as_ref()
                .is_some_and(|s| s.requirements().len() == 32)
        })
        .times(1)
        .returning(|_, _| Ok(Vec::new()));
    let cursor = Cursor {
        created_at: t0(),
        id: ServerId::random(),
    }
    .encode();
    let uri = format!(
        "/servers?state=running&status=running&region=us-east-1&type=t2.micro&limit=100\
         &offset=10000&cursor={cursor}&label_selector={encoded}"
    );
    let response = send(store, TestRequest::get().uri(&uri)).await;
    assert_eq!(response.status(), StatusCode::OK, "{uri}");
}

#[actix_web::test]
async fn a_merge_patch_renames_and_relabels_and_records_its_event() {
    let stored = labelled(&[("env", "dev"), ("tier", "web")]);
    let id = stored.id;
    for content_type in ["application/merge-patch+json", "application/json"] {
        let store = store_applying(stored.clone(), |change| {
            assert_eq!(change.events.len(), 1);
            assert_eq!(change.events[0].kind, EventKind::Updated);
            assert_eq!(change.events[0].request_id.as_deref(), Some("req-patch"));
        });
        let request = patch(
            id,
            content_type,
            json!({ "name": "web-2", "labels": { "env": "prod", "tier": null, "team": "" } }),
        )
        .insert_header(("X-Request-Id", "req-patch"));
        let response = send(store, request).await;
        assert_eq!(response.status(), StatusCode::OK, "{content_type}");
        let body: Value = test::read_body_json(response).await;
        assert_eq!(body["name"], "web-2");
        assert_eq!(body["labels"], json!({ "env": "prod", "team": "" }));
    }
}

#[actix_web::test]
async fn what_a_patch_cannot_change_is_a_422_naming_it() {
    let stored = labelled(&[]);
    let id = stored.id;
    let cases = [
        (
            json!({ "id": "x", "region": "eu-west-1" }),
            "invalid-body",
            "'id', 'region' cannot be patched",
        ),
        (
            json!({ "state": "stopped", "name": "a" }),
            "invalid-body",
            "'state' cannot be patched",
        ),
        (
            json!({ "name": null }),
            "invalid-body",
            "'name' cannot be null",
        ),
        (
            json!({ "labels": null }),
            "invalid-body",
            "'labels' cannot be null",
        ),
        (
            json!({ "labels": { "env": { "a": "b" } } }),
            "invalid-body",
            "label 'env'",
        ),
        (json!({ "name": " " }), "invalid-name", "must not be empty"),
        (
            json!({ "labels": { "Bad.Prefix/x": "y" } }),
            "invalid-labels",
            "'Bad.Prefix/x'",
        ),
        (
            json!({ "labels": { "fleet.dev/x": "y" } }),
            "invalid-labels",
            "reserved",
        ),
        (json!([]), "invalid-body", "must be a JSON object"),
    ];
    for (body, slug, said) in cases {
        let mut store = MockStore::new();
        let held = stored.clone();
        store
            .expect_get()
            .returning(move |_| Ok(Some(held.clone())));
        let refused = problem(
            send(
                store,
                patch(id, "application/merge-patch+json", body.clone()),
            )
            .await,
            422,
            slug,
        )
        .await;
        let detail = refused["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(said), "{body}: {detail}");
    }
    let not_json = patch(id, "text/plain", json!({}));
    problem(
        send(MockStore::new(), not_json).await,
        415,
        "unsupported-media-type",
    )
    .await;
}

#[actix_web::test]
async fn patching_an_unknown_server_is_404_and_an_empty_patch_changes_nothing() {
    let mut store = MockStore::new();
    store.expect_get().times(1).returning(|_| Ok(None));
    let unknown = patch(
        fleet_domain::ServerId::random(),
        "application/json",
        json!({}),
    );
    problem(send(store, unknown).await, 404, "not-found").await;

    let stored = labelled(&[("env", "dev")]);
    let id = stored.id;
    let mut store = MockStore::new();
    store
        .expect_get()
        .returning(move |_| Ok(Some(stored.clone())));
    let response = send(store, patch(id, "application/merge-patch+json", json!({}))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = test::read_body_json(response).await;
    assert_eq!(body["labels"], json!({ "env": "dev" }));
}
