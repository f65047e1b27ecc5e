//! Tests of the state reasons the lifecycle gives servers and their events: which change
//! sets which code, what keeps it and what clears it.

use crate::billing;
use crate::event::{Actor, EventKind, RequestContext};
use crate::lifecycle::{self, LifecycleConfig, ServerSpec, StateChange, TransitionDelays};
use crate::money::Money;
use crate::reason::StateReason;
use crate::server::Server;
use crate::state::{Action, ServerState};
use crate::testing::{at, config, server};
use crate::{Entropy, Labels, ProjectId, ServerId};

const SHUTDOWN: Option<StateReason> = Some(StateReason::UserInitiatedShutdown);

fn act(s: &Server, action: Action, second: i64, cfg: &LifecycleConfig) -> StateChange {
    let ctx = RequestContext::api("req-1");
    lifecycle::plan_action(s, action, at(second), cfg, &ctx, &Entropy::os())
        .expect("allowed")
        .expect("not a no-op")
}

fn complete(s: &Server, second: i64) -> StateChange {
    lifecycle::plan_completion(s, at(second), &config()).expect("due")
}

fn running() -> Server {
    let mut s = server(ServerState::Running);
    billing::open_run(&mut s, at(0));
    s
}

/// Every event's reason, in order.
fn reasons(change: &StateChange) -> Vec<(EventKind, Option<StateReason>)> {
    change.events.iter().map(|e| (e.kind, e.reason)).collect()
}

#[test]
fn a_client_s_stop_is_a_user_initiated_shutdown_on_the_server_its_events_and_when_stopped() {
    let stop = act(&running(), Action::Stop, 100, &config());
    assert_eq!(stop.server.state, ServerState::Stopping);
    assert_eq!(stop.server.state_reason, SHUTDOWN);
    assert_eq!(
        reasons(&stop),
        [
            (EventKind::Billed, SHUTDOWN),
            (EventKind::ActionRequested, SHUTDOWN)
        ],
        "the run the stop closed is billed for the same reason"
    );
    let stopped = complete(&stop.server, 105);
    assert_eq!(stopped.server.state, ServerState::Stopped);
    assert_eq!(
        stopped.server.state_reason, SHUTDOWN,
        "a stopped server says why"
    );
    assert_eq!(
        reasons(&stopped),
        [(EventKind::TransitionCompleted, SHUTDOWN)]
    );
}

#[test]
fn a_client_s_terminate_is_a_user_initiated_shutdown_through_to_terminated() {
    let terminate = act(&running(), Action::Terminate, 100, &config());
    assert_eq!(terminate.server.state_reason, SHUTDOWN);
    assert!(terminate.events.iter().all(|e| e.reason == SHUTDOWN));
    let terminated = complete(&terminate.server, 105);
    assert_eq!(terminated.server.state, ServerState::Terminated);
    assert_eq!(terminated.server.state_reason, SHUTDOWN);
    assert_eq!(
        reasons(&terminated),
        [(EventKind::TransitionCompleted, SHUTDOWN)]
    );
}

#[test]
fn a_start_clears_the_reason_and_running_carries_none() {
    let mut stopped = server(ServerState::Stopped);
    stopped.state_reason = SHUTDOWN;
    let start = act(&stopped, Action::Start, 100, &config());
    assert_eq!(start.server.state, ServerState::Starting);
    assert_eq!(start.server.state_reason, None);
    assert_eq!(reasons(&start), [(EventKind::ActionRequested, None)]);
    let up = complete(&start.server, 105);
    assert_eq!(up.server.state, ServerState::Running);
    assert_eq!(up.server.state_reason, None);
    assert_eq!(reasons(&up), [(EventKind::TransitionCompleted, None)]);
}

#[test]
fn a_reboot_has_no_reason_as_in_ec2() {
    let reboot = act(&running(), Action::Reboot, 100, &config());
    assert_eq!(reboot.server.state_reason, None);
    assert_eq!(reasons(&reboot), [(EventKind::ActionRequested, None)]);
    assert_eq!(complete(&reboot.server, 105).server.state_reason, None);
}

