use std::sync::{Arc, Mutex};

use chrono::TimeDelta;

use super::*;
use crate::budgets::BadBudget;
use crate::costs::HourlyCost;
use crate::ids::{KeyId, ProjectId};
use crate::ports::{MockBudgetStore, MockClock, MockCostStore};
use crate::selector::Selector;
use crate::testing::t0;

fn now() -> DateTime<Utc> {
    t0() + TimeDelta::days(10)
}

fn clock() -> Arc<MockClock> {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(now());
    Arc::new(clock)
}

fn usd(units: i64) -> Money {
    Money::from_micros(units * 1_000_000)
}

/// A cost store whose month holds `spent` per value of the label `team`.
fn costs(spent: Vec<(Option<&'static str>, i64)>) -> Arc<CostService> {
    let mut store = MockCostStore::new();
    store.expect_hourly_costs().returning(move |_, _, _, _| {
        Ok(spent
            .iter()
            .map(|(team, units)| HourlyCost {
                hour: t0(),
                keys: vec![team.map(str::to_owned)],
                amount: usd(*units),
                seconds: 3_600,
            })
            .collect())
    });
    store.expect_open_billing().returning(|_, _| Ok(Vec::new()));
    Arc::new(CostService::new(Arc::new(store), clock()))
}

fn budget(project: ProjectId, selector: &str) -> Budget {
    Budget {
        id: BudgetId::random(),
        project,
        name: "team a".into(),
        amount: usd(100),
        selector_text: Some(selector.into()),
        selector: Some(Selector::parse(selector).expect("a selector")),
        basis: BudgetBasis::Actual,
        crossed: Crossed::default(),
        created_at: t0(),
    }
}

#[tokio::test]
async fn a_check_announces_the_thresholds_the_selected_servers_crossed() {
    let stored = budget(ProjectId::DEFAULT, "team=a");
    let mut store = MockBudgetStore::new();
    let listed = stored.clone();
    store
        .expect_budgets()
        .returning(move |_| Ok(vec![listed.clone()]));
    let recorded = Arc::new(Mutex::new(Vec::new()));
    let sink = recorded.clone();
    store
        .expect_record_crossing()
        .times(1)
        .returning(move |_, from, to, events| {
            sink.lock().expect("lock").push((from, to, events.to_vec()));
            Ok(true)
        });
    // 85 USD in all, of which team a's 60 are the budget's.
    let spending = costs(vec![(Some("a"), 60), (Some("b"), 15), (None, 10)]);
    let service = BudgetService::new(Arc::new(store), spending, clock());
    assert_eq!(service.check().await.expect("a check"), 1);
    let recorded = recorded.lock().expect("lock");
    let (from, to, events) = &recorded[0];
    assert_eq!(*from, Crossed::default());
    assert_eq!(
        *to,
        Crossed {
            month: billing::month_index(now()),
            percent: 50
        }
    );
    let crossing = events[0].budget().expect("a budget event");
    assert_eq!((crossing.threshold, crossing.spent), (50, usd(60)));
    assert_eq!(events[0].event_type().as_str(), "budget.threshold_crossed");
    assert_eq!(events[0].server_id(), None);
}

#[tokio::test]
async fn a_crossing_another_process_announced_first_is_not_counted() {
    let stored = budget(ProjectId::DEFAULT, "team");
    let mut store = MockBudgetStore::new();
    store
        .expect_budgets()
        .returning(move |_| Ok(vec![stored.clone()]));
    store
        .expect_record_crossing()
        .returning(|_, _, _, _| Ok(false));
    let service = BudgetService::new(Arc::new(store), costs(vec![(Some("a"), 100)]), clock());
    assert_eq!(service.check().await.expect("a check"), 0);
}

#[tokio::test]
async fn viewers_make_none_and_other_projects_budgets_are_not_found() {
    let own = ProjectId::random();
    let theirs = budget(ProjectId::random(), "team=a");
    let mut store = MockBudgetStore::new();
    let found = theirs.clone();
    store
        .expect_budget()
        .returning(move |_| Ok(Some(found.clone())));
    let service = BudgetService::new(Arc::new(store), costs(Vec::new()), clock());
    let viewer = Caller {
        project: own,
        role: Role::Viewer,
        key: Some(KeyId::random()),
    };
    let draft = NewBudget {
        name: "x".into(),
        amount_micros: 1,
        selector: None,
        basis: None,
    };
    assert!(matches!(
        service.create(&viewer, draft).await,
        Err(BudgetError::Forbidden(_))
    ));
    assert!(matches!(
        service.get(&viewer, theirs.id).await,
        Err(BudgetError::NotFound(_))
    ));
    let member = Caller {
        role: Role::Member,
        ..viewer
    };
    assert!(matches!(
        service.delete(&member, theirs.id).await,
        Err(BudgetError::NotFound(_))
    ));
    let zero = NewBudget {
        name: "x".into(),
        amount_micros: 0,
        selector: None,
        basis: None,
    };
    assert!(matches!(
        service.create(&member, zero).await,
        Err(BudgetError::Invalid(BadBudget::Amount(0)))
    ));
}

#[tokio::test]
async fn a_budget_that_cannot_be_read_does_not_hold_up_the_others() {
    let broken = budget(ProjectId::random(), "team=a");
    let fine = budget(ProjectId::random(), "team=a");
    let (broken_project, listed) = (broken.project, vec![broken, fine.clone()]);
    let mut store = MockBudgetStore::new();
    store
        .expect_budgets()
        .returning(move |_| Ok(listed.clone()));
    store
        .expect_record_crossing()
        .withf(move |id, _, _, _| *id == fine.id)
        .times(1)
        .returning(|_, _, _, _| Ok(true));
    let mut costs = MockCostStore::new();
    costs
        .expect_hourly_costs()
        .returning(move |project, _, _, _| {
            if project == Some(broken_project) {
                return Err(StoreError::Unavailable(anyhow::anyhow!("down")));
            }
            Ok(vec![HourlyCost {
                hour: t0(),
                keys: vec![Some("a".to_owned())],
                amount: usd(60),
                seconds: 3_600,
            }])
        });
    costs.expect_open_billing().returning(|_, _| Ok(Vec::new()));
    let costs = Arc::new(CostService::new(Arc::new(costs), clock()));
    let service = BudgetService::new(Arc::new(store), costs, clock());
    assert!(
        service.check().await.is_err(),
        "the failure is reported, after the other budget was checked"
    );
}

#[tokio::test]
async fn a_project_at_its_limit_gets_a_too_many() {
    let mut store = MockBudgetStore::new();
    store
        .expect_create_budget()
        .withf(|_, at_most| *at_most == crate::budgets::MAX_BUDGETS_PER_PROJECT)
        .returning(|_, _| Ok(false));
    let service = BudgetService::new(Arc::new(store), costs(Vec::new()), clock());
    let member = Caller {
        project: ProjectId::random(),
        role: Role::Member,
        key: Some(KeyId::random()),
    };
    let draft = NewBudget {
        name: "x".into(),
        amount_micros: 1,
        selector: None,
        basis: None,
    };
    assert!(matches!(
        service.create(&member, draft).await,
        Err(BudgetError::TooMany { max: 20 })
    ));
}
