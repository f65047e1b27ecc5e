//! Cost reads: the ledger summed per clock hour and group, and the servers billing now.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use fleet_domain::billing::{BillingPolicy, RunCharge};
use fleet_domain::costs::{Granularity, GroupKey, HourlyCost};
use fleet_domain::{Action, LifecycleConfig, Money, ProjectId, Server, lifecycle};

use crate::TestedStore;
use crate::fixtures::{apply, at, complete, config, ledger, new_server, plan, pools, running};

const HOUR: i64 = 3_600;

/// Accrues `server` with hourly records up to `now`.
async fn accrue(store: &Arc<dyn TestedStore>, mut server: Server, now: DateTime<Utc>) -> Server {
    let hourly = LifecycleConfig {
        billing_period: TimeDelta::hours(1),
        ..config()
    };
    while let Some(change) = lifecycle::plan_accrual(&server, now, &hourly) {
        server = apply(store, &change).await;
    }
    server
}

/// What the store should sum: `servers`' records starting in `[from, to)` per hour and
/// region.
async fn expected_by_region(
    store: &Arc<dyn TestedStore>,
    servers: &[&Server],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> BTreeMap<(DateTime<Utc>, Option<String>), (Money, i64)> {
    let mut sums = BTreeMap::new();
    for server in servers {
        for record in ledger(store, server.id).await {
            if record.period_start >= from && record.period_start < to {
                let key = (
                    Granularity::Hour.start_of(record.period_start),
                    Some(server.region.clone()),
                );
                let sum = sums.entry(key).or_insert((Money::ZERO, 0));
                sum.0 = sum.0 + record.amount;
                sum.1 += record.seconds;
            }
        }
    }
    sums
}

fn summed(costs: Vec<HourlyCost>) -> BTreeMap<(DateTime<Utc>, Option<String>), (Money, i64)> {
    costs
        .into_iter()
        .map(|c| {
            assert_eq!(c.keys.len(), 1, "one value per key");
            ((c.hour, c.keys[0].clone()), (c.amount, c.seconds))
        })
        .collect()
}

/// Records land in the hour they start in, summed per group (region, type, server, project,
/// a label, a label none has), only of the project asked for and in the range asked for;
/// the servers billing now are those with a watermark.
pub async fn costs_sum_the_ledger_per_hour_and_group(store: Arc<dyn TestedStore>) {
    pools(
        &store,
        &[("lab-a", "10.10.0.0/24"), ("lab-b", "10.11.0.0/24")],
    )
    .await;
    let a = accrue(
        &store,
        running(&store, "lab-a", at(0)).await,
        at(3 * HOUR + 600),
    )
    .await;
    let b = accrue(
        &store,
        running(&store, "lab-b", at(1_800)).await,
        at(3 * HOUR + 600),
    )
    .await;
    let (from, to) = (at(0), at(10 * HOUR));

    let by_region = store
        .hourly_costs(None, from, to, &[GroupKey::Region])
        .await
        .expect("costs");
    let expected = expected_by_region(&store, &[&a, &b], from, to).await;
    assert!(expected.len() >= 6, "hours of both regions: {expected:?}");
    assert_eq!(summed(by_region), expected);

    let later = at(HOUR);
    let from_the_second_hour = store
        .hourly_costs(None, later, to, &[GroupKey::Region])
        .await
        .expect("costs");
    assert_eq!(
        summed(from_the_second_hour),
        expected_by_region(&store, &[&a, &b], later, to).await
    );

    let grouped = store
        .hourly_costs(
            Some(ProjectId::DEFAULT),
            from,
            to,
            &[
                GroupKey::Server,
                GroupKey::Label("suite".to_owned()),
                GroupKey::Label("absent".to_owned()),
            ],
        )
        .await
        .expect("costs");
    let total = |costs: &[HourlyCost]| costs.iter().fold(Money::ZERO, |s, c| s + c.amount);
    assert_eq!(total(&grouped), a.billed_amount + b.billed_amount);
    for cost in &grouped {
        assert!(cost.keys[0] == Some(a.id.to_string()) || cost.keys[0] == Some(b.id.to_string()));
        assert_eq!(cost.keys[1].as_deref(), Some("conformance"));
        assert_eq!(cost.keys[2], None, "a label the server lacks");
    }
    let by_project_and_type = store
        .hourly_costs(None, from, to, &[GroupKey::Project, GroupKey::Type])
        .await
        .expect("costs");
    assert_eq!(
        total(&by_project_and_type),
        total(&grouped),
        "the same ledger, grouped otherwise"
    );
    assert!(by_project_and_type.iter().all(|c| c.keys
        == [
            Some(ProjectId::DEFAULT.to_string()),
            Some(a.server_type.clone())
        ]));
    let elsewhere = store
        .hourly_costs(Some(ProjectId::random()), from, to, &[])
        .await
        .expect("costs");
    assert!(elsewhere.is_empty(), "another project's ledger is not read");

    let billing: Vec<_> = store
        .open_billing(None, None)
        .await
        .expect("open")
        .iter()
        .map(|s| s.id)
        .collect();
    assert!(billing.contains(&a.id) && billing.contains(&b.id));
    let before = |at| store.open_billing(None, Some(at));
    assert!(
        before(at(HOUR)).await.expect("open").is_empty(),
        "none has anything open before its watermark"
    );
    assert_eq!(before(at(10 * HOUR)).await.expect("open").len(), 2);
    let stopping = apply(
        &store,
        &plan(&a, Action::Stop, at(3 * HOUR + 700), &config()),
    )
    .await;
    complete(&store, &stopping).await;
    let billing: Vec<_> = store
        .open_billing(Some(ProjectId::DEFAULT), None)
        .await
        .expect("open")
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(
        billing,
        [b.id],
        "a stopped server under the default policy bills nothing"
    );
    assert!(
        store
            .open_billing(Some(ProjectId::random()), None)
            .await
            .expect("open")
            .is_empty()
    );
}

/// The cost rate per region and type: a running server's price, a stopped one's share
/// under a policy that bills it, nothing for one under a policy that does not.
pub async fn cost_rates_add_running_prices_and_stopped_shares(store: Arc<dyn TestedStore>) {
    pools(
        &store,
        &[("lab-a", "10.10.0.0/24"), ("lab-b", "10.11.0.0/24")],
    )
    .await;
    let price = running(&store, "lab-a", at(0)).await.hourly_price;
    running(&store, "lab-a", at(0)).await;
    let free_when_stopped = running(&store, "lab-b", at(0)).await;
    let mut new = new_server("lab-b", "t2.micro", at(0));
    new.server.policy = BillingPolicy {
        run: RunCharge::PerHour,
        stopped_percent: Some(40),
    };
    let half_billed = complete(&store, &store.provision(new).await.expect("provision")).await;
    for server in [&free_when_stopped, &half_billed] {
        let stopping = apply(&store, &plan(server, Action::Stop, at(600), &config())).await;
        complete(&store, &stopping).await;
    }
    let mut rates = store.cost_rates().await.expect("rates");
    rates.sort_by(|a, b| a.region.cmp(&b.region));
    let rates: Vec<_> = rates
        .into_iter()
        .map(|r| (r.region, r.server_type, r.hourly))
        .collect();
    assert_eq!(
        rates,
        [
            ("lab-a".to_owned(), "t2.micro".to_owned(), price + price),
            (
                "lab-b".to_owned(),
                "t2.micro".to_owned(),
                Money::from_micros(price.micros() * 40 / 100)
            ),
        ]
    );
}

/// A read of whole hours by project, region or type is answered from rollups that pruning
/// the ledger leaves as they were; a read by server, from the records, sees only those kept.
pub async fn whole_hour_costs_outlive_the_ledger_s_retention(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    let a = accrue(
        &store,
        running(&store, "lab-a", at(1_800)).await,
        at(3 * HOUR + 600),
    )
    .await;
    let (from, to) = (at(0), at(10 * HOUR));
    let by_region = || store.hourly_costs(None, from, to, &[GroupKey::Region]);
    let before = summed(by_region().await.expect("costs"));
    let total = |costs: Vec<HourlyCost>| costs.iter().fold(Money::ZERO, |s, c| s + c.amount);
    assert_eq!(
        before.values().fold(Money::ZERO, |s, v| s + v.0),
        a.billed_amount
    );
    while store.prune_usage(at(2 * HOUR), 2).await.expect("prune") > 0 {}
    assert_eq!(summed(by_region().await.expect("costs")), before);
    let by_server = store
        .hourly_costs(None, from, to, &[GroupKey::Server])
        .await
        .expect("costs");
    assert!(
        total(by_server) < a.billed_amount,
        "the pruned records are gone from the ledger"
    );
}
