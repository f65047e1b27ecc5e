//! Tests of change planning and billing, driven through the public planning functions.

use chrono::TimeDelta;
use proptest::prelude::*;

use crate::billing::{self, MINIMUM_RUN_SECONDS, UsageRecord};
use crate::event::{Actor, EventKind, RequestContext};
use crate::lifecycle::{self, LifecycleConfig, StateChange, TransitionDelays};
use crate::money::Money;
use crate::server::Server;
use crate::state::{Action, ServerState};
use crate::testing::{at, config, server};

/// Applies a change the way a store would: the server becomes the planned one.
fn apply(ledger: &mut Vec<UsageRecord>, change: StateChange) -> Server {
    ledger.extend(change.usage);
    change.server
}

fn act(s: &Server, action: Action, second: i64, cfg: &LifecycleConfig) -> StateChange {
    lifecycle::plan_action(
        s,
        action,
        at(second),
        cfg,
        &RequestContext::api("req-1"),
        &crate::Entropy::os(),
    )
    .expect("allowed")
    .expect("not a no-op")
}

fn complete(s: &Server, second: i64, cfg: &LifecycleConfig) -> StateChange {
    lifecycle::plan_completion(s, at(second), cfg).expect("due")
}

fn running_since(second: i64) -> Server {
    let mut s = server(ServerState::Running);
    billing::open_run(&mut s, at(second));
    s
}

#[test]
fn an_action_moves_to_the_transitional_state_with_its_due_time_and_an_event() {
    let cfg = config();
    let change = act(&running_since(0), Action::Reboot, 100, &cfg);
    assert_eq!(change.expected_generation, 0);
    assert_eq!(change.server.generation, 1);
    assert_eq!(change.server.state, ServerState::Rebooting);
    assert_eq!(change.server.transition_due_at, Some(at(105)));
    let [event] = change.events.as_slice() else {
        panic!("one event: {:?}", change.events)
    };
    assert_eq!(event.kind, EventKind::ActionRequested);
    assert_eq!(event.actor, Actor::Api);
    assert_eq!(event.request_id.as_deref(), Some("req-1"));
    assert_eq!(
        (event.from_state, event.to_state),
        (Some(ServerState::Running), Some(ServerState::Rebooting))
    );
    assert!(change.usage.is_empty(), "a reboot stays inside the run");
}

#[test]
fn no_ops_and_conflicts_plan_nothing() {
    let cfg = config();
    let ctx = RequestContext::api("r");
    let running = running_since(0);
    assert_eq!(
        lifecycle::plan_action(
            &running,
            Action::Start,
            at(1),
            &cfg,
            &ctx,
            &crate::Entropy::os()
        ),
        Ok(None)
    );
    let stopped = server(ServerState::Stopped);
    assert!(
        lifecycle::plan_action(
            &stopped,
            Action::Reboot,
            at(1),
            &cfg,
            &ctx,
            &crate::Entropy::os()
        )
        .is_err()
    );
}

#[test]
fn a_completion_is_dated_at_its_due_time_even_when_the_worker_is_late() {
    let cfg = config();
    let mut s = server(ServerState::Provisioning);
    s.transition_due_at = Some(at(10));
    assert!(lifecycle::plan_completion(&s, at(9), &cfg).is_none());
    let change = complete(&s, 500, &cfg);
    assert_eq!(change.server.state, ServerState::Running);
    assert_eq!(change.server.started_at, Some(at(10)));
    assert_eq!(change.server.billed_until, Some(at(10)));
    assert_eq!(change.server.transition_due_at, None);
    assert_eq!(change.events[0].at, at(10));
    assert_eq!(change.events[0].actor, Actor::System);
    assert_eq!(change.events[0].kind, EventKind::TransitionCompleted);
}

#[test]
fn a_zero_delay_completes_in_the_same_change() {
    let cfg = LifecycleConfig {
        delays: TransitionDelays::ZERO,
        ..config()
    };
    let change = act(&running_since(0), Action::Stop, 90, &cfg);
    assert_eq!(change.server.state, ServerState::Stopped);
    assert_eq!(change.server.stopped_at, Some(at(90)));
    let kinds: Vec<_> = change.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Billed,
            EventKind::ActionRequested,
            EventKind::TransitionCompleted
        ]
    );
    let seconds: Vec<_> = change.usage.iter().map(|r| r.seconds).collect();
    assert_eq!(
        seconds,
        [60, 30],
        "the close bills what is left in period pieces"
    );
}

