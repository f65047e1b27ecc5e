//! Use-case tests against mockall mocks of the ports: what the services write, in what
//! order, and what they do when a port fails.

use std::sync::{Arc, Mutex};

use chrono::TimeDelta;
use mockall::Sequence;
use mockall::predicate::eq;

use crate::action::{ActionCommand, ActionStatus};
use crate::catalog::Catalog;
use crate::error::{ActError, ListError, ProvisionError, StoreError};
use crate::event::{Actor, EventKind, RequestContext};
use crate::lifecycle::{LifecycleConfig, TransitionDelays};
use crate::page::{Cursor, MAX_OFFSET};
use crate::ports::{Applied, DueWork, EarliestDue, MockClock, MockStore, ProvisionStoreError};
use crate::server::{Server, TerminatedServers};
use crate::service::{Engine, ListRequest, ManualClock, ProvisionRequest, ServerService};
use crate::state::{Action, ServerState};
use crate::tenancy::Caller;
use crate::testing::{at, config, server, t0};

fn clock_at(second: i64) -> Arc<MockClock> {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(at(second));
    Arc::new(clock)
}

fn service(store: MockStore, cfg: LifecycleConfig) -> ServerService {
    ServerService::new(
        Arc::new(store),
        clock_at(0),
        Arc::new(Catalog::default()),
        cfg,
    )
}

fn request(region: &str, server_type: &str) -> ProvisionRequest {
    ProvisionRequest {
        region: region.to_owned(),
        server_type: server_type.to_owned(),
        name: None,
        labels: Default::default(),
    }
}

/// The caller of most tests: open mode's admin of the project `default`.
fn admin() -> Caller {
    Caller::open()
}

fn unavailable() -> StoreError {
    StoreError::Unavailable(anyhow::anyhow!("connection refused"))
}

#[tokio::test]
async fn provisioning_stores_a_provisioning_server_with_its_event_and_price() {
    let mut store = MockStore::new();
    store.expect_provision().times(1).returning(|new| {
        assert_eq!(new.server.state, ServerState::Provisioning);
        assert_eq!(new.server.region, "eu-west-1");
        assert_eq!(new.server.hourly_price.micros(), 23_000);
        assert_eq!(new.server.transition_due_at, Some(at(10)));
        assert_eq!(new.server.ip, None, "the store allocates the address");
        assert_eq!(new.event.kind, EventKind::Created);
        assert_eq!(new.event.request_id.as_deref(), Some("req-7"));
        let mut stored = new.server;
        stored.ip = Some("10.2.0.1".parse().expect("ip"));
        Ok(stored)
    });
    let view = service(store, config())
        .provision(
            &admin(),
            request("eu-west-1", "t2.small"),
            &RequestContext::api("req-7"),
        )
        .await
        .expect("provisioned");
    assert_eq!(view.server.state, ServerState::Provisioning);
    assert!(view.server.name.starts_with("t2.small-"));
    assert_eq!(view.server.ip, Some("10.2.0.1".parse().expect("ip")));
}

#[tokio::test]
async fn unknown_region_type_or_bad_name_never_reaches_the_store() {
    let svc = service(MockStore::new(), config());
    let ctx = RequestContext::api("r");
    let err = svc
        .provision(&admin(), request("mars-1", "t2.micro"), &ctx)
        .await
        .expect_err("bad region");
    assert!(matches!(err, ProvisionError::UnknownRegion { ref name, .. } if name == "mars-1"));
    assert!(
        err.to_string().contains("us-east-1"),
        "lists the known regions: {err}"
    );
    let err = svc
        .provision(&admin(), request("us-east-1", "t9.huge"), &ctx)
        .await
        .expect_err("bad type");
    assert!(matches!(err, ProvisionError::UnknownServerType { .. }));
    for bad in ["  \t ", "evil\u{202E}gnp.exe", "a\u{200B}b", "line\nbreak"] {
        let mut named = request("us-east-1", "t2.micro");
        named.name = Some(bad.to_owned());
        let err = svc
            .provision(&admin(), named, &ctx)
            .await
            .expect_err("bad name");
        assert!(matches!(err, ProvisionError::InvalidName(_)), "{bad:?}");
    }
}

