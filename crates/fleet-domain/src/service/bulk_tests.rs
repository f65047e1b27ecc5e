//! Bulk actions against mocks of the ports: what is refused before anything is read, how
//! servers are selected, the cap, and each server's own outcome.

use crate::error::{ActError, BulkActError, StoreError};
use crate::event::RequestContext;
use crate::ids::ProjectId;
use crate::ports::{Applied, MockStore};
use crate::selector::Selector;
use crate::server::{Server, TerminatedServers};
use crate::service::{BulkActRequest, MAX_BULK_SERVERS};
use crate::state::{Action, ServerState};
use crate::tenancy::{Caller, Role};
use crate::testing::server;

use super::update_tests::service;

fn stop(selector: &str) -> BulkActRequest {
    BulkActRequest {
        label_selector: selector.to_owned(),
        action: Action::Stop,
        region: None,
        server_type: None,
        state: None,
    }
}

fn ctx() -> RequestContext {
    RequestContext::api("bulk-1")
}

#[tokio::test]
async fn a_bulk_action_is_refused_before_any_read_for_role_selector_or_filter() {
    // A store without expectations panics when called.
    let svc = service(MockStore::new());
    let viewer = Caller {
        role: Role::Viewer,
        ..Caller::open()
    };
    let refused = svc.act_on_selected(&viewer, stop("env=dev"), &ctx()).await;
    assert!(
        matches!(refused, Err(BulkActError::Forbidden(_))),
        "{refused:?}"
    );
    for empty in ["", "  \t"] {
        let refused = svc
            .act_on_selected(&Caller::open(), stop(empty), &ctx())
            .await;
        assert!(
            matches!(refused, Err(BulkActError::NoSelector)),
            "{empty:?}: {refused:?}"
        );
    }
    let refused = svc
        .act_on_selected(&Caller::open(), stop("env in (a"), &ctx())
        .await;
    assert!(
        matches!(refused, Err(BulkActError::BadSelector(_))),
        "{refused:?}"
    );
    let mut request = stop("env=dev");
    request.region = Some("mars-1".to_owned());
    let refused = svc.act_on_selected(&Caller::open(), request, &ctx()).await;
    assert!(
        matches!(refused, Err(BulkActError::UnknownFilter { kind: "region", ref name }) if name == "mars-1"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn servers_are_selected_in_the_callers_project_alive_and_at_most_one_over_the_cap() {
    let member = Caller {
        project: ProjectId::random(),
        role: Role::Member,
        key: None,
    };
    let project = member.project;
    let mut store = MockStore::new();
    store.expect_list().times(1).returning(move |filter, page| {
        assert_eq!(filter.project, Some(project));
        assert_eq!(
            filter.selector,
            Some(Selector::parse("env=dev").expect("parses"))
        );
        assert_eq!(filter.state, Some(ServerState::Running));
        assert_eq!(filter.region.as_deref(), Some("us-east-1"));
        assert_eq!(
            filter.terminated,
            TerminatedServers::None,
            "terminated servers are never selected"
        );
        assert_eq!(page.limit as usize, MAX_BULK_SERVERS + 1);
        assert_eq!((page.after, page.offset), (None, 0));
        Ok(Vec::new())
    });
    let mut request = stop("env=dev");
    request.state = Some(ServerState::Running);
    request.region = Some("us-east-1".to_owned());
    let results = service(store)
        .act_on_selected(&member, request, &ctx())
        .await
        .expect("nothing matched");
    assert!(results.is_empty());

    // An admin, who lists every project's servers, acts on its own project's only.
    let mut store = MockStore::new();
    store.expect_list().times(1).returning(|filter, _| {
        assert_eq!(filter.project, Some(ProjectId::DEFAULT));
        Ok(Vec::new())
    });
    service(store)
        .act_on_selected(&Caller::open(), stop("env=dev"), &ctx())
        .await
        .expect("nothing matched");
}

#[tokio::test]
async fn more_matches_than_the_cap_are_refused_whole_naming_the_count() {
    let mut store = MockStore::new();
    store.expect_list().times(1).returning(|_, page| {
        Ok((0..page.limit)
            .map(|_| server(ServerState::Running))
            .collect())
    });
    store.expect_count().times(1).returning(|filter| {
        assert_eq!(filter.terminated, TerminatedServers::None);
        Ok(1_234)
    });
    store.expect_apply().never();
    let refused = service(store)
        .act_on_selected(&Caller::open(), stop("env=dev"), &ctx())
        .await;
    assert!(
        matches!(
            refused,
            Err(BulkActError::TooMany {
                matched: 1_234,
                max: MAX_BULK_SERVERS
            })
        ),
        "{refused:?}"
    );
    let message = refused.expect_err("refused").to_string();
    assert!(message.contains("1234 servers match"), "{message}");
}

#[tokio::test]
async fn exactly_the_cap_is_acted_on() {
    let mut store = MockStore::new();
    store.expect_list().times(1).returning(|_, _| {
        Ok((0..MAX_BULK_SERVERS)
            .map(|_| server(ServerState::Stopped))
            .collect())
    });
    let results = service(store)
        .act_on_selected(&Caller::open(), stop("env=dev"), &ctx())
        .await
        .expect("at the cap");
    assert_eq!(results.len(), MAX_BULK_SERVERS);
    assert!(
        results
            .iter()
            .all(|r| r.outcome.as_ref().is_ok_and(|o| !o.changed))
    );
}

#[tokio::test]
async fn each_server_gets_its_own_outcome_and_a_failure_stops_none_of_the_others() {
    let running = server(ServerState::Running);
    let stopped = server(ServerState::Stopped);
    let provisioning = server(ServerState::Provisioning);
    let unlucky = server(ServerState::Running);
    let last = server(ServerState::Running);
    let selected: Vec<Server> = vec![
        running.clone(),
        stopped.clone(),
        provisioning.clone(),
        unlucky.clone(),
        last.clone(),
    ];
    let unlucky_id = unlucky.id;
    let mut store = MockStore::new();
    store
        .expect_list()
        .times(1)
        .returning(move |_, _| Ok(selected.clone()));
    store.expect_apply().times(3).returning(move |change| {
        assert_eq!(
            change.events.last().and_then(|e| e.request_id.as_deref()),
            Some("bulk-1"),
            "each action records the bulk request's id"
        );
        if change.server.id == unlucky_id {
            Err(StoreError::Unavailable(anyhow::anyhow!("connection reset")))
        } else {
            Ok(Applied::Done(Box::new(change.server.clone())))
        }
    });
    let results = service(store)
        .act_on_selected(&Caller::open(), stop("env=dev"), &ctx())
        .await
        .expect("acted");
    let ids: Vec<_> = results.iter().map(|r| r.server.id).collect();
    assert_eq!(
        ids,
        [running.id, stopped.id, provisioning.id, unlucky.id, last.id],
        "in the order selected"
    );
    let accepted = results[0].outcome.as_ref().expect("accepted");
    assert!(accepted.changed);
    assert_eq!(accepted.view.server.state, ServerState::Stopping);
    assert!(accepted.view.action.is_some(), "with its action record");
    let noop = results[1].outcome.as_ref().expect("a no-op");
    assert!(!noop.changed);
    assert!(matches!(
        results[2].outcome,
        Err(ActError::Conflict(ref c)) if c.state == ServerState::Provisioning
    ));
    assert!(matches!(
        results[3].outcome,
        Err(ActError::Store(StoreError::Unavailable(_)))
    ));
    assert!(results[4].outcome.as_ref().is_ok_and(|o| o.changed));
}

#[tokio::test]
async fn a_server_changed_since_it_was_selected_is_acted_on_as_it_is_now() {
    let running = server(ServerState::Running);
    let mut stopping = running.clone();
    stopping.state = ServerState::Stopping;
    stopping.generation = 1;
    let selected = vec![running];
    let mut store = MockStore::new();
    store
        .expect_list()
        .returning(move |_, _| Ok(selected.clone()));
    store
        .expect_apply()
        .times(1)
        .returning(|_| Ok(Applied::Stale));
    store
        .expect_get()
        .times(1)
        .returning(move |_| Ok(Some(stopping.clone())));
    let results = service(store)
        .act_on_selected(&Caller::open(), stop("env=dev"), &ctx())
        .await
        .expect("acted");
    let outcome = results[0].outcome.as_ref().expect("a no-op now");
    assert!(!outcome.changed);
    assert_eq!(outcome.view.server.state, ServerState::Stopping);
}
