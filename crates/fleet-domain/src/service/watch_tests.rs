//! Watching against mockall mocks of the ports: what each use case asks the event log and
//! the stores, whom it lets see what, and what it refuses before asking anything.

use std::sync::Arc;
use std::time::Duration;

use mockall::Sequence;

use crate::action::{ActionCommand, ActionRecord, ActionStatus};
use crate::error::{ActionError, EventsError, StoreError, WaitError};
use crate::event::{Event, EventHorizon, EventKind, EventReadError, EventType, Interest};
use crate::ids::{ActionId, ProjectId, ServerId};
use crate::page::{Cursor, MAX_PAGE_SIZE};
use crate::ports::{MockActionStore, MockClock, MockEventLog, MockStore};
use crate::selector::Selector;
use crate::server::Server;
use crate::service::{EventsRequest, WatchService};
use crate::state::{Action, ServerState};
use crate::tenancy::{Caller, Role};
use crate::testing::{at, event, server};

/// The ports of a service under test; a mock with no expectation panics when called.
#[derive(Default)]
struct Ports {
    store: MockStore,
    events: MockEventLog,
    actions: MockActionStore,
}

impl Ports {
    fn service(self) -> WatchService {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(at(0));
        WatchService::new(
            Arc::new(self.store),
            Arc::new(self.events),
            Arc::new(self.actions),
            Arc::new(clock),
        )
    }

    /// The sequence goes to `latest` and nothing was pruned.
    fn horizon_at(&mut self, latest: i64) -> &mut Self {
        self.events.expect_horizon().returning(move || {
            Ok(EventHorizon {
                latest,
                pruned_through: 0,
            })
        });
        self
    }

    /// The store has `server`.
    fn with_server(&mut self, server: Server) -> &mut Self {
        self.store
            .expect_get()
            .returning(move |_| Ok(Some(server.clone())));
        self
    }
}

fn member_of(project: ProjectId) -> Caller {
    Caller {
        project,
        role: Role::Member,
        key: None,
    }
}

fn after(cursor: &str) -> EventsRequest {
    EventsRequest {
        after: Some(cursor.to_owned()),
        ..EventsRequest::default()
    }
}

#[tokio::test]
async fn a_member_reads_its_own_projects_events_and_an_admin_everyones() {
    let project = ProjectId::random();
    let mut ports = Ports::default();
    ports.horizon_at(0);
    let mut seq = Sequence::new();
    for scope in [Some(project), None] {
        ports
            .events
            .expect_events_after()
            .times(1)
            .in_sequence(&mut seq)
            .withf(move |query| query.project == scope && query.after == 7)
            .returning(|_| Ok(Vec::new()));
    }
    let svc = ports.service();
    svc.events(&member_of(project), after("7"), None)
        .await
        .expect("read");
    svc.events(&Caller::open(), after("7"), None)
        .await
        .expect("read");
}

#[tokio::test]
async fn filters_and_limit_reach_the_log_as_typed_values() {
    let id = ServerId::random();
    let mut ports = Ports::default();
    ports.horizon_at(0);
    ports
        .events
        .expect_events_after()
        .times(1)
        .returning(move |query| {
            assert_eq!(query.server, Some(id));
            assert_eq!(
                query.types,
                [EventType::ServerStateChanged, EventType::ServerReaped]
            );
            assert_eq!(
                query.selector,
                Some(Selector::parse("env=prod,tier notin (db)").expect("a selector"))
            );
            assert_eq!(query.limit, 5);
            assert_eq!(query.after, 0, "from the start without a cursor");
            Ok(Vec::new())
        });
    let request = EventsRequest {
        after: None,
        server: Some(id),
        types: vec!["server.state_changed".into(), "server.reaped".into()],
        label_selector: Some("env=prod,tier notin (db)".into()),
        last_event_id: None,
    };
    ports
        .service()
        .events(&Caller::open(), request, Some(5))
        .await
        .expect("read");
}