#[tokio::test]
async fn an_exhausted_pool_and_a_failing_store_are_reported_as_such() {
    let mut store = MockStore::new();
    let mut seq = Sequence::new();
    store
        .expect_provision()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(ProvisionStoreError::PoolExhausted("us-east-1".to_owned())));
    store
        .expect_provision()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(ProvisionStoreError::Store(unavailable())));
    let svc = service(store, config());
    let ctx = RequestContext::api("r");
    let exhausted = svc
        .provision(&admin(), request("us-east-1", "t2.micro"), &ctx)
        .await;
    assert!(matches!(exhausted, Err(ProvisionError::PoolExhausted(r)) if r == "us-east-1"));
    let down = svc
        .provision(&admin(), request("us-east-1", "t2.micro"), &ctx)
        .await;
    assert!(matches!(
        down,
        Err(ProvisionError::Store(StoreError::Unavailable(_)))
    ));
}

#[tokio::test]
async fn with_zero_delay_provisioning_completes_before_answering() {
    let mut store = MockStore::new();
    let mut seq = Sequence::new();
    store
        .expect_provision()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|new| Ok(new.server));
    store
        .expect_apply()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|change| {
            assert_eq!(change.expected_generation, 0);
            assert_eq!(change.events[0].kind, EventKind::TransitionCompleted);
            Ok(Applied::Done(Box::new(change.server.clone())))
        });
    let cfg = LifecycleConfig {
        delays: TransitionDelays::ZERO,
        ..config()
    };
    let view = service(store, cfg)
        .provision(
            &admin(),
            request("us-east-1", "t2.micro"),
            &RequestContext::api("r"),
        )
        .await
        .expect("provisioned");
    assert_eq!(view.server.state, ServerState::Running);
    let action = view.action.expect("the provisioning's record");
    assert_eq!(action.command, ActionCommand::Provision);
    assert_eq!(
        action.status,
        ActionStatus::Success,
        "ended by the completion"
    );
    assert_eq!(action.finished_at, Some(at(0)));
}

#[tokio::test]
async fn an_action_applies_a_guarded_change_carrying_the_request_id() {
    let running = {
        let mut s = server(ServerState::Running);
        s.generation = 4;
        s
    };
    let id = running.id;
    let mut store = MockStore::new();
    store
        .expect_get()
        .with(eq(id))
        .returning(move |_| Ok(Some(running.clone())));
    store.expect_apply().times(1).returning(|change| {
        assert_eq!(change.expected_generation, 4);
        assert_eq!(change.server.state, ServerState::Stopping);
        assert_eq!(
            change
                .events
                .last()
                .and_then(|e| e.request_id.clone())
                .as_deref(),
            Some("req-9")
        );
        Ok(Applied::Done(Box::new(change.server.clone())))
    });
    let outcome = service(store, config())
        .act(
            &admin(),
            id,
            Action::Stop,
            None,
            &RequestContext::api("req-9"),
        )
        .await
        .expect("stopped");
    assert!(outcome.changed);
    assert_eq!(outcome.view.server.state, ServerState::Stopping);
    let action = outcome.view.action.expect("the stop's record");
    assert_eq!(action.command, ActionCommand::Lifecycle(Action::Stop));
    assert_eq!(action.status, ActionStatus::Running);
    assert_eq!(action.request_id.as_deref(), Some("req-9"));
}

#[tokio::test]
async fn a_stale_write_is_replanned_from_the_new_state() {
    let running = server(ServerState::Running);
    let id = running.id;
    let mut stopping = running.clone();
    stopping.state = ServerState::Stopping;
    stopping.generation = 1;
    let reads = Arc::new(Mutex::new(vec![
        stopping.clone(),
        running.clone(),
        stopping,
        running,
    ]));
    let mut store = MockStore::new();
    store
        .expect_get()
        .returning(move |_| Ok(reads.lock().expect("lock").pop()));
    store
        .expect_apply()
        .times(2)
        .returning(|_| Ok(Applied::Stale));
    let svc = service(store, config());
    let ctx = RequestContext::api("r");
    let stop = svc
        .act(&admin(), id, Action::Stop, None, &ctx)
        .await
        .expect("a repeated stop is a no-op");
    assert!(!stop.changed);
    let reboot = svc.act(&admin(), id, Action::Reboot, None, &ctx).await;
    assert!(
        matches!(reboot, Err(ActError::Conflict(ref c)) if c.state == ServerState::Stopping),
        "the loser of a race gets the conflict: {reboot:?}"
    );
}

