use chrono::DateTime;

use super::*;

fn budget(amount: i64, crossed: Crossed) -> Budget {
    Budget {
        id: BudgetId::random(),
        project: ProjectId::DEFAULT,
        name: "team".into(),
        amount: Money::from_micros(amount),
        selector_text: None,
        selector: None,
        basis: BudgetBasis::Actual,
        crossed,
        created_at: DateTime::UNIX_EPOCH,
    }
}

fn usd(units: i64) -> Money {
    Money::from_micros(units * 1_000_000)
}

#[test]
fn each_threshold_is_crossed_once_a_month() {
    let mut b = budget(100_000_000, Crossed::default());
    assert_eq!(crossings(&b, 600, usd(49)), None);
    let (mark, new) = crossings(&b, 600, usd(50)).expect("50 %");
    assert_eq!(new, vec![50]);
    b.crossed = mark;
    assert_eq!(crossings(&b, 600, usd(79)), None);
    let (mark, new) = crossings(&b, 600, usd(101)).expect("80 and 100 %");
    assert_eq!(new, vec![80, 100]);
    assert_eq!(
        mark,
        Crossed {
            month: 600,
            percent: 100
        }
    );
    b.crossed = mark;
    assert_eq!(crossings(&b, 600, usd(500)), None);
}

#[test]
fn a_new_month_starts_from_none() {
    let b = budget(
        100_000_000,
        Crossed {
            month: 600,
            percent: 100,
        },
    );
    let (mark, new) = crossings(&b, 601, usd(60)).expect("a new month");
    assert_eq!(new, vec![50]);
    assert_eq!(
        mark,
        Crossed {
            month: 601,
            percent: 50
        }
    );
}

#[test]
fn a_threshold_is_reached_at_its_exact_share() {
    let b = budget(3, Crossed::default());
    // 50 % of 3 micros is 1.5: 1 is under, 2 is over.
    assert_eq!(crossings(&b, 1, Money::from_micros(1)), None);
    assert_eq!(
        crossings(&b, 1, Money::from_micros(2)).map(|c| c.1),
        Some(vec![50])
    );
}

fn draft(amount: i64, selector: Option<&str>) -> NewBudget {
    NewBudget {
        name: "team a".into(),
        amount_micros: amount,
        selector: selector.map(str::to_owned),
        basis: None,
    }
}

#[test]
fn amounts_must_be_positive_and_bounded() {
    assert_eq!(draft(0, None).check(), Err(BadBudget::Amount(0)));
    assert_eq!(draft(-5, None).check(), Err(BadBudget::Amount(-5)));
    assert_eq!(
        draft(MAX_BUDGET_MICROS + 1, None).check(),
        Err(BadBudget::Amount(MAX_BUDGET_MICROS + 1))
    );
    let checked = draft(1, None).check().expect("one micro");
    assert_eq!(checked.basis, BudgetBasis::Actual);
}

#[test]
fn names_and_selectors_are_bounded() {
    let mut long = draft(1, None);
    long.name = "x".repeat(MAX_BUDGET_NAME_LEN + 1);
    assert_eq!(long.check(), Err(BadBudget::Name(MAX_BUDGET_NAME_LEN + 1)));
    let mut empty = draft(1, None);
    empty.name = String::new();
    assert_eq!(empty.check(), Err(BadBudget::Name(0)));
    assert!(matches!(
        draft(1, Some("a=1,")).check(),
        Err(BadBudget::Selector(_))
    ));
    assert_eq!(
        draft(1, Some("a=1,b,!c,d notin (x)")).check(),
        Err(BadBudget::SelectorKeys(4))
    );
    let checked = draft(1, Some("team=a,team!=b,env"))
        .check()
        .expect("two keys");
    assert_eq!(
        selector_keys(checked.selector.as_ref().expect("a selector")),
        vec!["team".to_owned(), "env".to_owned()]
    );
}