#[test]
fn a_short_run_is_billed_the_sixty_second_minimum() {
    let cfg = config();
    let mut ledger = Vec::new();
    let s = apply(&mut ledger, act(&running_since(10), Action::Stop, 40, &cfg));
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].seconds, MINIMUM_RUN_SECONDS);
    assert_eq!(
        (ledger[0].period_start, ledger[0].period_end),
        (at(10), at(40))
    );
    assert_eq!(s.billed_seconds, 60);
    assert_eq!(
        s.billed_amount,
        Money::for_seconds(Money::from_micros(11_600), 60)
    );
    assert_eq!(s.billed_until, None, "the run is closed");
}

#[test]
fn a_long_run_is_accrued_over_periods_without_gap_or_overlap() {
    let cfg = config();
    let mut ledger = Vec::new();
    let mut s = running_since(0);
    for now in [59, 60, 61, 200, 1_000, 3_000] {
        if let Some(change) = lifecycle::plan_accrual(&s, at(now), &cfg) {
            s = apply(&mut ledger, change);
        }
    }
    s = apply(&mut ledger, act(&s, Action::Stop, 3_700, &cfg));
    // One record per whole period: [0,60) at 60; two more by 200; 13 by 1000; 34 by 3000;
    // then the close bills [3000, 3700) as the worker would have: 11 periods and 40 s.
    assert_eq!(
        ledger.len(),
        1 + 2 + 13 + 34 + 12,
        "records: {}",
        ledger.len()
    );
    assert!(ledger[..ledger.len() - 1].iter().all(|r| r.seconds == 60));
    for pair in ledger.windows(2) {
        assert_eq!(pair[0].period_end, pair[1].period_start);
    }
    assert_eq!(ledger.first().map(|r| r.period_start), Some(at(0)));
    assert_eq!(ledger.last().map(|r| r.period_end), Some(at(3_700)));
    assert_eq!(ledger.iter().map(|r| r.seconds).sum::<i64>(), 3_700);
    let total: Money = ledger.iter().fold(Money::ZERO, |sum, r| sum + r.amount);
    assert_eq!(total, Money::for_seconds(Money::from_micros(11_600), 3_700));
    assert_eq!(s.billed_amount, total);
}

#[test]
fn uptime_is_never_forgotten_across_stop_and_start() {
    let cfg = config();
    let mut ledger = Vec::new();
    let mut s = running_since(0);
    s = apply(&mut ledger, act(&s, Action::Stop, 600, &cfg));
    s = apply(&mut ledger, complete(&s, 605, &cfg));
    assert_eq!(s.state, ServerState::Stopped);
    s = apply(&mut ledger, act(&s, Action::Start, 1_000, &cfg));
    s = apply(&mut ledger, complete(&s, 1_005, &cfg));
    assert_eq!(s.started_at, Some(at(1_005)));
    s = apply(&mut ledger, act(&s, Action::Reboot, 1_300, &cfg));
    s = apply(&mut ledger, complete(&s, 1_305, &cfg));
    s = apply(&mut ledger, act(&s, Action::Terminate, 1_405, &cfg));
    assert_eq!(s.billed_seconds, 600 + 400, "both runs, reboot included");
    assert_eq!(ledger.iter().map(|r| r.seconds).sum::<i64>(), 1_000);
    assert!(
        ledger
            .iter()
            .all(|r| r.period_end <= at(600) || r.period_start >= at(1_005)),
        "nothing billed between the runs"
    );
    let summary = billing::summary(&s, at(99_999));
    assert_eq!(
        summary.total_seconds, 1_000,
        "nothing accrues after the run closes"
    );
}

#[test]
fn the_reaper_terminates_only_servers_idle_past_the_timeout() {
    let cfg = config();
    let mut s = server(ServerState::Stopped);
    s.stopped_at = Some(at(0));
    assert!(lifecycle::plan_reap(&s, at(1_799), &cfg, &crate::Entropy::os()).is_none());
    let change = lifecycle::plan_reap(&s, at(1_800), &cfg, &crate::Entropy::os()).expect("idle");
    assert_eq!(change.server.state, ServerState::Terminating);
    assert_eq!(change.events[0].actor, Actor::Reaper);
    let running = running_since(0);
    assert!(lifecycle::plan_reap(&running, at(99_999), &cfg, &crate::Entropy::os()).is_none());
}

