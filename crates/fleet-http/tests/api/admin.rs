//! The admin API's shapes: projects and keys as an admin sees them (here, a keyless caller
//! in open mode), and each refusal with its status.

use std::sync::{Arc, Mutex};

use actix_web::http::{StatusCode, header};
use actix_web::test::{self, TestRequest};
use fleet_domain::keys::{Pepper, PresentedKey};
use fleet_domain::ports::{MockStore, ProjectDeletion, ProjectStoreError};
use fleet_domain::{ProjectId, Role};
use fleet_http::AuthMode;
use serde_json::{Value, json};

use crate::support::{Fixture, TestKey, post_json, problem, send_to, t0};

fn open() -> Fixture {
    Fixture::new(AuthMode::Open, MockStore::new())
}

fn project(name: &str) -> fleet_domain::Project {
    fleet_domain::Project {
        id: ProjectId::random(),
        name: name.to_owned(),
        created_at: t0(),
        rate_limit_per_minute: None,
    }
}

#[actix_web::test]
async fn a_project_is_created_with_its_location() {
    let mut fixture = open();
    fixture
        .tenancy
        .expect_create_project()
        .times(1)
        .returning(|_, _| Ok(()));
    let response = send_to(
        fixture.state(),
        post_json("/projects", json!({"name": "team-a"})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .expect("location")
        .to_owned();
    let body: Value = test::read_body_json(response).await;
    assert_eq!(body["name"], "team-a");
    assert_eq!(
        location,
        format!("/projects/{}", body["id"].as_str().expect("id"))
    );
    assert_eq!(body["created_at"], "2026-01-01T00:00:00Z");
}

#[actix_web::test]
async fn a_bad_or_taken_project_name_is_refused_naming_the_field() {
    for name in ["", "Team A", "-a", &"a".repeat(64)] {
        let mut fixture = open();
        fixture.tenancy.expect_create_project().never();
        let response = send_to(
            fixture.state(),
            post_json("/projects", json!({ "name": name })),
        )
        .await;
        let body = problem(response, 422, "invalid-name").await;
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("name: ")),
            "{body}"
        );
    }
    let mut fixture = open();
    fixture
        .tenancy
        .expect_create_project()
        .returning(|p, _| Err(ProjectStoreError::NameTaken(p.name.clone())));
    let response = send_to(
        fixture.state(),
        post_json("/projects", json!({"name": "taken"})),
    )
    .await;
    problem(response, 409, "name-taken").await;
    let response = send_to(
        open().state(),
        post_json("/projects", json!({"name": "a", "quota": 1})),
    )
    .await;
    problem(response, 422, "invalid-body").await;
}

#[actix_web::test]
async fn projects_are_listed_read_and_renamed() {
    let (a, b) = (project("a"), project("b"));
    let (a_id, b_listed) = (a.id, b.clone());
    let mut fixture = open();
    let listed = vec![a.clone(), b];
    fixture
        .tenancy
        .expect_projects()
        .returning(move || Ok(listed.clone()));
    fixture
        .tenancy
        .expect_project()
        .returning(move |id| Ok((id == a_id).then(|| a.clone())));
    fixture
        .tenancy
        .expect_project_quotas()
        .returning(move |id| {
            Ok((id == a_id).then_some(fleet_domain::ProjectQuotas {
                limits: fleet_domain::Quotas {
                    max_servers: Some(10),
                    max_vcpus: None,
                },
                used: fleet_domain::QuotaUse {
                    servers: 3,
                    vcpus: 2,
                },
            }))
        });
    fixture
        .tenancy
        .expect_update_project()
        .returning(move |id, update| {
            Ok((id == b_listed.id).then(|| fleet_domain::Project {
                name: update.name.clone().unwrap_or_else(|| b_listed.name.clone()),
                rate_limit_per_minute: update.rate_limit_per_minute.flatten(),
                ..b_listed.clone()
            }))
        });
    let state = fixture.state();
    let list: Value =
        test::read_body_json(send_to(state.clone(), TestRequest::get().uri("/projects")).await)
            .await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["a", "b"]);
    let one = send_to(
        state.clone(),
        TestRequest::get().uri(&format!("/projects/{a_id}")),
    )
    .await;
    assert_eq!(one.status(), StatusCode::OK);
    let one: Value = test::read_body_json(one).await;
    assert_eq!(one["name"], "a");
    assert_eq!(
        one["quotas"],
        json!({"max_servers": 10, "servers": 3, "vcpus": 2}),
        "a project shows its limits (absent: none) and use"
    );
    let other = uuid::Uuid::new_v4();
    let missing = send_to(
        state.clone(),
        TestRequest::get().uri(&format!("/projects/{other}")),
    )
    .await;
    problem(missing, 404, "not-found").await;
    let renamed = send_to(
        state.clone(),
        TestRequest::patch()
            .uri(&format!(
                "/projects/{}",
                list["items"][1]["id"].as_str().expect("id")
            ))
            .set_json(json!({"name": "bee"})),
    )
    .await;
    assert_eq!(renamed.status(), StatusCode::OK);
    let body: Value = test::read_body_json(renamed).await;
    assert_eq!(body["name"], "bee");
    assert!(body.get("rate_limit_per_minute").is_none(), "{body}");
    let b_uri = format!("/projects/{}", list["items"][1]["id"].as_str().expect("id"));
    let limited = send_to(
        state.clone(),
        TestRequest::patch()
            .uri(&b_uri)
            .set_json(json!({"rate_limit_per_minute": 120})),
    )
    .await;
    assert_eq!(limited.status(), StatusCode::OK);
    let body: Value = test::read_body_json(limited).await;
    assert_eq!(body["rate_limit_per_minute"], 120);
    for bad in [json!(0), json!(1_000_001), json!(-5)] {
        let refused = send_to(
            state.clone(),
            TestRequest::patch()
                .uri(&b_uri)
                .set_json(json!({"rate_limit_per_minute": bad})),
        )
        .await;
        let body = problem(refused, 422, "invalid-rate-limit").await;
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("rate_limit_per_minute: ")),
            "{body}"
        );
    }
    let bad = send_to(state, TestRequest::get().uri("/projects/nope")).await;
    let body = problem(bad, 400, "invalid-id").await;
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("project id")),
        "{body}"
    );
}