#[tokio::test]
async fn bad_cursors_types_and_limits_are_refused_before_the_log_is_read() {
    let svc = Ports::default().service();
    let caller = Caller::open();
    for bad in ["-1", "abc", "1.5", ""] {
        let err = svc
            .events(&caller, after(bad), None)
            .await
            .expect_err("bad cursor");
        assert!(matches!(err, EventsError::BadCursor { .. }), "{bad}: {err}");
    }
    let typed = EventsRequest {
        types: vec!["server.exploded".into()],
        ..EventsRequest::default()
    };
    let err = svc
        .events(&caller, typed, None)
        .await
        .expect_err("bad type");
    assert!(
        err.to_string().contains("server.exploded") && err.to_string().contains("server.billed"),
        "names the type and the known ones: {err}"
    );
    for limit in [0, 101, -3] {
        let err = svc
            .events(&caller, EventsRequest::default(), Some(limit))
            .await
            .expect_err("bad limit");
        assert!(matches!(err, EventsError::BadLimit { given, .. } if given == limit));
    }
    let follow = svc.follow(&caller, after("x")).await;
    assert!(matches!(follow, Err(EventsError::BadCursor { .. })));
    for bad in ["env in ()", "env=prod,", "-env"] {
        let selecting = || EventsRequest {
            label_selector: Some(bad.to_owned()),
            ..EventsRequest::default()
        };
        let read = svc.events(&caller, selecting(), None).await;
        assert!(
            matches!(read, Err(EventsError::BadSelector(_))),
            "{bad}: {read:?}"
        );
        let follow = svc.follow(&caller, selecting()).await;
        assert!(
            matches!(follow, Err(EventsError::BadSelector(_))),
            "{bad}: follow"
        );
    }
}

#[tokio::test]
async fn last_event_id_takes_the_place_of_after_which_must_still_be_a_cursor() {
    let mut ports = Ports::default();
    ports.horizon_at(50);
    ports
        .events
        .expect_events_after()
        .times(1)
        .withf(|query| query.after == 9)
        .returning(|_| Ok(Vec::new()));
    let svc = ports.service();
    let resuming = |after: &str| EventsRequest {
        after: Some(after.to_owned()),
        last_event_id: Some("9".to_owned()),
        ..EventsRequest::default()
    };
    let follower = svc
        .follow(&Caller::open(), resuming("3"))
        .await
        .expect("following");
    assert_eq!(follower.origin(), 9, "from the Last-Event-ID, not `after`");
    let refused = svc
        .follow(&Caller::open(), resuming("9223372036854775808"))
        .await;
    assert!(matches!(refused, Err(EventsError::BadCursor { .. })));
}

#[tokio::test]
async fn an_empty_selector_reaches_the_log_as_no_selector() {
    let mut ports = Ports::default();
    ports.horizon_at(0);
    ports
        .events
        .expect_events_after()
        .times(1)
        .withf(|query| query.selector.is_none())
        .returning(|_| Ok(Vec::new()));
    let request = EventsRequest {
        label_selector: Some("  ".to_owned()),
        ..EventsRequest::default()
    };
    ports
        .service()
        .events(&Caller::open(), request, None)
        .await
        .expect("read");
}

#[tokio::test]
async fn next_after_is_the_last_event_of_a_full_page_and_the_horizon_of_a_short_one() {
    let s = server(ServerState::Running);
    let (a, b) = (
        event(3, &s, EventKind::Billed),
        event(9, &s, EventKind::Billed),
    );
    let mut ports = Ports::default();
    ports.horizon_at(40);
    let pages = [vec![a.clone(), b.clone()], vec![a], Vec::new()];
    let mut seq = Sequence::new();
    for page in pages {
        ports
            .events
            .expect_events_after()
            .times(1)
            .in_sequence(&mut seq)
            .return_once(move |_| Ok(page));
    }
    let svc = ports.service();
    let full = svc
        .events(&Caller::open(), after("2"), Some(2))
        .await
        .expect("read");
    assert_eq!(full.events.len(), 2);
    assert_eq!(full.next_after, 9, "more may match after the last one");
    assert_eq!(full.latest, 40, "the page says where the sequence is");
    let short = svc
        .events(&Caller::open(), after("2"), Some(2))
        .await
        .expect("read");
    assert_eq!(
        short.next_after, 40,
        "nothing else matched up to the horizon"
    );
    let empty = svc
        .events(&Caller::open(), after("55"), Some(2))
        .await
        .expect("read");
    assert_eq!(empty.next_after, 55, "never backwards");
    assert_eq!(empty.latest, 40);
}

