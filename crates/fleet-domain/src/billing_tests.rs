//! Tests of the ledger's clock-aligned periods: where records end, when an accrual is due,
//! and that the period's length changes how many records a run writes but never its total.

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;

use crate::billing::{self, BillingPolicy, MINIMUM_RUN_SECONDS, RunCharge, UsageRecord};
use crate::lifecycle::{self, LifecycleConfig};
use crate::money::Money;
use crate::server::Server;
use crate::state::ServerState;
use crate::testing::{at, config, server};

const HOUR: i64 = 3_600;

fn millis(ms: i64) -> DateTime<Utc> {
    at(0) + TimeDelta::milliseconds(ms)
}

#[test]
fn a_period_ends_on_the_next_clock_boundary_keeping_the_sub_second_part() {
    let hour = TimeDelta::hours(1);
    assert_eq!(
        billing::period_end(at(0), hour),
        at(HOUR),
        "from a boundary, the next"
    );
    assert_eq!(billing::period_end(at(1_800), hour), at(HOUR));
    assert_eq!(billing::period_end(at(HOUR - 1), hour), at(HOUR));
    assert_eq!(
        billing::period_end(millis(1_800_250), hour),
        millis(3_600_250),
        "a run that began a quarter second past a second keeps its quarter"
    );
    assert_eq!(billing::period_end(at(61), TimeDelta::seconds(60)), at(120));
}

#[test]
fn accruals_are_due_before_the_last_boundary_at_or_before_now() {
    let hour = TimeDelta::hours(1);
    assert_eq!(billing::accruals_due_before(at(HOUR), hour), at(HOUR));
    assert_eq!(
        billing::accruals_due_before(millis(5_400_750), hour),
        at(HOUR)
    );
    assert_eq!(billing::accruals_due_before(at(HOUR - 1), hour), at(0));
}

#[test]
fn a_day_of_a_running_server_is_24_hourly_records_each_ending_on_the_hour() {
    let cfg = LifecycleConfig {
        billing_period: TimeDelta::hours(1),
        ..config()
    };
    let mut s = server(ServerState::Running);
    billing::open_run(&mut s, millis(1_234_500));
    let change = lifecycle::plan_accrual(&s, at(24 * HOUR + 1_234), &cfg).expect("due");
    assert_eq!(
        change.usage.len(),
        24,
        "the first partial hour, then 23 whole ones"
    );
    assert_eq!(change.usage[0].period_start, millis(1_234_500));
    assert_eq!(change.usage[0].seconds, HOUR - 1_234);
    for (hour, record) in change.usage.iter().enumerate() {
        let ends = millis((hour as i64 + 1) * HOUR * 1_000 + 500);
        assert_eq!(record.period_end, ends, "record {hour}");
    }
    assert!(
        lifecycle::plan_accrual(&change.server, at(24 * HOUR + 1_234), &cfg).is_none(),
        "the hour in progress waits for its end"
    );
}

/// A run of a schedule: when it starts (milliseconds after t0), how long it lasts
/// (milliseconds), and the instants inside it a worker accrues at (fractions of its length).
#[derive(Debug, Clone)]
struct Run {
    start_ms: i64,
    length_ms: i64,
    accruals: Vec<f64>,
}

fn runs() -> impl Strategy<Value = Vec<Run>> {
    let run = (
        0i64..7_200_000,
        0i64..400_000_000,
        proptest::collection::vec(0.0f64..1.0, 0..6),
    )
        .prop_map(|(gap_ms, length_ms, accruals)| Run {
            start_ms: gap_ms,
            length_ms,
            accruals,
        });
    proptest::collection::vec(run, 1..5).prop_map(|mut runs| {
        // Gaps become start times: each run starts after the one before ended.
        let mut clock = 0;
        for run in &mut runs {
            clock += run.start_ms;
            run.start_ms = clock;
            clock += run.length_ms;
        }
        runs
    })
}

/// Bills `runs` of a server at `hourly` with records `period_s` long; its ledger and the
/// server after the last run.
fn bill(runs: &[Run], hourly: i64, period_s: i64) -> (Vec<UsageRecord>, Server) {
    bill_under(runs, hourly, period_s, BillingPolicy::default(), 0)
}

/// Bills `runs` under `policy`, shifted `offset_ms` later, the server stopped between runs
/// and terminated an hour after the last, a worker accruing at each run's accrual points
/// and at its end.
fn bill_under(
    runs: &[Run],
    hourly: i64,
    period_s: i64,
    policy: BillingPolicy,
    offset_ms: i64,
) -> (Vec<UsageRecord>, Server) {
    let cfg = LifecycleConfig {
        billing_period: TimeDelta::seconds(period_s),
        ..config()
    };
    let mut s = server(ServerState::Provisioning);
    s.hourly_price = Money::from_micros(hourly);
    s.policy = policy;
    let mut ledger = Vec::new();
    let move_to = |s: &mut Server, ledger: &mut Vec<UsageRecord>, to, at_ms| {
        ledger.extend(billing::on_transition(
            s,
            to,
            millis(at_ms),
            cfg.billing_period,
        ));
        s.state = to;
    };
    let mut end_ms = offset_ms;
    for run in runs {
        let start_ms = offset_ms + run.start_ms;
        end_ms = start_ms + run.length_ms;
        move_to(&mut s, &mut ledger, ServerState::Running, start_ms);
        let mut points: Vec<i64> = run
            .accruals
            .iter()
            .map(|f| start_ms + (f * run.length_ms as f64) as i64)
            .collect();
        points.sort_unstable();
        for point in points {
            while let Some(change) = lifecycle::plan_accrual(&s, millis(point), &cfg) {
                ledger.extend(change.usage);
                s = change.server;
            }
        }
        move_to(&mut s, &mut ledger, ServerState::Stopped, end_ms);
    }
    move_to(
        &mut s,
        &mut ledger,
        ServerState::Terminated,
        end_ms + HOUR * 1_000,
    );
    (ledger, s)
}

