use super::*;
use crate::event::{Actor, EventType};
use crate::state::ServerState;
use crate::testing::{at, labels, server};

#[test]
fn an_update_renames_and_relabels_at_the_next_generation_with_one_event() {
    let mut before = server(ServerState::Running);
    before.labels = labels(&[("env", "dev"), ("canary", "")]);
    let after = labels(&[("env", "prod"), ("tier", "web")]);
    let ctx = RequestContext::api("req-7");
    let change = plan_update(&before, "web-2", after.clone(), at(30), &ctx).expect("a change");
    assert_eq!(change.expected_generation, before.generation);
    assert_eq!(change.server.generation, before.generation + 1);
    assert_eq!(change.server.name, "web-2");
    assert_eq!(change.server.labels, after);
    assert_eq!(change.server.updated_at, at(30));
    assert_eq!(change.server.state, ServerState::Running);
    assert!(change.usage.is_empty() && !change.release_address);
    assert!(change.action_opened.is_none() && change.action_ended.is_none());
    assert!(!change.carries_action());
    let [event] = change.events.as_slice() else {
        panic!("one event: {:?}", change.events);
    };
    assert_eq!(event.event_type(), EventType::ServerUpdated);
    assert_eq!((event.from_state, event.to_state), (None, None));
    assert_eq!(event.actor, Actor::Api);
    assert_eq!(event.request_id.as_deref(), Some("req-7"));
    assert_eq!(
        event.message,
        "updated by api: name 'test' → 'web-2'; labels set: env, tier; labels removed: canary"
    );
}

#[test]
fn an_update_that_changes_nothing_plans_nothing() {
    let mut before = server(ServerState::Stopped);
    before.labels = labels(&[("env", "dev")]);
    let same = before.labels.clone();
    let ctx = RequestContext::api("req-1");
    assert_eq!(plan_update(&before, "test", same, at(5), &ctx), None);
}

#[test]
fn relabelling_alone_keeps_the_name() {
    let before = server(ServerState::Terminated);
    let ctx = RequestContext::api("req-1");
    let change =
        plan_update(&before, "test", labels(&[("gone", "yes")]), at(5), &ctx).expect("a change");
    assert_eq!(change.server.name, "test");
    assert_eq!(change.events[0].message, "updated by api: labels set: gone");
}
