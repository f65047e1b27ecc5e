//! Conditional actions and updates (`If-Match`) against mocks of the ports: the condition
//! is checked on the server as read, and a write the store's generation guard refuses is
//! a failed condition, never planned again.

use std::sync::{Arc, Mutex};

use crate::error::{ActError, UpdateError};
use crate::event::RequestContext;
use crate::ids::ServerId;
use crate::ports::{Applied, MockStore};
use crate::precondition::{GenerationMatch, PreconditionFailed};
use crate::server::Server;
use crate::server_update::ServerUpdate;
use crate::service::{ActOutcome, ServerView};
use crate::state::{Action, ServerState};
use crate::tenancy::Caller;
use crate::testing::server;

use super::update_tests::service;

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

/// `action` on `id` over `store`, only at one of `generations`.
async fn act_if(
    store: MockStore,
    id: ServerId,
    action: Action,
    generations: &[i64],
) -> Result<ActOutcome, ActError> {
    let condition = GenerationMatch::any_of(generations.iter().copied());
    service(store)
        .act(
            &Caller::open(),
            id,
            action,
            Some(&condition),
            &RequestContext::api("r"),
        )
        .await
}

/// `update` of `id` over `store`, only at one of `generations`.
async fn update_if(
    store: MockStore,
    id: ServerId,
    update: ServerUpdate,
    generations: &[i64],
) -> Result<ServerView, UpdateError> {
    let condition = GenerationMatch::any_of(generations.iter().copied());
    service(store)
        .update(
            &Caller::open(),
            id,
            update,
            Some(&condition),
            &RequestContext::api("r"),
        )
        .await
}

fn rename() -> ServerUpdate {
    ServerUpdate {
        name: Some("renamed".to_owned()),
        labels: Default::default(),
    }
}

fn failed_at(generation: i64) -> PreconditionFailed {
    PreconditionFailed {
        current_generation: generation,
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
    let outcome = act_if(store, id, Action::Stop, &[6, 7])
        .await
        .expect("the condition holds");
    assert_eq!(outcome.view.server.state, ServerState::Stopping);
}

#[tokio::test]
async fn an_action_on_a_server_that_moved_on_fails_its_condition_and_writes_nothing() {
    for state in [
        ServerState::Running,
        ServerState::Stopped,
        ServerState::Provisioning,
    ] {
        let moved = at_generation(state, 8);
        let id = moved.id;
        let mut store = reading(vec![moved]);
        store.expect_apply().never();
        let refused = act_if(store, id, Action::Stop, &[7]).await;
        assert!(
            matches!(refused, Err(ActError::PreconditionFailed(f)) if f == failed_at(8)),
            "checked before the change, the no-op or the conflict of {state:?}: {refused:?}"
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
    let refused = act_if(store, id, Action::Stop, &[7]).await;
    assert!(
        matches!(refused, Err(ActError::PreconditionFailed(f)) if f == failed_at(9)),
        "names the generation the other writer left: {refused:?}"
    );
}

#[tokio::test]
async fn a_missing_server_is_not_found_whatever_the_condition() {
    let mut store = MockStore::new();
    store.expect_get().returning(|_| Ok(None));
    let id = server(ServerState::Running).id;
    let refused = act_if(store, id, Action::Stop, &[]).await;
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
    let view = update_if(store, id, rename(), &[3])
        .await
        .expect("the condition holds");
    assert_eq!(view.server.name, "renamed");

    let mut store = reading(vec![server.clone()]);
    store.expect_apply().never();
    let refused = update_if(store, id, rename(), &[2]).await;
    assert!(
        matches!(refused, Err(UpdateError::PreconditionFailed(f)) if f == failed_at(3)),
        "{refused:?}"
    );

    let mut store = reading(vec![server, at_generation(ServerState::Stopping, 4)]);
    store
        .expect_apply()
        .times(1)
        .returning(|_| Ok(Applied::Stale));
    let refused = update_if(store, id, rename(), &[3]).await;
    assert!(
        matches!(refused, Err(UpdateError::PreconditionFailed(f)) if f == failed_at(4)),
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
    let refused = update_if(store, id, update, &[2]).await;
    assert!(
        matches!(refused, Err(UpdateError::InvalidLabels(_))),
        "{refused:?}"
    );
}