fn policies() -> impl Strategy<Value = BillingPolicy> {
    let run = prop_oneof![
        (0i64..600, 0i64..50_000).prop_map(|(seconds, micros)| RunCharge::PerSecond {
            minimum_seconds: seconds,
            minimum_amount: Money::from_micros(micros),
        }),
        Just(RunCharge::PerHour),
        (0i64..100_000_000).prop_map(|cap| RunCharge::HourlyCappedMonthly {
            monthly_cap: Money::from_micros(cap),
        }),
    ];
    (run, proptest::option::of(1u8..=100)).prop_map(|(run, stopped_percent)| BillingPolicy {
        run,
        stopped_percent,
    })
}

proptest! {
    /// Minute records and hourly records of the same runs at the same price add up to the
    /// same seconds and the same micro-units: each run's whole seconds, at least the
    /// minimum, priced once over the server's total.
    #[test]
    fn the_record_period_changes_no_total(
        runs in runs(),
        hourly in 0i64..100_000_000,
        other_period in 1i64..=86_400,
    ) {
        let expected_seconds: i64 = runs
            .iter()
            .map(|run| (run.length_ms / 1_000).max(MINIMUM_RUN_SECONDS))
            .sum();
        let expected = Money::for_seconds(Money::from_micros(hourly), expected_seconds);
        for period in [60, HOUR, other_period] {
            let (ledger, s) = bill(&runs, hourly, period);
            let seconds: i64 = ledger.iter().map(|r| r.seconds).sum();
            let amount = ledger.iter().fold(Money::ZERO, |sum, r| sum + r.amount);
            prop_assert_eq!(seconds, expected_seconds, "period {}", period);
            prop_assert_eq!(amount, expected, "period {}", period);
            prop_assert_eq!(s.billed_amount, expected);
            for pair in ledger.windows(2) {
                prop_assert!(pair[0].period_end <= pair[1].period_start, "no overlap");
            }
        }
    }

    /// Hourly records are at most one per clock hour a run touches, and every accrued one
    /// ends within a second after a clock hour.
    #[test]
    fn hourly_records_follow_the_clock_hours(runs in runs(), hourly in 0i64..100_000_000) {
        let (ledger, _) = bill(&runs, hourly, HOUR);
        let hours_touched: i64 = runs
            .iter()
            .map(|run| {
                let first = run.start_ms.div_euclid(HOUR * 1_000);
                let last = (run.start_ms + run.length_ms).div_euclid(HOUR * 1_000);
                last - first + 1
            })
            .sum();
        prop_assert!(ledger.len() as i64 <= hours_touched, "{} > {}", ledger.len(), hours_touched);
        for record in &ledger {
            let into_hour = (record.period_end - at(0)).num_milliseconds().rem_euclid(HOUR * 1_000);
            let on_the_hour = into_hour < 1_000;
            // A close bills whole seconds, so its record ends within a second of the run.
            let closing = runs.iter().any(|run| {
                let end = millis(run.start_ms + run.length_ms);
                end >= record.period_end && end - record.period_end < TimeDelta::seconds(1)
            });
            prop_assert!(on_the_hour || closing, "{:?}", record);
        }
    }

    /// Under every policy the ledger is the same whatever the record period: the same
    /// seconds and micro-units, which are the server's totals; no record overlaps another or
    /// spans two months; a capped server is never charged more than its cap in a month; and
    /// the stopped time is billed only where the policy says.
    #[test]
    fn every_policy_keeps_the_ledger_whatever_the_period(
        runs in runs(),
        hourly in 0i64..100_000_000,
        other_period in 1i64..=86_400,
        policy in policies(),
        offset_days in 0i64..60,
    ) {
        let offset_ms = offset_days * 86_400_000;
        let mut totals = Vec::new();
        for period in [60, HOUR, other_period] {
            let (ledger, s) = bill_under(&runs, hourly, period, policy, offset_ms);
            let seconds: i64 = ledger.iter().map(|r| r.seconds).sum();
            let amount = ledger.iter().fold(Money::ZERO, |sum, r| sum + r.amount);
            prop_assert_eq!(amount, s.billed_amount, "period {}", period);
            prop_assert_eq!(seconds, s.billed_seconds + s.billed_stopped_seconds);
            prop_assert_eq!(s.billed_until, None, "terminated: nothing open");
            for pair in ledger.windows(2) {
                prop_assert!(pair[0].period_end <= pair[1].period_start, "no overlap");
            }
            let mut months: std::collections::BTreeMap<i32, Money> = Default::default();
            for record in &ledger {
                let month = billing::month_index(record.period_start);
                prop_assert!(record.period_end <= billing::month_end(record.period_start), "{:?}", record);
                let sum = months.entry(month).or_default();
                *sum = *sum + record.amount;
            }
            if let Some(cap) = policy.monthly_cap() {
                prop_assert!(months.values().all(|sum| *sum <= cap), "{:?} over {}", months, cap);
            }
            if policy.stopped_percent.is_none() {
                prop_assert_eq!(s.billed_stopped_seconds, 0);
            }
            totals.push((seconds, amount, months));
        }
        prop_assert_eq!(&totals[0], &totals[1]);
        prop_assert_eq!(&totals[0], &totals[2]);
    }
}