#[tokio::test]
async fn a_pruned_cursor_is_expired_and_a_failing_log_a_store_error() {
    let mut ports = Ports::default();
    ports.horizon_at(500);
    let mut seq = Sequence::new();
    ports
        .events
        .expect_events_after()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|query| {
            Err(EventReadError::Expired {
                after: query.after,
                pruned_through: 100,
            })
        });
    ports
        .events
        .expect_events_after()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| {
            Err(EventReadError::Store(StoreError::Unavailable(
                anyhow::anyhow!("down"),
            )))
        });
    let svc = ports.service();
    let expired = svc.follow(&Caller::open(), after("10")).await;
    assert!(matches!(
        expired,
        Err(EventsError::Expired {
            after: 10,
            pruned_through: 100
        })
    ));
    let down = svc.events(&Caller::open(), after("10"), None).await;
    assert!(matches!(down, Err(EventsError::Store(_))));
}

#[tokio::test]
async fn a_follower_returns_the_first_batch_then_waits_for_more_from_past_the_horizon() {
    let s = server(ServerState::Running);
    let first = event(4, &s, EventKind::Billed);
    let later = event(12, &s, EventKind::Billed);
    let mut ports = Ports::default();
    ports.horizon_at(10);
    let mut seq = Sequence::new();
    let reads: [(i64, Vec<Event>); 3] = [
        (2, vec![first.clone()]),
        (10, Vec::new()),
        (10, vec![later.clone()]),
    ];
    for (expected_after, page) in reads {
        ports
            .events
            .expect_events_after()
            .times(1)
            .in_sequence(&mut seq)
            .withf(move |query| query.after == expected_after)
            .return_once(move |_| Ok(page));
    }
    ports
        .events
        .expect_wait_beyond_for()
        .times(1)
        .withf(|seen, interest, _| *seen == 10 && *interest == Interest::All)
        .returning(|_, _, _| Ok(12));
    let mut follower = ports
        .service()
        .follow(&Caller::open(), after("2"))
        .await
        .expect("following");
    let patience = Duration::from_millis(1);
    assert_eq!(follower.next(patience).await.expect("first"), [first]);
    assert_eq!(follower.cursor(), 10, "past the horizon of a short batch");
    assert_eq!(follower.next(patience).await.expect("later"), [later]);
    assert_eq!(follower.cursor(), 12);
}

#[tokio::test]
async fn a_follower_that_read_a_full_page_is_behind_until_a_short_one() {
    let s = server(ServerState::Running);
    let full: Vec<Event> = (1..=i64::from(MAX_PAGE_SIZE))
        .map(|seq| event(seq, &s, EventKind::Billed))
        .collect();
    let mut ports = Ports::default();
    ports.horizon_at(500);
    let mut seq = Sequence::new();
    for page in [full.clone(), vec![event(101, &s, EventKind::Billed)]] {
        ports
            .events
            .expect_events_after()
            .times(1)
            .in_sequence(&mut seq)
            .return_once(move |_| Ok(page));
    }
    let mut follower = ports
        .service()
        .follow(&Caller::open(), after("0"))
        .await
        .expect("following");
    let patience = Duration::from_millis(1);
    assert_eq!(follower.next(patience).await.expect("full"), full);
    assert!(!follower.caught_up(), "a full page: more is waiting");
    assert_eq!(follower.next(patience).await.expect("short").len(), 1);
    assert!(follower.caught_up());
    assert_eq!(follower.cursor(), 500);
}

