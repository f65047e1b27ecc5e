use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::TimeDelta;

use super::*;
use crate::event::{Actor, EventKind, RequestContext};
use crate::ids::{FaultRuleId, ProjectId};
use crate::ports::MockFaultStore;
use crate::service::ManualClock;
use crate::state::{Action, ServerState};
use crate::testing::{at, labels, server, t0};

/// A rule of `effect` that matches everything (shared with `chaos_tests.rs`).
pub(crate) fn draft(effect: EffectDraft) -> FaultRuleDraft {
    FaultRuleDraft {
        operations: vec![],
        regions: vec![],
        server_types: vec![],
        label_selector: None,
        probability: None,
        starts_at: None,
        ends_at: None,
        effect,
    }
}

fn throttle() -> EffectDraft {
    EffectDraft::Error {
        status: 429,
        problem_type: None,
        retry_after_seconds: Some(7),
    }
}

pub(crate) fn rule(spec: FaultRuleDraft) -> FaultRule {
    let (matcher, effect) = spec.check().expect("a valid rule");
    FaultRule {
        id: FaultRuleId::random(),
        project: None,
        matcher,
        effect,
        max_count: None,
        fired: 0,
        created_at: t0(),
        spec,
    }
}

fn field_of(spec: FaultRuleDraft) -> &'static str {
    spec.check().expect_err("an invalid rule").field
}

#[test]
fn each_bad_field_is_named() {
    let mut bad_op = draft(throttle());
    bad_op.operations = vec!["delete".into()];
    assert_eq!(field_of(bad_op), "operations");
    for p in [-0.1, 1.5, f64::NAN] {
        let mut bad = draft(throttle());
        bad.probability = Some(p);
        assert_eq!(field_of(bad), "probability", "{p}");
    }
    let mut bad_selector = draft(throttle());
    bad_selector.label_selector = Some("env in (".into());
    assert_eq!(field_of(bad_selector), "label_selector");
    let mut backwards = draft(throttle());
    backwards.starts_at = Some(at(10));
    backwards.ends_at = Some(at(10));
    assert_eq!(field_of(backwards), "ends_at");
    for status in [200, 404, 501, -1, 70_000] {
        let spec = draft(EffectDraft::Error {
            status,
            problem_type: None,
            retry_after_seconds: None,
        });
        assert_eq!(field_of(spec), "effect.status", "{status}");
    }
    let spec = draft(EffectDraft::Error {
        status: 503,
        problem_type: Some("Not A Slug".into()),
        retry_after_seconds: None,
    });
    assert_eq!(field_of(spec), "effect.problem_type");
    let spec = draft(EffectDraft::Error {
        status: 503,
        problem_type: None,
        retry_after_seconds: Some(-1),
    });
    assert_eq!(field_of(spec), "effect.retry_after_seconds");
    let negative = draft(EffectDraft::Latency(LatencyDraft::Fixed { ms: -5 }));
    assert_eq!(field_of(negative), "effect.ms");
    let too_long = draft(EffectDraft::Latency(LatencyDraft::Fixed {
        ms: i64::from(MAX_LATENCY_MS) + 1,
    }));
    assert_eq!(field_of(too_long), "effect.ms");
    let inverted = draft(EffectDraft::Latency(LatencyDraft::Uniform {
        min_ms: 10,
        max_ms: 5,
    }));
    assert_eq!(field_of(inverted), "effect.max_ms");
    assert_eq!(
        check_max_count(Some(0)).expect_err("zero").field,
        "max_count"
    );
    assert_eq!(check_max_count(Some(3)), Ok(Some(3)));
}

#[test]
fn defaults_are_every_operation_probability_one_and_the_status_usual_type() {
    let r = rule(draft(throttle()));
    assert_eq!(r.matcher.operations, None);
    assert_eq!(r.matcher.probability, 1.0);
    assert_eq!(
        r.effect,
        FaultEffect::Error(ErrorFault {
            status: ErrorStatus::TooManyRequests,
            problem_type: "throttled".into(),
            retry_after_seconds: Some(7),
        })
    );
    let mut star = draft(throttle());
    star.operations = vec!["get".into(), "*".into()];
    assert_eq!(rule(star).matcher.operations, None);
}