#[tokio::test]
async fn an_action_on_a_missing_server_or_a_failing_store_changes_nothing() {
    let mut store = MockStore::new();
    let mut seq = Sequence::new();
    store
        .expect_get()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(None));
    store
        .expect_get()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(unavailable()));
    store.expect_apply().never();
    let svc = service(store, config());
    let id = server(ServerState::Running).id;
    let ctx = RequestContext::api("r");
    assert!(
        matches!(svc.act(&admin(), id, Action::Stop, None, &ctx).await, Err(ActError::NotFound(got)) if got == id)
    );
    assert!(matches!(
        svc.act(&admin(), id, Action::Stop, None, &ctx).await,
        Err(ActError::Store(StoreError::Unavailable(_)))
    ));
}

#[tokio::test]
async fn a_server_deleted_under_an_action_is_not_found_and_endless_races_are_contention() {
    let running = server(ServerState::Running);
    let id = running.id;
    let mut store = MockStore::new();
    store
        .expect_get()
        .returning(move |_| Ok(Some(running.clone())));
    let mut seq = Sequence::new();
    store
        .expect_apply()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(Applied::Missing));
    store
        .expect_apply()
        .times(5)
        .in_sequence(&mut seq)
        .returning(|_| Ok(Applied::Stale));
    let svc = service(store, config());
    let ctx = RequestContext::api("r");
    assert!(matches!(
        svc.act(&admin(), id, Action::Stop, None, &ctx).await,
        Err(ActError::NotFound(got)) if got == id
    ));
    assert!(matches!(
        svc.act(&admin(), id, Action::Stop, None, &ctx).await,
        Err(ActError::Contended { id: got, attempts: 5 }) if got == id
    ));
}

#[tokio::test]
async fn listing_validates_before_reading_and_returns_a_cursor_for_a_full_page() {
    let svc = service(MockStore::new(), config());
    for limit in [0, 101, -1] {
        let err = svc
            .list(
                &admin(),
                ListRequest {
                    limit: Some(limit),
                    ..ListRequest::default()
                },
            )
            .await
            .expect_err("bad limit");
        assert!(matches!(err, ListError::BadLimit { given, .. } if given == limit));
    }
    let bad_cursor = svc
        .list(
            &admin(),
            ListRequest {
                cursor: Some("nonsense".to_owned()),
                ..ListRequest::default()
            },
        )
        .await;
    assert!(matches!(bad_cursor, Err(ListError::BadCursor(_))));
    let too_deep = svc
        .list(
            &admin(),
            ListRequest {
                offset: Some(MAX_OFFSET + 1),
                ..ListRequest::default()
            },
        )
        .await;
    assert!(matches!(
        too_deep,
        Err(ListError::BadOffset { given, max: MAX_OFFSET }) if given == MAX_OFFSET + 1
    ));
    let unknown = svc
        .list(
            &admin(),
            ListRequest {
                region: Some("mars-1".to_owned()),
                ..ListRequest::default()
            },
        )
        .await;
    assert!(matches!(
        unknown,
        Err(ListError::UnknownFilter { kind: "region", .. })
    ));

    let servers: Vec<Server> = (0..3).map(|_| server(ServerState::Running)).collect();
    let third = servers[1].clone();
    let mut store = MockStore::new();
    store.expect_list().times(1).returning(move |filter, page| {
        assert_eq!(filter.state, Some(ServerState::Running));
        assert_eq!(
            page.limit, 3,
            "one more than asked, to know if another page exists"
        );
        Ok(servers.clone())
    });
    let page = service(store, config())
        .list(
            &admin(),
            ListRequest {
                state: Some(ServerState::Running),
                limit: Some(2),
                ..ListRequest::default()
            },
        )
        .await
        .expect("listed");
    assert_eq!(page.items.len(), 2);
    assert_eq!(
        page.next,
        Some(Cursor {
            created_at: third.created_at,
            id: third.id
        })
    );
}

#[tokio::test]
async fn the_engine_drains_full_batches_and_stops_on_a_short_one() {
    let mut store = MockStore::new();
    let mut seq = Sequence::new();
    for changed in [2, 2, 1] {
        store
            .expect_process_due()
            .withf(|work, limit, _| matches!(work, DueWork::Transitions { .. }) && *limit == 2)
            .times(1)
            .in_sequence(&mut seq)
            .returning(move |_, _, _| Ok(changed));
    }
    let engine = Engine::new(Arc::new(store), clock_at(0), config(), 2);
    assert_eq!(engine.complete_transitions().await.expect("drained"), 5);
}

