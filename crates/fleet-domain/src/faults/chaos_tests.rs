use std::sync::Arc;

use chrono::TimeDelta;

use super::*;
use crate::billing;
use crate::event::Actor;
use crate::faults::tests::{draft, rule};
use crate::faults::{EffectDraft, FactorDraft, FixedDraw, InterruptionAction, MockFaultObserver};
use crate::ids::FaultRuleId;
use crate::testing::{at, config, labels, server};

fn interruption(rate: f64, action: &str) -> FaultRule {
    rule(draft(EffectDraft::Interruption {
        rate_per_hour: rate,
        notice_seconds: None,
        action: Some(action.to_owned()),
    }))
}

fn faults(rules: Vec<FaultRule>, draw: Arc<dyn Draw>) -> LifecycleFaults {
    let book = Arc::new(FaultBook::default());
    book.replace(rules);
    let mut observer = MockFaultObserver::new();
    observer.expect_injected().return_const(());
    LifecycleFaults::new(book, draw, Arc::new(observer))
}

/// A server whose `state` fell due at `at(5)`.
fn due(state: ServerState) -> Server {
    let mut due = server(state);
    due.transition_due_at = Some(at(5));
    due
}

fn up_since(start: i64) -> Server {
    let mut running = server(ServerState::Running);
    billing::open_run(&mut running, at(start));
    running
}

#[test]
fn a_failed_launch_ends_failed_with_its_address_released_and_nothing_billed() {
    let failing = rule(draft(EffectDraft::LaunchFailure));
    let id = failing.id;
    let faults = faults(vec![failing], Arc::new(FixedDraw(0.0)));
    let change = faults
        .plan_transition(&due(ServerState::Provisioning), at(9), &config())
        .expect("a change");
    let failed = &change.server;
    assert_eq!(failed.state, ServerState::Failed);
    assert_eq!(failed.state_reason, Some(StateReason::InternalError));
    assert_eq!(failed.ip, None);
    assert!(change.release_address);
    assert_eq!(failed.billed_until, None, "no run was opened");
    assert!(change.usage.is_empty());
    assert_eq!(failed.updated_at, at(5), "dated at its due time");
    assert_eq!(change.faults_fired, vec![id]);
    let kinds: Vec<EventKind> = change.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![EventKind::FaultInjected, EventKind::TransitionCompleted]
    );
    assert!(change.events.iter().all(|e| e.actor == Actor::Chaos));
    assert_eq!(
        change.action_ended.as_ref().map(|end| end.status),
        Some(ActionStatus::Error)
    );
    // A start is not a launch: it completes as usual.
    let start = faults
        .plan_transition(&due(ServerState::Starting), at(9), &config())
        .expect("a completion");
    assert_eq!(start.server.state, ServerState::Running);
}

#[test]
fn the_draw_decides_a_launch_failure_against_its_probability() {
    let mut spec = draft(EffectDraft::LaunchFailure);
    spec.probability = Some(0.25);
    let faults = faults(vec![rule(spec)], Arc::new(FixedDraw(0.5)));
    let change = faults
        .plan_transition(&due(ServerState::Provisioning), at(9), &config())
        .expect("a completion");
    assert_eq!(change.server.state, ServerState::Running);
    assert!(change.faults_fired.is_empty());
}

#[test]
fn a_slowed_transition_is_pushed_back_once_by_its_factor() {
    let slow = rule(draft(EffectDraft::Slow(FactorDraft::Fixed { factor: 4.0 })));
    let faults = faults(vec![slow], Arc::new(FixedDraw(0.0)));
    let stopping = due(ServerState::Stopping);
    let slowed = faults
        .plan_transition(&stopping, at(9), &config())
        .expect("a change");
    let delay = config().delays.stopping;
    assert_eq!(
        slowed.server.transition_due_at,
        Some(at(5) + delay * 3),
        "four times the delay in all"
    );
    assert_eq!(slowed.server.state, ServerState::Stopping);
    let again = faults
        .plan_transition(&slowed.server, at(600), &config())
        .expect("the completion");
    assert_eq!(again.server.state, ServerState::Stopped, "not slowed twice");
    assert_eq!(again.server.chaos, ChaosState::default());
}

#[test]
fn a_stuck_transition_has_no_due_time_until_its_rule_ends() {
    let mut spec = draft(EffectDraft::Stuck);
    spec.ends_at = Some(at(100));
    let stuck = rule(spec);
    let id = stuck.id;
    let faults = faults(vec![stuck], Arc::new(FixedDraw(0.0)));
    let held = faults
        .plan_transition(&due(ServerState::Rebooting), at(9), &config())
        .expect("a change");
    assert_eq!(held.server.transition_due_at, None);
    assert_eq!(held.server.state, ServerState::Rebooting);
    assert_eq!(
        held.server.chaos,
        ChaosState {
            pending: Some(PendingFault::Stuck(id)),
            due_at: Some(at(100)),
            epoch: 0
        }
    );
    let ids = Entropy::seeded(1);
    assert_eq!(
        faults.plan_pending(&held.server, at(99), &config(), &ids),
        None,
        "not before the rule's end"
    );
    let resumed = faults
        .plan_pending(&held.server, at(100), &config(), &ids)
        .expect("resumed");
    assert_eq!(resumed.server.transition_due_at, Some(at(100)));
    assert_eq!(resumed.server.chaos.pending, None);
    // At the rule's end the rule no longer holds it: it completes.
    let done = faults
        .plan_transition(&resumed.server, at(100), &config())
        .expect("completed");
    assert_eq!(done.server.state, ServerState::Running);
}