#[actix_web::test]
async fn deleting_a_project_is_204_or_409_with_the_reason() {
    let (empty, busy) = (ProjectId::random(), ProjectId::random());
    let mut fixture = open();
    fixture
        .tenancy
        .expect_delete_project()
        .returning(move |id| {
            Ok(if id == empty {
                ProjectDeletion::Deleted
            } else if id == busy {
                ProjectDeletion::HasLiveServers(3)
            } else {
                ProjectDeletion::Missing
            })
        });
    let state = fixture.state();
    let delete = |id: String| TestRequest::delete().uri(&format!("/projects/{id}"));
    let gone = send_to(state.clone(), delete(empty.to_string())).await;
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    assert!(test::read_body(gone).await.is_empty());
    let body = problem(
        send_to(state.clone(), delete(busy.to_string())).await,
        409,
        "project-has-servers",
    )
    .await;
    assert!(
        body["detail"].as_str().is_some_and(|d| d.contains('3')),
        "{body}"
    );
    problem(
        send_to(state.clone(), delete(ProjectId::DEFAULT.to_string())).await,
        409,
        "default-project",
    )
    .await;
    problem(
        send_to(state, delete(uuid::Uuid::new_v4().to_string())).await,
        404,
        "not-found",
    )
    .await;
}

#[actix_web::test]
async fn a_key_is_shown_once_and_only_its_hash_is_stored() {
    let team = project("team");
    let team_id = team.id;
    let stored = Arc::new(Mutex::new(None));
    let mut fixture = open();
    fixture
        .tenancy
        .expect_project()
        .returning(move |_| Ok(Some(team.clone())));
    let kept = stored.clone();
    fixture
        .tenancy
        .expect_create_key()
        .times(1)
        .returning(move |key, hash| {
            *kept.lock().expect("lock") = Some((key.clone(), hash.clone()));
            Ok(())
        });
    let response = send_to(
        fixture.state(),
        post_json(
            &format!("/projects/{team_id}/keys"),
            json!({"role": "viewer", "description": "  ci runner "}),
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        response
            .headers()
            .get(header::CACHE_CONTROL)
            .map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
    let body: Value = test::read_body_json(response).await;
    assert_eq!(body["project_id"], team_id.to_string());
    assert_eq!(body["role"], "viewer");
    assert_eq!(body["description"], "ci runner");
    let text = body["key"].as_str().expect("the key's text");
    let presented = PresentedKey::parse(text).expect("a fleet key");
    assert_eq!(presented.id.to_string(), body["id"].as_str().expect("id"));
    let (key, secret) = stored.lock().expect("lock").clone().expect("stored");
    assert_eq!(key.role, Role::Viewer);
    assert!(
        !secret.hash.contains(&text[39..]),
        "the secret is not stored"
    );
    assert_eq!(secret.sealed, None, "nor sealed without a pepper");
    assert!(
        presented.matches(&Pepper::default(), &secret.hash),
        "its hash is"
    );
}

#[actix_web::test]
async fn a_bad_key_request_is_refused_naming_the_field() {
    let team = project("team");
    let uri = format!("/projects/{}/keys", team.id);
    for (body, slug, field) in [
        (json!({"role": "root"}), "invalid-body", "role: "),
        (
            json!({"role": "viewer", "description": "x".repeat(201)}),
            "invalid-description",
            "description: ",
        ),
        (
            json!({"role": "viewer", "description": "a\nb"}),
            "invalid-description",
            "description: ",
        ),
        (json!({"description": "no role"}), "invalid-body", "role"),
    ] {
        let mut fixture = open();
        fixture.tenancy.expect_create_key().never();
        let found = team.clone();
        fixture
            .tenancy
            .expect_project()
            .returning(move |_| Ok(Some(found.clone())));
        let response = send_to(fixture.state(), post_json(&uri, body)).await;
        let problem = problem(response, 422, slug).await;
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains(field)),
            "{problem}"
        );
    }
    let mut fixture = open();
    fixture.tenancy.expect_project().returning(|_| Ok(None));
    let response = send_to(fixture.state(), post_json(&uri, json!({"role": "admin"}))).await;
    problem(response, 404, "not-found").await;
}

