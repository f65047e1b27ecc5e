//! The use cases under fault rules: a rule's error is answered before anything is written,
//! and a bad request is refused as such first.

use std::sync::Arc;

use crate::catalog::Catalog;
use crate::error::{ActError, ProvisionError};
use crate::event::RequestContext;
use crate::faults::{
    EffectDraft, FaultBook, FaultInjector, FaultRule, FaultRuleDraft, FixedDraw, InjectorParts,
    MockFaultObserver, MockPause,
};
use crate::ids::FaultRuleId;
use crate::ports::{MockFaultStore, MockStore};
use crate::service::{ManualClock, ProvisionRequest, ServerService};
use crate::state::{Action, ServerState};
use crate::tenancy::Caller;
use crate::testing::{config, server, t0};

fn unavailable_rule(operations: &[&str]) -> FaultRule {
    let spec = FaultRuleDraft {
        operations: operations.iter().map(|op| (*op).to_owned()).collect(),
        regions: vec![],
        server_types: vec![],
        label_selector: Some("env=prod".to_owned()),
        probability: None,
        starts_at: None,
        ends_at: None,
        effect: EffectDraft::Error {
            status: 503,
            problem_type: None,
            retry_after_seconds: Some(2),
        },
    };
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

fn service(store: MockStore, rule: FaultRule, firings: usize) -> ServerService {
    let book = Arc::new(FaultBook::default());
    book.replace(vec![rule]);
    let mut faults = MockFaultStore::new();
    faults
        .expect_fire_fault()
        .times(firings)
        .returning(|_, _| Ok(true));
    let mut observer = MockFaultObserver::new();
    observer.expect_injected().times(firings).return_const(());
    let mut pause = MockPause::new();
    pause.expect_pause().never();
    let clock = Arc::new(ManualClock::new(t0()));
    ServerService::new(
        Arc::new(store),
        clock.clone(),
        Arc::new(Catalog::default()),
        config(),
    )
    .with_faults(FaultInjector::new(InjectorParts {
        book,
        store: Arc::new(faults),
        clock,
        draw: Arc::new(FixedDraw(0.0)),
        pause: Arc::new(pause),
        observer: Arc::new(observer),
    }))
}

fn provision(labels: &[(&str, &str)]) -> ProvisionRequest {
    ProvisionRequest {
        region: "us-east-1".to_owned(),
        server_type: "t2.micro".to_owned(),
        name: None,
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

#[tokio::test]
async fn an_injected_error_refuses_provisioning_before_anything_is_stored() {
    let mut store = MockStore::new();
    store.expect_provision().never();
    let refused = service(store, unavailable_rule(&["provision"]), 1)
        .provision(
            &Caller::open(),
            provision(&[("env", "prod")]),
            &RequestContext::api("r"),
        )
        .await;
    let Err(ProvisionError::Injected(fault)) = refused else {
        panic!("expected an injected fault, got {refused:?}");
    };
    assert_eq!(fault.status.code(), 503);
    assert_eq!(fault.retry_after_seconds, Some(2));
}

#[tokio::test]
async fn a_bad_request_is_refused_as_such_and_a_non_matching_one_runs() {
    let mut store = MockStore::new();
    store.expect_provision().never();
    let refused = service(store, unavailable_rule(&["*"]), 0)
        .provision(
            &Caller::open(),
            ProvisionRequest {
                region: "mars-1".to_owned(),
                ..provision(&[("env", "prod")])
            },
            &RequestContext::api("r"),
        )
        .await;
    assert!(
        matches!(refused, Err(ProvisionError::UnknownRegion { .. })),
        "{refused:?}"
    );
    let mut store = MockStore::new();
    store
        .expect_provision()
        .times(1)
        .returning(|new| Ok(new.server));
    let created = service(store, unavailable_rule(&["provision"]), 0)
        .provision(
            &Caller::open(),
            provision(&[("env", "dev")]),
            &RequestContext::api("r"),
        )
        .await;
    assert!(created.is_ok(), "the selector does not match: {created:?}");
}

#[tokio::test]
async fn an_injected_error_refuses_an_action_before_it_is_planned() {
    let mut prod = server(ServerState::Running);
    prod.labels = crate::testing::labels(&[("env", "prod")]);
    let id = prod.id;
    let mut store = MockStore::new();
    store
        .expect_get()
        .returning(move |_| Ok(Some(prod.clone())));
    store.expect_apply().never();
    let refused = service(store, unavailable_rule(&["action:stop"]), 1)
        .act(
            &Caller::open(),
            id,
            Action::Stop,
            None,
            &RequestContext::api("r"),
        )
        .await;
    assert!(matches!(refused, Err(ActError::Injected(_))), "{refused:?}");
}

#[tokio::test]
async fn no_rule_is_made_past_the_most_there_may_be() {
    use crate::error::FaultRuleError;
    use crate::service::{FaultService, MAX_FAULT_RULES, NewFaultRule};

    let book = Arc::new(FaultBook::default());
    book.replace(vec![unavailable_rule(&["get"]); MAX_FAULT_RULES]);
    let mut store = MockFaultStore::new();
    store.expect_create_fault().never();
    let rules = FaultService::new(
        Arc::new(store),
        Arc::new(ManualClock::new(t0())),
        Arc::new(Catalog::default()),
        book,
    );
    let refused = rules
        .create(
            &Caller::open(),
            NewFaultRule {
                project: None,
                max_count: None,
                spec: unavailable_rule(&["get"]).spec,
            },
        )
        .await;
    assert!(
        matches!(refused, Err(FaultRuleError::TooMany { max }) if max == MAX_FAULT_RULES),
        "{refused:?}"
    );
}
