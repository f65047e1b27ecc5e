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
        key: None,
        message: format!("crossed {threshold} %"),
        reason: None,
    }
}

/// A budget reads back as made; the project's are listed oldest first; moving the mark
/// appends the crossing's events (about no server, in the budget's project) only from the
/// mark it was read at; deleting it leaves its events.
pub async fn budgets_are_kept_and_announce_each_crossing_once(store: Arc<dyn TestedStore>) {
    let team = budget("team a", Some("team=a,env!=dev"), BudgetBasis::Forecast, 10);
    let all = budget("everything", None, BudgetBasis::Actual, 0);
    store.create_budget(&team).await.expect("create");
    store.create_budget(&all).await.expect("create");
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
    assert_eq!(
        store
            .count_budgets(ProjectId::DEFAULT)
            .await
            .expect("count"),
        2
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
        store
            .count_budgets(ProjectId::DEFAULT)
            .await
            .expect("count"),
        1
    );
    let kept = store.events_after(&read(start)).await.expect("events");
    assert_eq!(kept.len(), 2, "the events outlive their budget");
}
