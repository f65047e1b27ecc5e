//! Cost queries, buckets, groups, the open part of billing and the forecast.

use chrono::{DateTime, TimeDelta, Utc};

use super::*;
use crate::billing::{self, BillingPolicy, RunCharge};
use crate::lifecycle::{self, LifecycleConfig};
use crate::money::Money;
use crate::server::Server;
use crate::state::ServerState;
use crate::testing::{at, labels, server};

const HOUR: i64 = 3_600;

fn query(from: i64, to: i64, granularity: Granularity, group_by: &str) -> CostQuery {
    CostQuery::new(at(from), at(to), granularity, group_by).expect("a valid query")
}

fn running_at(price: i64, since: i64) -> Server {
    let mut s = server(ServerState::Running);
    s.hourly_price = Money::from_micros(price);
    billing::open_run(&mut s, at(since));
    s
}

#[test]
fn a_range_must_run_forward_and_fit_ten_thousand_buckets() {
    assert!(matches!(
        CostQuery::new(at(10), at(10), Granularity::Hour, ""),
        Err(CostQueryError::Reversed { .. })
    ));
    assert!(CostQuery::new(at(0), at(10_000 * HOUR), Granularity::Hour, "").is_ok());
    assert!(matches!(
        CostQuery::new(at(0), at(10_000 * HOUR + 1), Granularity::Hour, ""),
        Err(CostQueryError::TooManyBuckets { .. })
    ));
    assert!(CostQuery::new(at(0), at(10_000 * HOUR + 1), Granularity::Day, "").is_ok());
    let far = DateTime::<Utc>::MAX_UTC;
    assert!(matches!(
        CostQuery::new(at(0), far, Granularity::Month, ""),
        Err(CostQueryError::TooManyBuckets { .. })
    ));
}

#[test]
fn group_keys_are_the_known_ones_once_each_and_at_most_three() {
    let keys = query(0, HOUR, Granularity::Hour, "region, label:team,type").group_by;
    assert_eq!(
        keys,
        [
            GroupKey::Region,
            GroupKey::Label("team".to_owned()),
            GroupKey::Type
        ]
    );
    let refused = |group_by: &str| CostQuery::new(at(0), at(HOUR), Granularity::Hour, group_by);
    assert!(matches!(refused("zone"), Err(CostQueryError::UnknownGroupKey(k)) if k == "zone"));
    assert!(matches!(
        refused("region,region"),
        Err(CostQueryError::DuplicateGroupKey(_))
    ));
    assert!(matches!(
        refused("label:"),
        Err(CostQueryError::BadLabelKey(..))
    ));
    assert!(matches!(
        refused("region,type,server,project"),
        Err(CostQueryError::TooManyGroupKeys)
    ));
    assert!("week".parse::<Granularity>().is_err());
}

#[test]
fn buckets_start_on_their_boundaries_clipped_to_the_range() {
    // t0 is 2026-01-01; from 15 January to 10 March by month is three buckets.
    let report = build_report(
        query(14 * 86_400, 68 * 86_400, Granularity::Month, ""),
        Vec::new(),
    );
    let spans: Vec<_> = report.buckets.iter().map(|b| (b.start, b.end)).collect();
    let day = |d: i64| at(d * 86_400);
    assert_eq!(
        spans,
        [(day(14), day(31)), (day(31), day(59)), (day(59), day(68))]
    );
    assert!(report.buckets.iter().all(|b| b.groups.is_empty()));
    assert_eq!(report.total, Money::ZERO);
}

