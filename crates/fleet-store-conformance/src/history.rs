//! Event logs and the usage ledger.

use std::sync::Arc;

use chrono::TimeDelta;
use fleet_domain::billing::{BillingPolicy, RunCharge};
use fleet_domain::page::LedgerCursor;
use fleet_domain::{Action, Money, NewEvent, ServerId, lifecycle};

use crate::TestedStore;
use crate::fixtures::{
    apply, at, complete, config, get, instant_config, ledger, new_server, plan, pools, provision,
    running,
};

/// Events come newest first, `limit` caps them to the newest, and each server has its own.
pub async fn events_are_newest_first_and_windowed(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let new = crate::fixtures::new_server("lab-a", "t2.micro", at(0));
    let mut appended: Vec<NewEvent> = vec![new.event.clone()];
    let server = store.provision(new).await.expect("provision");
    let other = running(&store, "lab-a", at(1)).await;
    let fast = instant_config();
    let mut current = {
        let change = lifecycle::plan_completion(&server, at(10), &fast).expect("due");
        appended.extend(change.events.clone());
        apply(&store, &change).await
    };
    let mut t = 100;
    while appended.len() < 130 {
        let action = if t % 200 == 100 {
            Action::Stop
        } else {
            Action::Start
        };
        let change = plan(&current, action, at(t), &fast);
        appended.extend(change.events.clone());
        current = apply(&store, &change).await;
        t += 100;
    }
    let newest_first: Vec<NewEvent> = appended.iter().rev().cloned().collect();
    let got = |limit| {
        let store = Arc::clone(&store);
        async move {
            store
                .events(server.id, limit)
                .await
                .expect("events")
                .into_iter()
                .map(|e| e.event)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(got(100).await, newest_first[..100].to_vec());
    assert_eq!(got(3).await, newest_first[..3].to_vec());
    assert_eq!(got(1000).await, newest_first);
    let theirs = store.events(other.id, 100).await.expect("events");
    assert!(theirs.iter().all(|e| e.event.server_id() == Some(other.id)));
    assert_eq!(theirs.len(), 2, "created and completed");
    let ids: Vec<i64> = store
        .events(server.id, 1000)
        .await
        .expect("events")
        .iter()
        .map(|e| e.id)
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "ids increase with appends: {ids:?}"
    );
}

/// Events written at one instant (a zero-delay transition) are listed in reverse append order.
pub async fn events_at_the_same_instant_keep_their_order(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let server = running(&store, "lab-a", at(0)).await;
    let change = plan(&server, Action::Stop, at(100), &instant_config());
    assert!(change.events.len() >= 3, "billed, requested and completed");
    assert!(change.events.iter().all(|e| e.at == at(100)));
    apply(&store, &change).await;
    let newest: Vec<NewEvent> = store
        .events(server.id, change.events.len() as u32)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.event)
        .collect();
    let expected: Vec<NewEvent> = change.events.iter().rev().cloned().collect();
    assert_eq!(newest, expected);
}

/// A server that never existed has no events and no usage.
pub async fn history_of_an_unknown_server_is_empty(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    running(&store, "lab-a", at(0)).await;
    let ghost = ServerId::random();
    assert!(store.events(ghost, 100).await.expect("events").is_empty());
    assert!(ledger(&store, ghost).await.is_empty());
}

/// Accruals and the closing of a run append records oldest first; they add up to the
/// server's totals, and each starts where the previous one ended.
pub async fn usage_ledger_is_append_only_and_adds_up(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let mut server = running(&store, "lab-a", at(0)).await;
    let other = provision(&store, "lab-a", at(0)).await;
    let mut expected = Vec::new();
    for minutes in 1..=3 {
        let now = at(10) + TimeDelta::seconds(61 * minutes);
        let change = lifecycle::plan_accrual(&server, now, &config()).expect("an accrual");
        expected.extend(change.usage.clone());
        server = apply(&store, &change).await;
    }
    let stop = plan(&server, Action::Stop, at(400), &config());
    expected.extend(stop.usage.clone());
    server = apply(&store, &stop).await;
    let records = ledger(&store, server.id).await;
    assert_eq!(records, expected);
    assert_eq!(
        records.len(),
        3 + 4,
        "the stop bills [190, 400) in periods, as accruals"
    );
    assert!(
        records
            .windows(2)
            .all(|w| w[0].period_end == w[1].period_start)
    );
    let seconds: i64 = records.iter().map(|r| r.seconds).sum();
    let amount: i64 = records.iter().map(|r| r.amount.micros()).sum();
    let stored = get(&store, server.id).await;
    assert_eq!(stored.billed_seconds, seconds);
    assert_eq!(stored.billed_amount.micros(), amount);
    assert_eq!(stored.billed_until, None, "the run is closed");
    assert!(ledger(&store, other.id).await.is_empty());
}

