//! Conditional actions and updates (`If-Match`) against mocks of the ports: the condition
//! is checked on the server as read, and a write the store's generation guard refuses is
//! a failed condition, never planned again.

use std::sync::{Arc, Mutex};

use crate::catalog::Catalog;
use crate::error::{ActError, UpdateError};
use crate::event::RequestContext;
use crate::ports::{Applied, MockClock, MockStore};
use crate::precondition::{GenerationMatch, PreconditionFailed};
use crate::server::Server;
use crate::server_update::ServerUpdate;
use crate::service::ServerService;
use crate::state::{Action, ServerState};
use crate::tenancy::Caller;
use crate::testing::{at, config, server};

fn service(store: MockStore) -> ServerService {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(at(40));
    ServerService::new(
        Arc::new(store),
        Arc::new(clock),
        Arc::new(Catalog::default()),
        config(),
    )
}

fn at_generation(state: ServerState, generation: i64) -> Server {
    let mut server = server(state);
    server.generation = generation;
    server
}

/// A store that reads back `reads` in order, the last one for ever after.
fn reading(reads: Vec<Server>) -> MockStore {
    let reads = Arc::new(Mutex::new(reads));
    let mut store = MockStore::new();
    store.expect_get().returning(move |_| {
        let mut reads = reads.lock().expect("lock");
        let next = if reads.len() > 1 {
            reads.remove(0)
        } else {
            reads[0].clone()
        };
        Ok(Some(next))
    });
    store
}

fn ctx() -> RequestContext {
    RequestContext::api("r")
}

fn rename() -> ServerUpdate {
    ServerUpdate {
        name: Some("renamed".to_owned()),
        labels: Default::default(),
    }
}

#[tokio::test]
async fn an_action_at_the_expected_generation_is_guarded_by_it() {
    let running = at_generation(ServerState::Running, 7);
    let id = running.id;
    let mut store = reading(vec![running]);
    store.expect_apply().times(1).returning(|change| {
        assert_eq!(change.expected_generation, 7);
        Ok(Applied::Done(Box::new(change.server.clone())))
    });
    let outcome = service(store)
        .act(
            &Caller::open(),
            id,
            Action::Stop,
            Some(&GenerationMatch::any_of([6, 7])),
            &ctx(),
        )
        .await
        .expect("the condition holds");
    assert_eq!(outcome.view.server.state, ServerState::Stopping);
}

#[tokio::test]
async fn an_action_on_a_server_that_moved_on_fails_its_condition_and_writes_nothing() {
    for (state, action) in [
        (ServerState::Running, Action::Stop),
        (ServerState::Stopped, Action::Stop),
        (ServerState::Provisioning, Action::Stop),
    ] {
        let moved = at_generation(state, 8);
        let id = moved.id;
        let mut store = reading(vec![moved]);
        store.expect_apply().never();
        let refused = service(store)
            .act(
                &Caller::open(),
                id,
                action,
                Some(&GenerationMatch::any_of([7])),
                &ctx(),
            )
            .await;
        assert!(
            matches!(
                refused,
                Err(ActError::PreconditionFailed(PreconditionFailed {
                    current_generation: 8
                }))
            ),
            "checked before the no-op or the conflict of {state:?}: {refused:?}"
        );
    }
}

#[tokio::test]
async fn a_conditional_action_the_guard_refuses_is_not_planned_again() {
    let running = at_generation(ServerState::Running, 7);
    let id = running.id;
    let moved = at_generation(ServerState::Running, 9);
    let mut store = reading(vec![running, moved]);
    store
        .expect_apply()
        .times(1)
        .returning(|_| Ok(Applied::Stale));
    let refused = service(store)
        .act(
            &Caller::open(),
            id,
            Action::Stop,
            Some(&GenerationMatch::any_of([7])),
            &ctx(),
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(ActError::PreconditionFailed(PreconditionFailed {
                current_generation: 9
            }))
        ),
        "names the generation the other writer left: {refused:?}"
    );
}

#[tokio::test]
async fn a_missing_server_is_not_found_whatever_the_condition() {
    let mut store = MockStore::new();
    store.expect_get().returning(|_| Ok(None));
    let id = server(ServerState::Running).id;
    let refused = service(store)
        .act(
            &Caller::open(),
            id,
            Action::Stop,
            Some(&GenerationMatch::any_of([])),
            &ctx(),
        )
        .await;
    assert!(matches!(refused, Err(ActError::NotFound(got)) if got == id));
}

#[tokio::test]
async fn an_update_is_guarded_by_its_condition_and_never_planned_again() {
    let server = at_generation(ServerState::Running, 3);
    let id = server.id;
    let mut store = reading(vec![server.clone()]);
    store.expect_apply().times(1).returning(|change| {
        assert_eq!(change.expected_generation, 3);
        Ok(Applied::Done(Box::new(change.server.clone())))
    });
    let view = service(store)
        .update(
            &Caller::open(),
            id,
            rename(),
            Some(&GenerationMatch::any_of([3])),
            &ctx(),
        )
        .await
        .expect("the condition holds");
    assert_eq!(view.server.name, "renamed");

    let mut store = reading(vec![server.clone()]);
    store.expect_apply().never();
    let refused = service(store)
        .update(
            &Caller::open(),
            id,
            rename(),
            Some(&GenerationMatch::any_of([2])),
            &ctx(),
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(UpdateError::PreconditionFailed(PreconditionFailed {
                current_generation: 3
            }))
        ),
        "{refused:?}"
    );

    let mut store = reading(vec![server, at_generation(ServerState::Stopping, 4)]);
    store
        .expect_apply()
        .times(1)
        .returning(|_| Ok(Applied::Stale));
    let refused = service(store)
        .update(
            &Caller::open(),
            id,
            rename(),
            Some(&GenerationMatch::any_of([3])),
            &ctx(),
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(UpdateError::PreconditionFailed(PreconditionFailed {
                current_generation: 4
            }))
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_patch_breaking_the_label_rules_is_refused_as_such_whatever_the_condition() {
    let server = at_generation(ServerState::Running, 3);
    let id = server.id;
    let mut store = reading(vec![server]);
    store.expect_apply().never();
    let update = ServerUpdate {
        name: None,
        labels: [("env".to_owned(), Some("not valid".to_owned()))]
            .into_iter()
            .collect(),
    };
    let refused = service(store)
        .update(
            &Caller::open(),
            id,
            update,
            Some(&GenerationMatch::any_of([2])),
            &ctx(),
        )
        .await;
    assert!(
        matches!(refused, Err(UpdateError::InvalidLabels(_))),
        "{refused:?}"
    );
}