#[test]
fn a_rule_matches_operation_region_type_labels_and_window() {
    let mut spec = draft(throttle());
    spec.operations = vec!["get".into(), "action:stop".into()];
    spec.regions = vec!["us-east-1".into()];
    spec.server_types = vec!["t2.micro".into()];
    spec.label_selector = Some("env=prod".into());
    spec.starts_at = Some(at(100));
    spec.ends_at = Some(at(200));
    let r = rule(spec);
    let mut prod = server(ServerState::Running);
    prod.labels = labels(&[("env", "prod")]);
    let target = FaultTarget::Server(&prod);
    let m = &r.matcher;
    assert!(m.applies(Operation::Get, &target, at(100)));
    assert!(m.applies(Operation::Act(Action::Stop), &target, at(199)));
    assert!(
        !m.applies(Operation::Act(Action::Start), &target, at(150)),
        "operation"
    );
    assert!(
        !m.applies(Operation::Get, &target, at(99)),
        "before the window"
    );
    assert!(
        !m.applies(Operation::Get, &target, at(200)),
        "after the window"
    );
    let mut dev = prod.clone();
    dev.labels = labels(&[("env", "dev")]);
    assert!(
        !m.applies(Operation::Get, &FaultTarget::Server(&dev), at(150)),
        "labels"
    );
    let mut elsewhere = prod.clone();
    elsewhere.region = "eu-west-1".into();
    assert!(
        !m.applies(Operation::Get, &FaultTarget::Server(&elsewhere), at(150)),
        "region"
    );
    let mut bigger = prod.clone();
    bigger.server_type = "m5.large".into();
    assert!(
        !m.applies(Operation::Get, &FaultTarget::Server(&bigger), at(150)),
        "type"
    );
}

#[test]
fn a_rule_naming_servers_does_not_match_a_list() {
    let mut spec = draft(throttle());
    spec.regions = vec!["us-east-1".into()];
    let project = FaultTarget::Project(ProjectId::DEFAULT);
    assert!(!rule(spec).matcher.applies(Operation::List, &project, t0()));
    assert!(
        rule(draft(throttle()))
            .matcher
            .applies(Operation::List, &project, t0())
    );
}

#[test]
fn latencies_stay_within_their_bounds() {
    let fixed = Latency::Fixed { ms: 250 };
    assert_eq!(fixed.sample(0.9, 0.1), Duration::from_millis(250));
    let uniform = Latency::Uniform {
        min_ms: 100,
        max_ms: 300,
    };
    assert_eq!(uniform.sample(0.0, 0.0), Duration::from_millis(100));
    assert_eq!(uniform.sample(0.5, 0.0), Duration::from_millis(200));
    let normal = Latency::Normal {
        mean_ms: 100,
        stddev_ms: 1_000,
    };
    for first in [0.0, 0.3, 0.999_999_999] {
        for second in [0.0, 0.25, 0.5, 0.75] {
            let delay = normal.sample(first, second);
            assert!(
                delay <= Duration::from_millis(u64::from(MAX_LATENCY_MS)),
                "{delay:?}"
            );
        }
    }
    assert_eq!(
        normal.sample(0.999_999_999, 0.5),
        Duration::ZERO,
        "cut at zero"
    );
}

#[test]
fn a_stored_spec_round_trips_and_a_bad_one_is_a_bad_row() {
    let mut spec = draft(EffectDraft::Latency(LatencyDraft::Uniform {
        min_ms: 1,
        max_ms: 9,
    }));
    spec.label_selector = Some("tier in (a,b)".into());
    let r = rule(spec);
    let stored = StoredFault::from_rule(&r);
    assert_eq!(stored.clone().into_rule(), Ok(r));
    let bad = StoredFault {
        spec: r#"{"effect":{"kind":"error","status":200}}"#.into(),
        ..stored
    };
    assert_eq!(
        bad.into_rule().expect_err("a bad spec").column,
        "fault_rules.spec"
    );
}

struct Recorder(Mutex<Vec<FaultRecord>>);

impl FaultObserver for Recorder {
    fn injected(&self, record: &FaultRecord) {
        self.0.lock().expect("not poisoned").push(record.clone());
    }
}

struct NoPause(Mutex<Vec<Duration>>);

#[async_trait::async_trait]
impl Pause for NoPause {
    async fn pause(&self, delay: Duration) {
        self.0.lock().expect("not poisoned").push(delay);
    }
}

struct Harness {
    injector: FaultInjector,
    records: Arc<Recorder>,
    pauses: Arc<NoPause>,
    clock: Arc<ManualClock>,
}

fn harness(rules: Vec<FaultRule>, store: MockFaultStore, draw: f64) -> Harness {
    let book = Arc::new(FaultBook::default());
    book.replace(rules);
    let records = Arc::new(Recorder(Mutex::default()));
    let pauses = Arc::new(NoPause(Mutex::default()));
    let clock = Arc::new(ManualClock::new(t0()));
    let injector = FaultInjector::new(InjectorParts {
        book,
        store: Arc::new(store),
        clock: clock.clone(),
        draw: Arc::new(FixedDraw(draw)),
        pause: pauses.clone(),
        observer: records.clone(),
    });
    Harness {
        injector,
        records,
        pauses,
        clock,
    }
}

fn firing_store(times: usize, fires: bool) -> MockFaultStore {
    let mut store = MockFaultStore::new();
    store
        .expect_fire_fault()
        .times(times)
        .returning(move |_, _| Ok(fires));
    store
}