#[test]
fn the_reaper_s_terminate_is_idle_reaped_and_replaces_the_stop_s_reason() {
    let mut stopped = server(ServerState::Stopped);
    stopped.stopped_at = Some(at(0));
    stopped.state_reason = SHUTDOWN;
    let cfg = config();
    let idle = cfg.idle_timeout.num_seconds();
    assert!(lifecycle::plan_reap(&stopped, at(idle - 1), &cfg, &Entropy::os()).is_none());
    let reap =
        lifecycle::plan_reap(&stopped, at(idle), &cfg, &Entropy::os()).expect("idle long enough");
    let reaped = Some(StateReason::IdleReaped);
    assert_eq!(reap.server.state, ServerState::Terminating);
    assert_eq!(reap.server.state_reason, reaped);
    let [event] = reap.events.as_slice() else {
        panic!("one event: {:?}", reap.events)
    };
    assert_eq!((event.actor, event.reason), (Actor::Reaper, reaped));
    let gone = complete(&reap.server, idle + 5);
    assert_eq!(gone.server.state, ServerState::Terminated);
    assert_eq!(gone.server.state_reason, reaped);
}

#[test]
fn a_client_s_terminate_replaces_a_failure_s_reason() {
    let mut failed = server(ServerState::Failed);
    failed.state_reason = Some(StateReason::InternalError);
    let terminate = act(&failed, Action::Terminate, 100, &config());
    assert_eq!(terminate.server.state_reason, SHUTDOWN);
}

#[test]
fn an_action_for_a_reason_of_the_service_s_own_carries_it() {
    let interrupted = lifecycle::plan_action_because(
        &running(),
        Action::Terminate,
        at(100),
        &config(),
        &RequestContext::system(),
        &Entropy::os(),
        Some(StateReason::SpotInstanceTermination),
    )
    .expect("allowed")
    .expect("a change");
    let spot = Some(StateReason::SpotInstanceTermination);
    assert_eq!(interrupted.server.state_reason, spot);
    assert!(interrupted.events.iter().all(|e| e.reason == spot));
}

#[test]
fn a_reason_given_to_an_action_into_service_is_not_kept() {
    let start = lifecycle::plan_action_because(
        &server(ServerState::Stopped),
        Action::Start,
        at(100),
        &config(),
        &RequestContext::system(),
        &Entropy::os(),
        Some(StateReason::InternalError),
    )
    .expect("allowed")
    .expect("a change");
    assert_eq!(start.server.state_reason, None);
    assert_eq!(reasons(&start), [(EventKind::ActionRequested, None)]);
}

#[test]
fn an_overdue_stop_completes_with_its_reason_before_a_start_clears_it() {
    let stopping = act(&running(), Action::Stop, 100, &config()).server;
    let start = act(&stopping, Action::Start, 500, &config());
    assert_eq!(start.server.state, ServerState::Starting);
    assert_eq!(start.server.state_reason, None);
    assert_eq!(
        reasons(&start),
        [
            (EventKind::TransitionCompleted, SHUTDOWN),
            (EventKind::ActionRequested, None)
        ]
    );
}

#[test]
fn a_stop_that_completes_at_once_keeps_its_reason_in_both_events() {
    let instant = LifecycleConfig {
        delays: TransitionDelays::ZERO,
        ..config()
    };
    let stop = act(&running(), Action::Stop, 100, &instant);
    assert_eq!(stop.server.state, ServerState::Stopped);
    assert_eq!(stop.server.state_reason, SHUTDOWN);
    assert!(stop.events.iter().all(|e| e.reason == SHUTDOWN));
}

#[test]
fn a_new_server_and_its_creation_have_no_reason() {
    let new = lifecycle::plan_provision(
        ServerSpec {
            id: ServerId::random(),
            project: ProjectId::DEFAULT,
            name: "web".to_owned(),
            labels: Labels::default(),
            region: "us-east-1".to_owned(),
            server_type: "t2.micro".to_owned(),
            hourly_price: Money::from_micros(11_600),
            policy: crate::billing::BillingPolicy::default(),
            vcpus: 1,
        },
        at(0),
        &config(),
        &RequestContext::api("req-new"),
        &Entropy::os(),
    );
    assert_eq!(new.server.state_reason, None);
    assert_eq!(new.event.reason, None);
    let up = complete(&new.server, 10);
    assert_eq!(up.server.state_reason, None);
}