#[test]
fn a_schedule_is_the_earliest_rule_keyed_by_seed_server_and_run() {
    let slow_rate = interruption(0.001, "terminate");
    let fast_rate = interruption(100.0, "stop");
    let fast = fast_rate.id;
    let rules = vec![slow_rate, fast_rate];
    let seeded = |seed| faults(rules.clone(), Arc::new(Entropy::seeded(seed)));
    let running = up_since(10);
    let first = seeded(7).plan_schedule(&running, 99).expect("a change");
    let again = seeded(7).plan_schedule(&running, 99).expect("a change");
    assert_eq!(
        first.server.chaos, again.server.chaos,
        "the same seed, the same draw"
    );
    assert_eq!(
        first.server.chaos.pending,
        Some(PendingFault::Warning(fast))
    );
    assert_eq!(first.server.chaos.epoch, 99);
    let warn_at = first.server.chaos.due_at.expect("a due time");
    assert!(warn_at > at(10), "after the run began");
    assert_eq!(warn_at.timestamp_subsec_micros(), 0, "whole seconds");
    // A draw is whole seconds (36 s on average here), so two keys may land on the same
    // second by chance: other seeds, and other runs, must not all draw this one.
    let other_seeds: Vec<_> = (8..13)
        .map(|seed| seeded(seed).plan_schedule(&running, 99).expect("a change"))
        .map(|change| change.server.chaos.due_at)
        .collect();
    assert!(
        other_seeds.iter().any(|due| *due != Some(warn_at)),
        "other seeds draw other times: {other_seeds:?}"
    );
    let other_runs: Vec<_> = (2..7)
        .map(|start| {
            let mut next_run = running.clone();
            next_run.started_at = Some(at(start * 10));
            let change = seeded(7).plan_schedule(&next_run, 99).expect("a change");
            change.server.chaos.due_at.map(|due| due - at(start * 10))
        })
        .collect();
    assert!(
        other_runs
            .iter()
            .any(|after| *after != Some(warn_at - at(10))),
        "other runs draw other delays: {other_runs:?}"
    );
}

#[test]
fn a_schedule_keeps_to_the_rules_selector_and_window() {
    let mut spec = draft(EffectDraft::HostFailure {
        rate_per_hour: 0.0001,
    });
    spec.ends_at = Some(at(60));
    let ended_soon = rule(spec);
    let mut spec = draft(EffectDraft::HostFailure {
        rate_per_hour: 100.0,
    });
    spec.label_selector = Some("tier=web".to_owned());
    let web_only = rule(spec);
    let faults = faults(vec![ended_soon, web_only], Arc::new(FixedDraw(0.5)));
    let db = faults.plan_schedule(&up_since(0), 5).expect("a change");
    assert_eq!(
        db.server.chaos,
        ChaosState {
            pending: None,
            due_at: None,
            epoch: 5
        },
        "the near rule's hit falls past its end; the other is for web servers"
    );
    let mut web = up_since(0);
    web.labels = labels(&[("tier", "web")]);
    let hit = faults.plan_schedule(&web, 5).expect("a change");
    assert!(matches!(
        hit.server.chaos.pending,
        Some(PendingFault::HostFailure(_))
    ));
}

#[test]
fn a_warning_becomes_an_interruption_after_the_notice() {
    let spot = interruption(1.0, "terminate");
    let id = spot.id;
    let faults = faults(vec![spot], Arc::new(FixedDraw(0.5)));
    let mut running = up_since(0);
    running.chaos = ChaosState {
        pending: Some(PendingFault::Warning(id)),
        due_at: Some(at(1_000)),
        epoch: 3,
    };
    let ids = Entropy::seeded(1);
    let warned = faults
        .plan_pending(&running, at(1_000), &config(), &ids)
        .expect("a warning");
    assert_eq!(warned.server.state, ServerState::Running);
    assert_eq!(
        warned.server.chaos,
        ChaosState {
            pending: Some(PendingFault::Interruption(
                id,
                InterruptionAction::Terminate
            )),
            due_at: Some(at(1_120)),
            epoch: 3
        }
    );
    assert_eq!(warned.events.len(), 1);
    assert_eq!(warned.events[0].kind, EventKind::InterruptionWarning);
    assert_eq!(
        warned.events[0].reason,
        Some(StateReason::SpotInstanceTermination)
    );
    assert_eq!(warned.faults_fired, vec![id]);
    let interrupted = faults
        .plan_pending(&warned.server, at(2_000), &config(), &ids)
        .expect("the interruption");
    assert_eq!(interrupted.server.state, ServerState::Terminating);
    assert_eq!(
        interrupted.server.state_reason,
        Some(StateReason::SpotInstanceTermination)
    );
    assert_eq!(
        interrupted.server.updated_at,
        at(1_120),
        "dated at its due time"
    );
    assert_eq!(interrupted.server.chaos.pending, None);
    let billed: i64 = interrupted.usage.iter().map(|u| u.seconds).sum();
    assert_eq!(billed, 1_120, "the run closed at the interruption");
}