#[tokio::test]
async fn an_error_rule_refuses_and_records_an_event_by_chaos() {
    let r = rule(draft(throttle()));
    let id = r.id;
    let target = server(ServerState::Running);
    let mut store = MockFaultStore::new();
    let server_id = target.id;
    store
        .expect_fire_fault()
        .withf(move |rule, event| {
            *rule == id
                && event.as_ref().is_some_and(|e| {
                    e.server_id() == Some(server_id)
                        && e.actor == Actor::Chaos
                        && e.kind == EventKind::FaultInjected
                        && e.request_id.as_deref() == Some("req-1")
                })
        })
        .times(1)
        .returning(|_, _| Ok(true));
    let h = harness(vec![r], store, 0.5);
    let outcome = h
        .injector
        .admit(
            Operation::Get,
            FaultTarget::Server(&target),
            &RequestContext::api("req-1"),
        )
        .await;
    let Err(FaultError::Injected(fault)) = outcome else {
        panic!("expected an injected fault, got {outcome:?}");
    };
    assert_eq!(fault.status, ErrorStatus::TooManyRequests);
    assert_eq!(fault.retry_after_seconds, Some(7));
    let records = h.records.0.lock().expect("not poisoned");
    assert_eq!(records.len(), 1);
    assert_eq!(
        (records[0].kind, records[0].server),
        ("error", Some(server_id))
    );
}

#[tokio::test]
async fn a_latency_rule_pauses_then_lets_the_operation_run() {
    let r = rule(draft(EffectDraft::Latency(LatencyDraft::Fixed { ms: 40 })));
    let h = harness(vec![r], firing_store(1, true), 0.0);
    h.injector
        .admit(
            Operation::List,
            FaultTarget::Project(ProjectId::DEFAULT),
            &RequestContext::system(),
        )
        .await
        .expect("admitted");
    assert_eq!(
        *h.pauses.0.lock().expect("not poisoned"),
        vec![Duration::from_millis(40)]
    );
}

#[tokio::test]
async fn the_draw_decides_against_the_probability() {
    let mut spec = draft(throttle());
    spec.probability = Some(0.25);
    let target = server(ServerState::Running);
    let ctx = RequestContext::system();
    let above = harness(vec![rule(spec.clone())], firing_store(0, true), 0.25);
    let missed = above
        .injector
        .admit(Operation::Get, FaultTarget::Server(&target), &ctx)
        .await;
    assert!(missed.is_ok(), "{missed:?}");
    let below = harness(vec![rule(spec)], firing_store(1, true), 0.249);
    let hit = below
        .injector
        .admit(Operation::Get, FaultTarget::Server(&target), &ctx)
        .await;
    assert!(matches!(hit, Err(FaultError::Injected(_))), "{hit:?}");
    let mut never = draft(throttle());
    never.probability = Some(0.0);
    let zero = harness(vec![rule(never)], firing_store(0, true), 0.0);
    let ran = zero
        .injector
        .admit(Operation::Get, FaultTarget::Server(&target), &ctx)
        .await;
    assert!(ran.is_ok(), "{ran:?}");
}

#[tokio::test]
async fn a_rule_the_store_says_is_spent_does_not_fire() {
    let h = harness(vec![rule(draft(throttle()))], firing_store(1, false), 0.0);
    let target = server(ServerState::Running);
    let outcome = h
        .injector
        .admit(
            Operation::Get,
            FaultTarget::Server(&target),
            &RequestContext::system(),
        )
        .await;
    assert!(outcome.is_ok(), "{outcome:?}");
    assert!(h.records.0.lock().expect("not poisoned").is_empty());
}

#[tokio::test]
async fn rules_of_another_project_and_outside_their_window_are_skipped() {
    let mut other = rule(draft(throttle()));
    other.project = Some(ProjectId::random());
    let mut later = draft(throttle());
    later.starts_at = Some(at(60));
    let h = harness(vec![other, rule(later)], firing_store(1, true), 0.0);
    let target = server(ServerState::Running);
    let ctx = RequestContext::system();
    let early = h
        .injector
        .admit(Operation::Get, FaultTarget::Server(&target), &ctx)
        .await;
    assert!(early.is_ok(), "{early:?}");
    h.clock.advance(TimeDelta::seconds(60));
    let due = h
        .injector
        .admit(Operation::Get, FaultTarget::Server(&target), &ctx)
        .await;
    assert!(matches!(due, Err(FaultError::Injected(_))), "{due:?}");
}

#[test]
fn an_empty_book_is_empty_until_rules_arrive() {
    let book = FaultBook::default();
    assert!(book.is_empty());
    book.replace(vec![rule(draft(throttle()))]);
    assert!(!book.is_empty());
    book.replace(vec![]);
    assert!(book.is_empty());
}
