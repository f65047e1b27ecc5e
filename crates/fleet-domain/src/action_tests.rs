//! Tests of the action records the planned changes open and end.

use chrono::TimeDelta;

use crate::action::{ActionCommand, ActionStatus};
use crate::event::{EventType, RequestContext};
use crate::ids::{ProjectId, ServerId};
use crate::lifecycle::{self, ServerSpec, TransitionDelays};
use crate::money::Money;
use crate::state::{Action, ServerState};
use crate::testing::{at, config, server};

fn ctx() -> RequestContext {
    RequestContext::api("req-7")
}

#[test]
fn provisioning_opens_a_running_provision_record() {
    let spec = ServerSpec {
        id: ServerId::random(),
        project: ProjectId::DEFAULT,
        name: "web".to_owned(),
        labels: Default::default(),
        region: "us-east-1".to_owned(),
        server_type: "t2.micro".to_owned(),
        hourly_price: Money::from_micros(11_600),
        policy: crate::billing::BillingPolicy::default(),
        vcpus: 1,
    };
    let new = lifecycle::plan_provision(
        spec.clone(),
        at(0),
        &config(),
        &ctx(),
        &crate::Entropy::os(),
    );
    assert_eq!(new.action.command, ActionCommand::Provision);
    assert_eq!(new.action.status, ActionStatus::Running);
    assert_eq!(new.action.server_id, spec.id);
    assert_eq!(new.action.project, spec.project);
    assert_eq!(new.action.started_at, at(0));
    assert_eq!(new.action.request_id.as_deref(), Some("req-7"));
    assert_eq!(new.event.event_type(), EventType::ServerProvisioned);
}

#[test]
fn an_accepted_action_opens_a_record_and_its_completion_ends_the_stored_one() {
    let cfg = config();
    let stop = lifecycle::plan_action(
        &server(ServerState::Running),
        Action::Stop,
        at(10),
        &cfg,
        &ctx(),
        &crate::Entropy::os(),
    )
    .expect("allowed")
    .expect("a change");
    let opened = stop.action_opened.as_ref().expect("a record");
    assert_eq!(opened.command, ActionCommand::Lifecycle(Action::Stop));
    assert_eq!(opened.status, ActionStatus::Running);
    assert_eq!(opened.finished_at, None);
    assert_eq!(stop.action_ended, None, "nothing was running");

    let done = lifecycle::plan_completion(&stop.server, at(100), &cfg).expect("due");
    assert_eq!(done.action_opened, None);
    let ended = done.action_ended.expect("the stop ends");
    assert_eq!(ended.status, ActionStatus::Success);
    assert_eq!(
        Some(ended.at),
        stop.server.transition_due_at,
        "dated when it completed"
    );
}

#[test]
fn an_action_that_completes_at_once_is_stored_already_succeeded() {
    let mut cfg = config();
    cfg.delays = TransitionDelays::ZERO;
    let change = lifecycle::plan_action(
        &server(ServerState::Stopped),
        Action::Start,
        at(5),
        &cfg,
        &ctx(),
        &crate::Entropy::os(),
    )
    .expect("allowed")
    .expect("a change");
    assert_eq!(change.server.state, ServerState::Running);
    let opened = change.action_opened.expect("a record");
    assert_eq!(opened.status, ActionStatus::Success);
    assert_eq!(opened.finished_at, Some(at(5)));
    assert_eq!(
        change.action_ended, None,
        "the stored running action is not touched"
    );
}

#[test]
fn an_overdue_transition_ends_its_action_before_the_next_one_opens() {
    let cfg = config();
    let mut starting = server(ServerState::Starting);
    starting.transition_due_at = Some(at(3));
    let change = lifecycle::plan_action(
        &starting,
        Action::Stop,
        at(50),
        &cfg,
        &ctx(),
        &crate::Entropy::os(),
    )
    .expect("allowed")
    .expect("a change");
    assert_eq!(
        change.action_ended.as_ref().map(|end| end.status),
        Some(ActionStatus::Success)
    );
    let opened = change.action_opened.expect("the stop");
    assert_eq!(opened.command, ActionCommand::Lifecycle(Action::Stop));
    assert_eq!(opened.status, ActionStatus::Running);
}

#[test]
fn terminating_mid_transition_fails_the_running_action_with_the_reason() {
    let cfg = config();
    let mut starting = server(ServerState::Starting);
    starting.transition_due_at = Some(at(100));
    let change = lifecycle::plan_action(
        &starting,
        Action::Terminate,
        at(1),
        &cfg,
        &ctx(),
        &crate::Entropy::os(),
    )
    .expect("allowed")
    .expect("a change");
    let ended = change.action_ended.expect("the start ends");
    assert_eq!(ended.status, ActionStatus::Error);
    assert_eq!(
        ended.error.as_deref(),
        Some("terminate requested while starting")
    );
    assert_eq!(
        change.action_opened.map(|a| a.command),
        Some(ActionCommand::Lifecycle(Action::Terminate))
    );
}

#[test]
fn no_op_actions_open_no_record() {
    let change = lifecycle::plan_action(
        &server(ServerState::Stopped),
        Action::Stop,
        at(1),
        &config(),
        &ctx(),
        &crate::Entropy::os(),
    )
    .expect("allowed");
    assert!(change.is_none());
}

#[test]
fn the_reapers_terminations_have_their_own_event_type() {
    let mut cfg = config();
    cfg.idle_timeout = TimeDelta::seconds(10);
    let mut stopped = server(ServerState::Stopped);
    stopped.stopped_at = Some(at(0));
    let change =
        lifecycle::plan_reap(&stopped, at(20), &cfg, &crate::Entropy::os()).expect("reaped");
    let types: Vec<_> = change.events.iter().map(|e| e.event_type()).collect();
    assert_eq!(types, [EventType::ServerReaped]);
    assert!(
        change.action_opened.is_some(),
        "the reaper's terminate is recorded too"
    );
}