#[test]
fn an_interruption_never_reaches_back_before_what_is_billed() {
    let faults = faults(vec![], Arc::new(FixedDraw(0.5)));
    let mut running = up_since(0);
    running.billed_until = Some(at(1_200));
    running.chaos = ChaosState {
        pending: Some(PendingFault::Interruption(
            FaultRuleId::random(),
            InterruptionAction::Stop,
        )),
        due_at: Some(at(1_120)),
        epoch: 3,
    };
    let stopped = faults
        .plan_pending(&running, at(1_300), &config(), &Entropy::seeded(1))
        .expect("the interruption");
    assert_eq!(stopped.server.updated_at, at(1_200));
    assert_eq!(
        stopped.server.state_reason,
        Some(StateReason::SpotInstanceShutdown)
    );
}

#[test]
fn a_warning_whose_rule_is_gone_is_dropped_for_a_new_schedule() {
    let faults = faults(vec![], Arc::new(FixedDraw(0.5)));
    let mut running = up_since(0);
    running.chaos = ChaosState {
        pending: Some(PendingFault::Warning(FaultRuleId::random())),
        due_at: Some(at(50)),
        epoch: 3,
    };
    let dropped = faults
        .plan_pending(&running, at(60), &config(), &Entropy::seeded(1))
        .expect("a change");
    assert_eq!(dropped.server.chaos, ChaosState::default());
    assert!(dropped.events.is_empty());
}

#[test]
fn max_count_bounds_the_firings_planned_between_reads() {
    let mut spec = draft(EffectDraft::LaunchFailure);
    spec.probability = Some(1.0);
    let mut once = rule(spec);
    once.max_count = Some(2);
    once.fired = 1;
    let faults = faults(vec![once], Arc::new(FixedDraw(0.0)));
    let states: Vec<ServerState> = (0..3)
        .map(|_| {
            faults
                .plan_transition(&due(ServerState::Provisioning), at(9), &config())
                .expect("a change")
                .server
                .state
        })
        .collect();
    assert_eq!(
        states,
        vec![
            ServerState::Failed,
            ServerState::Running,
            ServerState::Running
        ]
    );
}

#[test]
fn pending_faults_round_trip_as_text() {
    let rule = FaultRuleId::random();
    for pending in [
        PendingFault::Slowed(rule),
        PendingFault::Stuck(rule),
        PendingFault::Warning(rule),
        PendingFault::Interruption(rule, InterruptionAction::Stop),
        PendingFault::Interruption(rule, InterruptionAction::Terminate),
        PendingFault::HostFailure(rule),
    ] {
        assert_eq!(PendingFault::decode(&pending.encode()), Some(pending));
    }
    for bad in [
        "",
        "stuck",
        "stuck:nope",
        "later:00000000-0000-0000-0000-000000000001",
    ] {
        assert_eq!(PendingFault::decode(bad), None, "{bad}");
    }
}

#[test]
fn leaving_service_drops_a_scheduled_fault_and_a_new_run_is_drawn_afresh() {
    let warned = ChaosState {
        pending: Some(PendingFault::Warning(FaultRuleId::random())),
        due_at: Some(at(500)),
        epoch: 4,
    };
    let mut running = up_since(0);
    running.chaos = warned;
    let ids = Entropy::seeded(1);
    let ctx = crate::event::RequestContext::api("r");
    let reboot =
        crate::lifecycle::plan_action(&running, Action::Reboot, at(10), &config(), &ctx, &ids)
            .expect("allowed")
            .expect("a change");
    assert_eq!(reboot.server.chaos, warned, "a reboot keeps the schedule");
    let stop = crate::lifecycle::plan_action(&running, Action::Stop, at(10), &config(), &ctx, &ids)
        .expect("allowed")
        .expect("a change");
    assert_eq!(stop.server.chaos.pending, None);
    assert_eq!(stop.server.chaos.epoch, 4);
    let mut starting = due(ServerState::Starting);
    starting.chaos.epoch = 4;
    let started = crate::lifecycle::plan_completion(&starting, at(9), &config()).expect("done");
    assert_eq!(started.server.chaos, ChaosState::default(), "drawn again");
}

#[test]
fn waits_are_whole_seconds_with_the_rates_mean() {
    let rate = crate::faults::Rate { per_hour: 2.0 };
    let n = 10_000;
    let total: i64 = (0..n)
        .map(|i| rate.wait((f64::from(i) + 0.5) / f64::from(n)).num_seconds())
        .sum();
    let mean = total as f64 / f64::from(n);
    assert!((mean - 1_800.0).abs() < 20.0, "{mean}");
    assert_eq!(rate.wait(0.0), TimeDelta::seconds(1), "at least a second");
}