#[test]
fn terminated_releases_the_address() {
    let cfg = config();
    let mut s = server(ServerState::Terminating);
    s.transition_due_at = Some(at(5));
    let change = complete(&s, 5, &cfg);
    assert_eq!(change.server.state, ServerState::Terminated);
    assert!(change.release_address);
    assert_eq!(change.server.ip, None);
    assert_eq!(change.server.terminated_at, Some(at(5)));
}

proptest! {
    /// However a run is cut into accruals, the ledger covers it exactly once, bills at
    /// least the minimum, and adds up to the price of its total seconds.
    #[test]
    fn accrual_never_bills_a_second_twice_or_loses_one(
        start in 0i64..1_000,
        cuts in proptest::collection::vec(1i64..5_000, 0..12),
        tail in 0i64..5_000,
        hourly in 0i64..100_000_000,
        period in 1i64..600,
    ) {
        let cfg = LifecycleConfig { billing_period: TimeDelta::seconds(period), ..config() };
        let mut s = running_since(start);
        s.hourly_price = Money::from_micros(hourly);
        let mut ledger = Vec::new();
        let mut now = start;
        for cut in cuts {
            now += cut;
            if let Some(change) = lifecycle::plan_accrual(&s, at(now), &cfg) {
                s = apply(&mut ledger, change);
            }
        }
        now += tail;
        s = apply(&mut ledger, act(&s, Action::Terminate, now, &cfg));
        let run = now - start;
        let billed: i64 = ledger.iter().map(|r| r.seconds).sum();
        prop_assert_eq!(billed, run.max(MINIMUM_RUN_SECONDS));
        prop_assert_eq!(ledger[0].period_start, at(start));
        prop_assert_eq!(ledger.last().map(|r| r.period_end), Some(at(now)));
        for pair in ledger.windows(2) {
            prop_assert_eq!(pair[0].period_end, pair[1].period_start);
        }
        let total = ledger.iter().fold(Money::ZERO, |sum, r| sum + r.amount);
        prop_assert_eq!(total, Money::for_seconds(Money::from_micros(hourly), billed));
        prop_assert_eq!(s.billed_amount, total);
    }
}

#[test]
fn an_action_on_an_overdue_transition_completes_it_first_in_the_same_change() {
    let cfg = config();
    let mut starting = server(ServerState::Starting);
    starting.transition_due_at = Some(at(3));
    let change = act(&starting, Action::Terminate, 4, &cfg);
    let kinds: Vec<_> = change.events.iter().map(|e| (e.kind, e.to_state)).collect();
    assert_eq!(
        kinds,
        [
            (EventKind::TransitionCompleted, Some(ServerState::Running)),
            (EventKind::Billed, None),
            (EventKind::ActionRequested, Some(ServerState::Terminating)),
        ]
    );
    assert_eq!(change.expected_generation, starting.generation);
    assert_eq!(change.usage.len(), 1);
    assert_eq!(
        change.usage[0].seconds, MINIMUM_RUN_SECONDS,
        "the run it had begun is billed"
    );
    assert!(change.carries_action());

    let stop = act(&starting, Action::Stop, 4, &cfg);
    assert_eq!(
        stop.server.state,
        ServerState::Stopping,
        "no longer a conflict with starting"
    );
    let start = lifecycle::plan_action(
        &starting,
        Action::Start,
        at(4),
        &cfg,
        &RequestContext::api("r"),
        &crate::Entropy::os(),
    )
    .expect("allowed")
    .expect("the overdue completion is still written");
    assert_eq!(start.server.state, ServerState::Running);
    assert!(
        !start.carries_action(),
        "start on a running server is a no-op"
    );
}

#[test]
fn a_long_backlog_is_accrued_period_by_period_a_bounded_number_at_a_time() {
    let cfg = config();
    let mut s = running_since(0);
    let periods = lifecycle::MAX_PERIODS_PER_ACCRUAL as i64;
    let now = 60 * (periods + 500) + 30;
    let first = lifecycle::plan_accrual(&s, at(now), &cfg).expect("due");
    assert_eq!(first.usage.len(), lifecycle::MAX_PERIODS_PER_ACCRUAL);
    s = first.server;
    assert_eq!(s.billed_until, Some(at(60 * periods)));
    let second = lifecycle::plan_accrual(&s, at(now), &cfg).expect("still due");
    assert_eq!(second.usage.len(), 500);
    assert_eq!(second.server.billed_until, Some(at(60 * (periods + 500))));
    assert!(
        lifecycle::plan_accrual(&second.server, at(now), &cfg).is_none(),
        "the last 30 s wait for their period to end"
    );
}
