//! The labels use cases against mocks of the ports: provisioning with labels, listing by
//! selector, and updating a server's name and labels.

use std::collections::BTreeMap;
use std::sync::Arc;

use mockall::predicate::always;

use crate::catalog::Catalog;
use crate::error::{ListError, ProvisionError, UpdateError};
use crate::event::{EventKind, RequestContext};
use crate::ids::{KeyId, ProjectId};
use crate::labels::{LabelError, Labels};
use crate::ports::{Applied, MockClock, MockStore};
use crate::selector::{Requirement, SelectorError};
use crate::server::Server;
use crate::server_update::ServerUpdate;
use crate::service::{ListRequest, ProvisionRequest, ServerService};
use crate::state::ServerState;
use crate::tenancy::{Caller, Role};
use crate::testing::{at, config, server};

/// The service over `store`, its clock at 40 s.
pub(super) fn service(store: MockStore) -> ServerService {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(at(40));
    ServerService::new(
        Arc::new(store),
        Arc::new(clock),
        Arc::new(Catalog::default()),
        config(),
    )
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn patch(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
        .collect()
}

fn labelled(pairs: &[(&str, &str)]) -> Server {
    let mut server = server(ServerState::Running);
    server.labels = Labels::from_client(map(pairs)).expect("valid labels");
    server
}

/// A store that reads `server` back whatever id is asked.
fn holding(server: Server) -> MockStore {
    let mut store = MockStore::new();
    store
        .expect_get()
        .returning(move |_| Ok(Some(server.clone())));
    store
}

fn ctx() -> RequestContext {
    RequestContext::api("req-1")
}

#[tokio::test]
async fn provisioning_stores_the_labels_given() {
    let mut store = MockStore::new();
    store.expect_provision().times(1).returning(|new| {
        let labels: Vec<(&str, &str)> = new.server.labels.iter().collect();
        assert_eq!(
            labels,
            [("app.kubernetes.io/name", "shop"), ("env", "prod")]
        );
        Ok(new.server)
    });
    store
        .expect_apply()
        .returning(|c| Ok(Applied::Done(Box::new(c.server.clone()))));
    let request = ProvisionRequest {
        region: "us-east-1".to_owned(),
        server_type: "t2.micro".to_owned(),
        name: None,
        labels: map(&[("env", "prod"), ("app.kubernetes.io/name", "shop")]),
    };
    let view = service(store)
        .provision(&Caller::open(), request, &ctx())
        .await
        .expect("provisioned");
    assert_eq!(view.server.labels.get("env"), Some("prod"));
}

#[tokio::test]
async fn provisioning_with_a_bad_or_reserved_label_stores_nothing() {
    for (key, value) in [("fleet.dev/owner", "x"), ("-bad", "x"), ("env", "a b")] {
        let request = ProvisionRequest {
            region: "us-east-1".to_owned(),
            server_type: "t2.micro".to_owned(),
            name: None,
            labels: map(&[(key, value)]),
        };
        let refused = service(MockStore::new())
            .provision(&Caller::open(), request, &ctx())
            .await
            .expect_err("refused");
        assert!(
            matches!(refused, ProvisionError::InvalidLabels(_)),
            "{key}={value}: {refused:?}"
        );
    }
}

#[tokio::test]
async fn listing_hands_the_parsed_selector_to_the_store() {
    let mut store = MockStore::new();
    store
        .expect_list()
        .withf(|filter, _| {
            filter.state == Some(ServerState::Running)
                && filter.selector.as_ref().map(|s| s.requirements().to_vec())
                    == Some(vec![Requirement::Equals {
                        key: "env".to_owned(),
                        value: "prod".to_owned(),
                    }])
        })
        .times(1)
        .returning(|_, _| Ok(Vec::new()));
    let request = ListRequest {
        state: Some(ServerState::Running),
        label_selector: Some(" env = prod ".to_owned()),
        ..ListRequest::default()
    };
    let page = service(store)
        .list(&Caller::open(), request)
        .await
        .expect("listed");
    assert!(page.items.is_empty());
}

#[tokio::test]
async fn an_empty_selector_filters_nothing_and_a_bad_one_reads_nothing() {
    let mut store = MockStore::new();
    store
        .expect_list()
        .withf(|filter, _| filter.selector.is_none())
        .times(1)
        .returning(|_, _| Ok(Vec::new()));
    let svc = service(store);
    let empty = ListRequest {
        label_selector: Some("  ".to_owned()),
        ..ListRequest::default()
    };
    svc.list(&Caller::open(), empty).await.expect("listed");
    let bad = ListRequest {
        label_selector: Some("env in ()".to_owned()),
        ..ListRequest::default()
    };
    let refused = svc.list(&Caller::open(), bad).await.expect_err("refused");
    let ListError::BadSelector(SelectorError::Syntax { at, .. }) = refused else {
        panic!("a syntax error: {refused:?}");
    };
    assert_eq!(at, 8);
}

#[tokio::test]
async fn an_update_merges_the_labels_and_records_its_event() {
    let stored = labelled(&[("env", "dev"), ("tier", "web")]);
    let id = stored.id;
    let mut store = holding(stored);
    store.expect_apply().times(1).returning(|change| {
        assert_eq!(change.events.len(), 1);
        assert_eq!(change.events[0].kind, EventKind::Updated);
        Ok(Applied::Done(Box::new(change.server.clone())))
    });
    let update = ServerUpdate {
        name: Some("  web-2 ".to_owned()),
        labels: patch(&[("env", Some("prod")), ("tier", None), ("new", Some(""))]),
    };
    let view = service(store)
        .update(&Caller::open(), id, update, None, &ctx())
        .await
        .expect("updated");
    assert_eq!(view.server.name, "web-2");
    let labels: Vec<(&str, &str)> = view.server.labels.iter().collect();
    assert_eq!(labels, [("env", "prod"), ("new", "")]);
    assert_eq!(view.server.updated_at, at(40));
}

#[tokio::test]
async fn an_update_that_changes_nothing_writes_nothing() {
    let stored = labelled(&[("env", "dev")]);
    let id = stored.id;
    let mut store = holding(stored);
    store.expect_apply().never();
    let update = ServerUpdate {
        name: Some("test".to_owned()),
        labels: patch(&[("env", Some("dev")), ("absent", None)]),
    };
    let view = service(store)
        .update(&Caller::open(), id, update, None, &ctx())
        .await
        .expect("nothing to do");
    assert_eq!(view.server.generation, 0);
}

#[tokio::test]
async fn a_bad_update_changes_nothing() {
    let stored = labelled(&[]);
    let id = stored.id;
    let mut store = holding(stored);
    store.expect_apply().never();
    let svc = service(store);
    let reserved = ServerUpdate {
        labels: patch(&[("fleet.dev/x", Some("y"))]),
        ..ServerUpdate::default()
    };
    let refused = svc
        .update(&Caller::open(), id, reserved, None, &ctx())
        .await;
    assert!(
        matches!(
            refused,
            Err(UpdateError::InvalidLabels(LabelError::Reserved(_)))
        ),
        "{refused:?}"
    );
    let too_many: Vec<(String, Option<String>)> = (0..65)
        .map(|i| (format!("k{i}"), Some("v".to_owned())))
        .collect();
    let too_many = ServerUpdate {
        labels: too_many.into_iter().collect(),
        ..ServerUpdate::default()
    };
    let refused = svc
        .update(&Caller::open(), id, too_many, None, &ctx())
        .await;
    assert!(
        matches!(
            refused,
            Err(UpdateError::InvalidLabels(LabelError::TooMany(65)))
        ),
        "{refused:?}"
    );
    let blank = ServerUpdate {
        name: Some(" ".to_owned()),
        ..ServerUpdate::default()
    };
    let refused = svc.update(&Caller::open(), id, blank, None, &ctx()).await;
    assert!(
        matches!(refused, Err(UpdateError::InvalidName(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn an_update_that_loses_a_race_is_planned_again_from_the_new_server() {
    let first = labelled(&[("env", "dev")]);
    let id = first.id;
    let mut moved = first.clone();
    moved.generation = 1;
    moved.labels = Labels::from_client(map(&[("env", "dev"), ("team", "a")])).expect("valid");
    let mut store = MockStore::new();
    // Popped: the server as first read, then as the other writer left it.
    let mut reads = vec![moved, first];
    store
        .expect_get()
        .times(2)
        .returning(move |_| Ok(reads.pop()));
    let mut answers = vec![Applied::Stale];
    store
        .expect_apply()
        .with(always())
        .times(2)
        .returning(move |change| {
            Ok(answers
                .pop()
                .unwrap_or_else(|| Applied::Done(Box::new(change.server.clone()))))
        });
    let update = ServerUpdate {
        labels: patch(&[("env", Some("prod"))]),
        ..ServerUpdate::default()
    };
    let view = service(store)
        .update(&Caller::open(), id, update, None, &ctx())
        .await
        .expect("updated");
    let labels: Vec<(&str, &str)> = view.server.labels.iter().collect();
    assert_eq!(
        labels,
        [("env", "prod"), ("team", "a")],
        "the other writer's label stays"
    );
    assert_eq!(view.server.generation, 2);
}

#[tokio::test]
async fn a_viewer_may_not_update_and_another_project_s_server_does_not_exist() {
    let stored = labelled(&[]);
    let id = stored.id;
    let mut store = holding(stored);
    store.expect_apply().never();
    let svc = service(store);
    let update = || ServerUpdate {
        labels: patch(&[("env", Some("prod"))]),
        ..ServerUpdate::default()
    };
    let viewer = Caller {
        project: ProjectId::DEFAULT,
        role: Role::Viewer,
        key: Some(KeyId::random()),
    };
    let refused = svc.update(&viewer, id, update(), None, &ctx()).await;
    assert!(
        matches!(refused, Err(UpdateError::Forbidden(_))),
        "{refused:?}"
    );
    let stranger = Caller {
        project: ProjectId::random(),
        role: Role::Member,
        key: Some(KeyId::random()),
    };
    let refused = svc.update(&stranger, id, update(), None, &ctx()).await;
    assert!(
        matches!(refused, Err(UpdateError::NotFound(_))),
        "{refused:?}"
    );
}