/// A server keeps the billing policy it was provisioned with, and what a policy that bills
/// stopped time under a monthly cap writes (stopped seconds, the month so far) reads back
/// as written.
pub async fn a_server_keeps_its_policy_and_its_month_to_date(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let policy = BillingPolicy {
        run: RunCharge::HourlyCappedMonthly {
            monthly_cap: Money::from_micros(20_000),
        },
        stopped_percent: Some(50),
    };
    let mut new = new_server("lab-a", "t2.micro", at(0));
    new.server.policy = policy;
    let server = store.provision(new).await.expect("provision");
    assert_eq!(server.policy, policy);
    let server = complete(&store, &server).await;
    let stop = plan(&server, Action::Stop, at(4_000), &config());
    let stopping = apply(&store, &stop).await;
    assert_eq!(
        stopping.billed_seconds,
        2 * 3_600,
        "two started hours, under the cap"
    );
    let accrual = lifecycle::plan_accrual(&stopping, at(9_000), &config()).expect("stopped time");
    let stored = apply(&store, &accrual).await;
    assert!(stored.billed_stopped_seconds > 0);
    assert_eq!(stored.month_to_date, accrual.server.month_to_date);
    assert_eq!(stored.billed_amount, Money::from_micros(20_000), "the cap");
    let read = get(&store, stored.id).await;
    assert_eq!(
        (read.policy, read.billed_stopped_seconds, read.month_to_date),
        (
            policy,
            accrual.server.billed_stopped_seconds,
            accrual.server.month_to_date
        )
    );
}

/// A server's ledger pages by position, each page after the previous one's last record;
/// pruning deletes only records whose period ended before its instant, oldest first, up to
/// its limit, and leaves the servers' totals as they were.
pub async fn usage_pages_follow_positions_and_pruning_takes_the_oldest_first(
    store: Arc<dyn TestedStore>,
) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let mut server = running(&store, "lab-a", at(0)).await;
    let mut other = running(&store, "lab-a", at(0)).await;
    for minutes in 1..=4 {
        let now = at(60 * minutes);
        for s in [&mut server, &mut other] {
            let change = lifecycle::plan_accrual(s, now, &config()).expect("an accrual");
            *s = apply(&store, &change).await;
        }
    }
    let all = store.usage(server.id, None, 100).await.expect("usage");
    assert_eq!(all.len(), 4, "[10,60) and three whole minutes");
    let first = store.usage(server.id, None, 2).await.expect("usage");
    let rest = store
        .usage(server.id, Some(LedgerCursor(first[1].position)), 100)
        .await
        .expect("usage");
    assert_eq!([first, rest].concat(), all);
    let last = all.last().map(|entry| LedgerCursor(entry.position));
    assert!(
        store
            .usage(server.id, last, 100)
            .await
            .expect("usage")
            .is_empty()
    );

    let totals = get(&store, server.id).await;
    assert_eq!(store.prune_usage(at(121), 3).await.expect("pruned"), 3);
    let left: Vec<_> = ledger(&store, server.id)
        .await
        .into_iter()
        .chain(ledger(&store, other.id).await)
        .collect();
    assert_eq!(
        left.len(),
        5,
        "one of the four records ended before 121 s is left"
    );
    assert_eq!(left.iter().filter(|r| r.period_end < at(121)).count(), 1);
    assert_eq!(store.prune_usage(at(121), 3).await.expect("pruned"), 1);
    assert_eq!(store.prune_usage(at(121), 3).await.expect("pruned"), 0);
    assert!(
        ledger(&store, server.id)
            .await
            .iter()
            .all(|r| r.period_end >= at(121))
    );
    assert_eq!(get(&store, server.id).await, totals, "totals stay");
}