#[actix_web::test]
async fn keys_are_listed_without_secrets_and_revoked_with_their_record() {
    let team = project("team");
    let key = TestKey::new(team.id, Role::Member);
    let (record, listed) = (key.key.clone(), vec![key.key.clone()]);
    let mut fixture = open();
    fixture
        .tenancy
        .expect_project()
        .returning(move |_| Ok(Some(team.clone())));
    fixture
        .tenancy
        .expect_keys()
        .returning(move |_| Ok(listed.clone()));
    let known = record.id;
    fixture
        .tenancy
        .expect_revoke_key()
        .returning(move |id, at| {
            Ok((id == known).then(|| fleet_domain::ApiKey {
                revoked_at: Some(at),
                ..record.clone()
            }))
        });
    let state = fixture.state();
    let list = send_to(
        state.clone(),
        TestRequest::get().uri(&format!("/projects/{}/keys", key.key.project)),
    )
    .await;
    assert_eq!(list.status(), StatusCode::OK);
    let list: Value = test::read_body_json(list).await;
    let item = &list["items"][0];
    assert_eq!(item["id"], key.id().to_string());
    assert_eq!(item["role"], "member");
    assert!(
        item.get("key").is_none() && item.get("revoked_at").is_none(),
        "{item}"
    );
    assert!(!list.to_string().contains(&key.text[39..]), "no secret");
    let revoked = send_to(
        state.clone(),
        TestRequest::delete().uri(&format!("/keys/{}", key.id())),
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    let revoked: Value = test::read_body_json(revoked).await;
    assert_eq!(revoked["revoked_at"], "2026-01-01T00:00:00Z");
    let missing = send_to(
        state,
        TestRequest::delete().uri(&format!("/keys/{}", uuid::Uuid::new_v4())),
    )
    .await;
    problem(missing, 404, "not-found").await;
}

#[actix_web::test]
async fn a_body_that_is_not_an_object_or_nulls_an_optional_field_changes_nothing() {
    let team = project("team");
    let id = team.id;
    let requests = [
        TestRequest::patch()
            .uri(&format!("/projects/{id}"))
            .set_json(json!([null, null])),
        TestRequest::patch()
            .uri(&format!("/projects/{id}"))
            .set_json(json!({"name": null})),
        TestRequest::put()
            .uri(&format!("/projects/{id}/quotas"))
            .set_json(json!([null, null])),
        post_json(&format!("/projects/{id}/keys"), json!(["viewer"])),
        post_json(
            &format!("/projects/{id}/keys"),
            json!({"role": "viewer", "description": null}),
        ),
    ];
    for request in requests {
        let mut fixture = open();
        let found = team.clone();
        fixture
            .tenancy
            .expect_project()
            .returning(move |_| Ok(Some(found.clone())));
        fixture.tenancy.expect_update_project().never();
        fixture.tenancy.expect_set_project_quotas().never();
        fixture.tenancy.expect_create_key().never();
        let body = problem(send_to(fixture.state(), request).await, 422, "invalid-body").await;
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(
            detail == "the body must be a JSON object" || detail.contains("null where"),
            "{body}"
        );
    }
}
