//! Budgets: kept as made, listed by project, and a crossing announced once however many
//! checks see it.

use std::sync::Arc;

use fleet_domain::budgets::{Budget, BudgetBasis, BudgetCrossing, Crossed};
use fleet_domain::event::{Actor, EventKind, EventQuery, EventSubject, EventType, NewEvent};
use fleet_domain::ids::BudgetId;
use fleet_domain::{Money, ProjectId, Selector};

use crate::TestedStore;
use crate::fixtures::at;
use crate::sequence::sequenced;

fn budget(name: &str, selector: Option<&str>, basis: BudgetBasis, created: i64) -> Budget {
    Budget {
        id: BudgetId::random(),
        project: ProjectId::DEFAULT,
        name: name.into(),
        amount: Money::from_micros(100_000_000),
        selector_text: selector.map(str::to_owned),
        selector: selector.map(|text| Selector::parse(text).expect("a selector")),
        basis,
        crossed: Crossed::default(),
        created_at: at(created),
    }
}

fn crossing(budget: &Budget, threshold: u8) -> NewEvent {
    NewEvent {
        subject: EventSubject::Budget(BudgetCrossing {
            budget: budget.id,
            threshold,
            amount: budget.amount,
            spent: Money::from_micros(81_250_000),
            basis: budget.basis,
        }),
        at: at(500),
        kind: EventKind::BudgetThresholdCrossed,
        from_state: None,
        to_state: None,
        actor: Actor::System,
        request_id: None,
        trace: None,
        key: None,
        message: format!("crossed {threshold} %"),
        reason: None,
    }
}

/// A budget reads back as made, and none is made past the project's limit; the project's
/// are listed oldest first; moving the mark
/// appends the crossing's events (about no server, in the budget's project) only from the
/// mark it was read at; deleting it leaves its events.
pub async fn budgets_are_kept_and_announce_each_crossing_once(store: Arc<dyn TestedStore>) {
    let team = budget("team a", Some("team=a,env!=dev"), BudgetBasis::Forecast, 10);
    let all = budget("everything", None, BudgetBasis::Actual, 0);
    assert!(store.create_budget(&team, 2).await.expect("create"));
    assert!(store.create_budget(&all, 2).await.expect("create"));
    let third = budget("one too many", None, BudgetBasis::Actual, 20);
    assert!(
        !store.create_budget(&third, 2).await.expect("create"),
        "a project at its limit gets no more"
    );
    assert_eq!(store.budget(third.id).await.expect("read"), None);
    assert_eq!(
        store.budget(team.id).await.expect("read"),
        Some(team.clone())
    );
    let listed = store.budgets(Some(ProjectId::DEFAULT)).await.expect("list");
    assert_eq!(listed, vec![all.clone(), team.clone()]);
    assert_eq!(store.budgets(None).await.expect("list all"), listed);
    assert!(
        store
            .budgets(Some(ProjectId::random()))
            .await
            .expect("list")
            .is_empty()
    );

    let start = store.horizon().await.expect("horizon").latest;
    let month = Crossed {
        month: 672,
        percent: 80,
    };
    let announced = vec![crossing(&team, 50), crossing(&team, 80)];
    assert!(
        store
            .record_crossing(team.id, Crossed::default(), month, &announced)
            .await
            .expect("a crossing")
    );
    let stale = store
        .record_crossing(
            team.id,
            Crossed::default(),
            Crossed {
                month: 672,
                percent: 50,
            },
            &announced[..1],
        )
        .await
        .expect("a stale crossing");
    assert!(!stale, "a mark moved since it was read is not moved again");
    let stored = store.budget(team.id).await.expect("read").expect("kept");
    assert_eq!(stored.crossed, month);

    let read = |after| EventQuery {
        project: Some(ProjectId::DEFAULT),
        after,
        server: None,
        types: vec![EventType::BudgetThresholdCrossed],
        selector: None,
        limit: 10,
    };
    let events = sequenced(&store, start, 2).await;
    assert_eq!(
        events,
        store.events_after(&read(start)).await.expect("events")
    );
    assert_eq!(events.len(), 2, "{events:?}");
    for (event, expected) in events.iter().zip(&announced) {
        assert_eq!(&event.event, expected);
        assert_eq!(event.project, ProjectId::DEFAULT);
        assert!(event.labels.is_empty());
        assert_eq!(event.event.server_id(), None);
    }

    assert!(store.delete_budget(team.id).await.expect("delete"));
    assert!(!store.delete_budget(team.id).await.expect("delete again"));
    assert_eq!(store.budget(team.id).await.expect("read"), None);
    assert_eq!(
        store.budgets(Some(ProjectId::DEFAULT)).await.expect("list"),
        vec![all.clone()]
    );
    assert!(
        store.create_budget(&third, 2).await.expect("create"),
        "below the limit again"
    );
    let kept = store.events_after(&read(start)).await.expect("events");
    assert_eq!(kept.len(), 2, "the events outlive their budget");
}

/// Eight creates at once of a project with room for three: three are stored, whichever
/// they are.
pub async fn concurrent_budget_creates_stop_at_the_limit(store: Arc<dyn TestedStore>) {
    let creates = (0..8).map(|n| {
        let store = store.clone();
        let made = budget(&format!("b{n}"), None, BudgetBasis::Actual, n);
        tokio::spawn(async move { store.create_budget(&made, 3).await })
    });
    let stored = futures::future::join_all(creates)
        .await
        .into_iter()
        .map(|joined| joined.expect("the task").expect("create"))
        .filter(|stored| *stored)
        .count();
    assert_eq!(stored, 3);
    let listed = store.budgets(Some(ProjectId::DEFAULT)).await.expect("list");
    assert_eq!(listed.len(), 3);
}