#[test]
fn hourly_costs_add_up_into_their_buckets_and_groups() {
    let cost = |hour: i64, region: &str, micros: i64| HourlyCost {
        hour: at(hour * HOUR),
        keys: vec![Some(region.to_owned())],
        amount: Money::from_micros(micros),
        seconds: HOUR,
    };
    let report = build_report(
        query(0, 48 * HOUR, Granularity::Day, "region"),
        vec![
            cost(1, "a", 10),
            cost(2, "a", 20),
            cost(3, "b", 5),
            cost(30, "a", 7),
            cost(99, "a", 1_000),
        ],
    );
    assert_eq!(report.buckets.len(), 2);
    let first = &report.buckets[0];
    assert_eq!(first.amount, Money::from_micros(35));
    assert_eq!(
        first
            .groups
            .iter()
            .map(|g| (g.keys[0].clone(), g.amount.micros(), g.seconds))
            .collect::<Vec<_>>(),
        [
            (Some("a".to_owned()), 30, 2 * HOUR),
            (Some("b".to_owned()), 5, HOUR)
        ]
    );
    assert_eq!(report.buckets[1].amount, Money::from_micros(7));
    assert_eq!(
        report.total,
        Money::from_micros(42),
        "outside the range counts nothing"
    );
    assert_eq!(report.total_seconds, 4 * HOUR);
}

#[test]
fn open_billing_is_cut_into_hours_with_the_server_s_group_values() {
    let mut s = running_at(3_600, 1_800);
    s.labels = labels(&[("team", "web")]);
    let q = query(
        0,
        10 * HOUR,
        Granularity::Hour,
        "region,label:team,label:tier",
    );
    let costs = open_costs(&s, at(2 * HOUR + 900), &q);
    let pieces: Vec<_> = costs
        .iter()
        .map(|c| (c.hour, c.seconds, c.amount.micros()))
        .collect();
    assert_eq!(
        pieces,
        [
            (at(0), 1_800, 1_800),
            (at(HOUR), HOUR, 3_600),
            (at(2 * HOUR), 900, 900)
        ]
    );
    assert_eq!(
        costs[0].keys,
        [Some(s.region.clone()), Some("web".to_owned()), None]
    );
    let later = query(HOUR, 10 * HOUR, Granularity::Hour, "");
    assert_eq!(
        open_costs(&s, at(2 * HOUR + 900), &later).len(),
        2,
        "from the range's start"
    );
}

#[test]
fn a_report_up_to_now_agrees_with_the_server_s_billing_to_the_micro_unit() {
    let cfg = LifecycleConfig::default();
    let mut s = running_at(11_600, 1_234);
    let mut hourly = Vec::new();
    let q = query(0, 40 * HOUR, Granularity::Day, "type");
    for now in [5 * HOUR + 17, 9 * HOUR, 20 * HOUR + 1] {
        while let Some(change) = lifecycle::plan_accrual(&s, at(now), &cfg) {
            hourly.extend(change.usage.iter().map(|r| HourlyCost {
                hour: Granularity::Hour.start_of(r.period_start),
                keys: vec![Some(s.server_type.clone())],
                amount: r.amount,
                seconds: r.seconds,
            }));
            s = change.server;
        }
    }
    let now = at(22 * HOUR + 59);
    hourly.extend(open_costs(&s, now, &q));
    let report = build_report(q, hourly);
    assert_eq!(report.total, billing::summary(&s, now).total_amount);
    assert_eq!(
        report.total_seconds,
        billing::summary(&s, now).total_seconds
    );
}

#[test]
fn a_forecast_holds_each_server_in_its_state_under_its_policy() {
    let running = running_at(10_000, 0);
    let mut stopped = server(ServerState::Stopped);
    stopped.hourly_price = Money::from_micros(10_000);
    stopped.policy = BillingPolicy {
        run: RunCharge::PerHour,
        stopped_percent: Some(50),
    };
    stopped.billed_until = Some(at(0));
    let mut capped = running_at(10_000, 0);
    capped.policy = BillingPolicy {
        run: RunCharge::HourlyCappedMonthly {
            monthly_cap: Money::from_micros(25_000),
        },
        stopped_percent: None,
    };
    let (projected, rate) = projection(&[running, stopped, capped], at(HOUR), at(11 * HOUR));
    assert_eq!(
        projected,
        Money::from_micros(100_000 + 50_000 + 15_000),
        "ten hours, ten at half, and what the cap leaves after the first hour"
    );
    assert_eq!(rate, Money::from_micros(10_000 + 5_000 + 10_000));
    assert!(check_until(at(HOUR), at(HOUR)).is_err());
    assert!(check_until(at(0), at(0) + TimeDelta::days(MAX_FORECAST_DAYS + 1)).is_err());
    assert!(check_until(at(0), at(HOUR)).is_ok());
}