#[tokio::test]
async fn a_wait_for_a_state_the_server_is_in_returns_at_once() {
    let running = server(ServerState::Running);
    let mut ports = Ports::default();
    ports.horizon_at(3).with_server(running.clone());
    let mut waiter = ports
        .service()
        .wait(
            &Caller::open(),
            running.id,
            vec![ServerState::Stopped, ServerState::Running],
        )
        .await
        .expect("waiting");
    let view = waiter.reached().await.expect("reached");
    assert_eq!(view.server, running);
}

#[tokio::test]
async fn a_wait_for_a_state_the_server_can_never_reach_is_refused_at_once() {
    let terminated = server(ServerState::Terminated);
    let id = terminated.id;
    let mut ports = Ports::default();
    ports.horizon_at(3).with_server(terminated);
    let mut waiter = ports
        .service()
        .wait(&Caller::open(), id, vec![ServerState::Running])
        .await
        .expect("waiting");
    let err = waiter.reached().await.expect_err("unreachable");
    assert!(matches!(
        err,
        WaitError::Unreachable {
            state: ServerState::Terminated,
            ..
        }
    ));
    assert!(err.to_string().contains("terminated"), "{err}");
}

#[tokio::test]
async fn a_wait_reads_the_server_again_only_for_an_event_about_it() {
    let starting = server(ServerState::Starting);
    let id = starting.id;
    let mut running = starting.clone();
    running.state = ServerState::Running;
    let mut ports = Ports::default();
    ports.horizon_at(3);
    let mut reads = Sequence::new();
    ports
        .store
        .expect_get()
        .times(1)
        .in_sequence(&mut reads)
        .return_once(move |_| Ok(Some(starting)));
    ports
        .store
        .expect_get()
        .times(1)
        .in_sequence(&mut reads)
        .return_once(move |_| Ok(Some(running)));
    let mut waits = Sequence::new();
    for (seen, latest) in [(3, 3), (3, 5), (5, 8)] {
        ports
            .events
            .expect_wait_beyond_for()
            .times(1)
            .in_sequence(&mut waits)
            .withf(move |asked, interest, _| *asked == seen && *interest == Interest::Server(id))
            .returning(move |_, _, _| Ok(latest));
    }
    let other = server(ServerState::Running);
    let mut pages = Sequence::new();
    for (cursor, page) in [
        (3, Vec::new()),
        (5, vec![event(7, &other, EventKind::Billed)]),
    ] {
        ports
            .events
            .expect_events_after()
            .times(1)
            .in_sequence(&mut pages)
            .withf(move |query| {
                query.after == cursor && query.server == Some(id) && query.limit == 1
            })
            .return_once(move |_| Ok(page));
    }
    let mut waiter = ports
        .service()
        .wait(&Caller::open(), id, vec![ServerState::Running])
        .await
        .expect("waiting");
    assert_eq!(waiter.state(), ServerState::Starting);
    let view = waiter.reached().await.expect("reached");
    assert_eq!(view.server.state, ServerState::Running);
    assert_eq!(waiter.state(), ServerState::Running);
}

#[tokio::test]
async fn a_wait_on_another_projects_server_or_for_nothing_is_refused() {
    let theirs = server(ServerState::Starting);
    let id = theirs.id;
    let mut ports = Ports::default();
    ports.horizon_at(0).with_server(theirs);
    let svc = ports.service();
    let err = svc
        .wait(
            &member_of(ProjectId::random()),
            id,
            vec![ServerState::Running],
        )
        .await
        .err();
    assert!(matches!(err, Some(WaitError::NotFound(n)) if n == id));
    let err = svc.wait(&Caller::open(), id, Vec::new()).await.err();
    assert!(matches!(err, Some(WaitError::NoStates)));
}

fn record(server: &Server, second: i64) -> ActionRecord {
    ActionRecord {
        id: ActionId::random(),
        project: server.project,
        server_id: server.id,
        command: ActionCommand::Lifecycle(Action::Stop),
        status: ActionStatus::Running,
        started_at: at(second),
        finished_at: None,
        error: None,
        request_id: None,
    }
}