#[tokio::test]
async fn the_engine_passes_the_planner_the_servers_it_claims() {
    let mut due = server(ServerState::Provisioning);
    due.transition_due_at = Some(at(10));
    let mut store = MockStore::new();
    store
        .expect_process_due()
        .times(1)
        .returning(move |_, _, plan| {
            let change = plan(&due).expect("due by now");
            assert_eq!(change.server.state, ServerState::Running);
            assert_eq!(change.events[0].actor, Actor::System);
            Ok(1)
        });
    let engine = Engine::new(Arc::new(store), clock_at(30), config(), 10);
    assert_eq!(engine.complete_transitions().await.expect("ran"), 1);
}

#[tokio::test]
async fn advancing_a_manual_clock_stops_at_each_due_instant() {
    let clock = Arc::new(ManualClock::new(t0()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut store = MockStore::new();
    let seen_by_store = seen.clone();
    store
        .expect_process_due()
        .returning(move |work, _, _| match work {
            DueWork::Transitions { due_by } => {
                let mut seen = seen_by_store.lock().expect("lock");
                let first_time_here = !seen.contains(&due_by);
                seen.push(due_by);
                Ok(u32::from(
                    first_time_here && (due_by == at(10) || due_by == at(25)),
                ))
            }
            _ => Ok(0),
        });
    let mut dues = vec![None, Some(at(25)), Some(at(10))];
    store.expect_earliest_due().returning(move || {
        Ok(EarliestDue {
            transition: dues.pop().flatten(),
            ..EarliestDue::default()
        })
    });
    let engine = Engine::new(Arc::new(store), clock.clone(), config(), 10);
    engine
        .advance(&clock, TimeDelta::seconds(60))
        .await
        .expect("advanced");
    assert_eq!(
        *seen.lock().expect("lock"),
        vec![at(0), at(10), at(10), at(25), at(25), at(60)],
        "each stop runs passes until one changes nothing"
    );
    assert_eq!(crate::ports::Clock::now(clock.as_ref()), at(60));
}

#[tokio::test]
async fn a_pass_reports_the_amount_its_changes_billed() {
    let mut running = server(ServerState::Running);
    crate::billing::open_run(&mut running, at(0));
    let mut store = MockStore::new();
    store
        .expect_process_due()
        .returning(move |work, _, plan| match work {
            DueWork::Accruals { .. } => Ok(u32::from(plan(&running).is_some())),
            _ => Ok(0),
        });
    let engine = Engine::new(Arc::new(store), clock_at(3_600), config(), 10);
    let report = engine.run_once().await.expect("ran");
    assert_eq!(report.accrued, 1);
    assert_eq!(report.billed.micros(), 11_600, "an hour of a t2.micro");
}

#[tokio::test]
async fn an_action_that_closes_a_run_reports_what_it_billed() {
    let mut running = server(ServerState::Running);
    crate::billing::open_run(&mut running, at(-7_200));
    let id = running.id;
    let mut store = MockStore::new();
    store
        .expect_get()
        .returning(move |_| Ok(Some(running.clone())));
    store
        .expect_apply()
        .returning(|change| Ok(Applied::Done(Box::new(change.server.clone()))));
    let outcome = service(store, config())
        .act(&admin(), id, Action::Stop, None, &RequestContext::api("r"))
        .await
        .expect("stopped");
    assert_eq!(
        outcome.billed.micros(),
        2 * 11_600,
        "two hours closed by the stop"
    );
}

#[tokio::test]
async fn lists_leave_out_servers_terminated_before_the_listing_period_unless_asked_by_state() {
    let hour = TimeDelta::hours(1);
    let cases = [
        (Some(hour), None, TerminatedServers::Since(at(0) - hour)),
        (
            Some(hour),
            Some(ServerState::Terminated),
            TerminatedServers::All,
        ),
        (
            Some(hour),
            Some(ServerState::Running),
            TerminatedServers::All,
        ),
        (None, None, TerminatedServers::All),
    ];
    for (period, state, expected) in cases {
        let mut store = MockStore::new();
        store
            .expect_list()
            .times(1)
            .withf(move |filter, _| filter.terminated == expected)
            .returning(|_, _| Ok(Vec::new()));
        let svc = service(store, config()).listing_terminated_for(period);
        let request = ListRequest {
            state,
            ..ListRequest::default()
        };
        svc.list(&admin(), request).await.expect("listed");
    }
}