#[tokio::test]
async fn an_action_of_another_project_is_not_found() {
    let s = server(ServerState::Stopping);
    let action = record(&s, 1);
    let id = action.id;
    let mut ports = Ports::default();
    ports
        .actions
        .expect_action()
        .returning(move |_| Ok(Some(action.clone())));
    let svc = ports.service();
    assert_eq!(svc.action(&Caller::open(), id).await.expect("seen").id, id);
    let err = svc
        .action(&member_of(ProjectId::random()), id)
        .await
        .expect_err("hidden");
    assert!(matches!(err, ActionError::NotFound(n) if n == id));
}

#[tokio::test]
async fn a_servers_actions_are_paged_newest_first_with_a_cursor() {
    let s = server(ServerState::Running);
    let id = s.id;
    let records = vec![record(&s, 30), record(&s, 20), record(&s, 10)];
    let second = records[1].clone();
    let mut ports = Ports::default();
    ports.with_server(s);
    ports
        .actions
        .expect_server_actions()
        .times(1)
        .returning(move |_, page| {
            assert_eq!(page.limit, 3, "one more than asked, to know of a next page");
            Ok(records.clone())
        });
    let page = ports
        .service()
        .server_actions(&Caller::open(), id, Some(2), None)
        .await
        .expect("listed");
    assert_eq!(page.items.len(), 2);
    assert_eq!(
        page.next,
        Some(Cursor {
            created_at: at(20),
            id: ServerId::from(second.id.as_uuid()),
        })
    );
}

#[tokio::test]
async fn a_hidden_server_or_a_bad_page_lists_no_actions() {
    let theirs = server(ServerState::Running);
    let id = theirs.id;
    let mut ports = Ports::default();
    ports.with_server(theirs);
    let svc = ports.service();
    let hidden = svc
        .server_actions(&member_of(ProjectId::random()), id, None, None)
        .await;
    assert!(matches!(hidden, Err(ActionError::ServerNotFound(n)) if n == id));
    let limit = svc.server_actions(&Caller::open(), id, Some(0), None).await;
    assert!(matches!(limit, Err(ActionError::BadLimit { given: 0, .. })));
    let cursor = svc
        .server_actions(&Caller::open(), id, None, Some("nope"))
        .await;
    assert!(matches!(cursor, Err(ActionError::BadCursor(_))));
}

#[tokio::test]
async fn a_follower_without_a_cursor_starts_from_now_and_a_page_from_the_start() {
    let mut ports = Ports::default();
    ports.horizon_at(30);
    let mut seq = Sequence::new();
    for start in [30, 0] {
        ports
            .events
            .expect_events_after()
            .times(1)
            .in_sequence(&mut seq)
            .withf(move |query| query.after == start)
            .returning(|_| Ok(Vec::new()));
    }
    let svc = ports.service();
    let follower = svc
        .follow(&Caller::open(), EventsRequest::default())
        .await
        .expect("following");
    assert_eq!(follower.cursor(), 30);
    svc.events(&Caller::open(), EventsRequest::default(), None)
        .await
        .expect("read");
}

#[tokio::test]
async fn a_page_without_a_cursor_starts_from_the_oldest_kept_event_after_pruning() {
    let mut ports = Ports::default();
    ports.events.expect_horizon().returning(|| {
        Ok(EventHorizon {
            latest: 90,
            pruned_through: 40,
        })
    });
    ports
        .events
        .expect_events_after()
        .times(1)
        .withf(|query| query.after == 40)
        .returning(|_| Ok(Vec::new()));
    let page = ports
        .service()
        .events(&Caller::open(), EventsRequest::default(), None)
        .await
        .expect("not expired: it starts where the kept events do");
    assert_eq!(page.next_after, 90);
}

#[tokio::test]
async fn a_follower_remembers_the_cursor_it_started_from() {
    let mut ports = Ports::default();
    ports.horizon_at(30);
    ports
        .events
        .expect_events_after()
        .returning(|_| Ok(Vec::new()));
    let follower = ports
        .service()
        .follow(&Caller::open(), after("12"))
        .await
        .expect("following");
    assert_eq!(follower.origin(), 12);
    assert_eq!(follower.cursor(), 30, "moved past the empty stretch");
}
