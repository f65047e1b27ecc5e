//! What each billing policy charges, figure by figure, and how a catalog names one.

use chrono::TimeDelta;
use proptest::prelude::*;

use super::{BillingPolicy, PolicyName, PolicySpec, RunCharge, month_index, on_transition};
use crate::catalog::{Catalog, CatalogFile};
use crate::money::Money;
use crate::server::Server;
use crate::state::ServerState;
use crate::testing::{at, server};

const HOUR: i64 = 3_600;
const HOURLY: i64 = 10_000;

fn under(run: RunCharge, stopped_percent: Option<u8>) -> Server {
    let mut s = server(ServerState::Provisioning);
    s.hourly_price = Money::from_micros(HOURLY);
    s.policy = BillingPolicy {
        run,
        stopped_percent,
    };
    s
}

/// Moves `s` through `steps` (state, seconds after t0), returning the micro-units billed.
fn walk(s: &mut Server, steps: &[(ServerState, i64)]) -> i64 {
    let mut billed = 0;
    for &(to, seconds) in steps {
        let records = on_transition(s, to, at(seconds), TimeDelta::hours(1));
        billed += records.iter().map(|r| r.amount.micros()).sum::<i64>();
        s.state = to;
    }
    assert_eq!(
        billed,
        s.billed_amount.micros(),
        "records add up to the total"
    );
    billed
}

#[test]
fn per_hour_bills_every_started_hour_of_a_run_whole() {
    for (run, hours) in [(0, 1), (1, 1), (HOUR, 1), (HOUR + 1, 2), (6_600, 2)] {
        let mut s = under(RunCharge::PerHour, None);
        let billed = walk(
            &mut s,
            &[
                (ServerState::Running, 1_200),
                (ServerState::Stopping, 1_200 + run),
            ],
        );
        assert_eq!(billed, hours * HOURLY, "a {run} s run");
        assert_eq!(s.billed_seconds, hours * HOUR);
    }
}

#[test]
fn per_second_bills_the_minimum_seconds_and_the_minimum_amount() {
    let minimum = |seconds, micros| RunCharge::PerSecond {
        minimum_seconds: seconds,
        minimum_amount: Money::from_micros(micros),
    };
    let ten_seconds = [(ServerState::Running, 0), (ServerState::Stopping, 10)];
    assert_eq!(walk(&mut under(minimum(60, 0), None), &ten_seconds), 166);
    assert_eq!(walk(&mut under(minimum(0, 0), None), &ten_seconds), 27);
    assert_eq!(
        walk(&mut under(minimum(60, 10_000), None), &ten_seconds),
        10_000,
        "one cent, as DigitalOcean bills a short run"
    );
    let two_hours = [(ServerState::Running, 0), (ServerState::Stopping, 2 * HOUR)];
    assert_eq!(
        walk(&mut under(minimum(60, 10_000), None), &two_hours),
        2 * HOURLY
    );
}

#[test]
fn a_capped_server_costs_its_cap_in_a_long_month_and_starts_again_in_the_next() {
    let cap = 672 * HOURLY;
    let mut s = under(
        RunCharge::HourlyCappedMonthly {
            monthly_cap: Money::from_micros(cap),
        },
        None,
    );
    // t0 is 1 January 2026; January has 744 hours, so the cap bites at hour 672.
    let mut january = 0;
    let mut february = 0;
    s.state = ServerState::Running;
    super::open_run(&mut s, at(0));
    for record in super::accrue_through(
        &mut s,
        at(31 * 24 * HOUR + 10 * HOUR),
        Some(TimeDelta::hours(1)),
    ) {
        match month_index(record.period_start) - month_index(at(0)) {
            0 => january += record.amount.micros(),
            _ => february += record.amount.micros(),
        }
    }
    assert_eq!(january, cap);
    assert_eq!(february, 10 * HOURLY);
    assert_eq!(s.month_to_date.amount.micros(), 10 * HOURLY);
    assert_eq!(
        s.billed_seconds,
        (31 * 24 + 10) * HOUR,
        "the seconds are all counted"
    );
}

#[test]
fn a_stopped_server_bills_its_stopped_share_until_it_runs_or_terminates() {
    let per_second = BillingPolicy::default().run;
    let mut s = under(per_second, Some(50));
    let billed = walk(
        &mut s,
        &[
            (ServerState::Running, 0),
            (ServerState::Stopping, HOUR),
            (ServerState::Stopped, HOUR + 5),
            (ServerState::Starting, 3 * HOUR),
            (ServerState::Running, 3 * HOUR + 5),
            (ServerState::Terminating, 4 * HOUR + 5),
        ],
    );
    assert_eq!(s.billed_stopped_seconds, 2 * HOUR + 5);
    assert_eq!(s.billed_seconds, 2 * HOUR);
    assert_eq!(billed, 2 * HOURLY + (2 * HOUR + 5) * (HOURLY / 2) / HOUR);
    assert_eq!(
        s.started_at,
        Some(at(3 * HOUR + 5)),
        "the run, not the stop, starts a run"
    );

    let mut without = under(per_second, None);
    walk(
        &mut without,
        &[
            (ServerState::Running, 0),
            (ServerState::Stopping, HOUR),
            (ServerState::Stopped, HOUR + 5),
            (ServerState::Terminating, 3 * HOUR),
        ],
    );
    assert_eq!(
        without.billed_amount.micros(),
        HOURLY,
        "EC2: a stopped server is free"
    );
}

#[test]
fn a_reboot_stays_inside_the_run() {
    let mut s = under(RunCharge::PerHour, None);
    walk(
        &mut s,
        &[
            (ServerState::Running, 0),
            (ServerState::Rebooting, 600),
            (ServerState::Running, 605),
            (ServerState::Stopping, 1_200),
        ],
    );
    assert_eq!(s.billed_seconds, HOUR, "one run, one started hour");
}

#[test]
fn a_catalog_names_policies_per_type_with_a_default() {
    let file: CatalogFile = toml::from_str(
        r#"
billing = { policy = "per_second", minimum_seconds = 0, minimum_micros = 10000 }

[[regions]]
name = "fsn1"
cidr = "10.9.0.0/24"

[[server_types]]
name = "cx22"
vcpus = 2
memory_mib = 4096
hourly_price_micros = 7000
billing = { policy = "hourly_capped_monthly", stopped_percent = 100 }

[[server_types]]
name = "s-1vcpu"
vcpus = 1
memory_mib = 1024
hourly_price_micros = 9000
"#,
    )
    .expect("a catalog file");
    let catalog = Catalog::from_file(file).expect("valid");
    let cx22 = catalog.server_type("cx22").expect("listed");
    assert_eq!(
        catalog.policy(cx22),
        BillingPolicy {
            run: RunCharge::HourlyCappedMonthly {
                monthly_cap: Money::from_micros(672 * 7_000)
            },
            stopped_percent: Some(100),
        },
        "the cap defaults to 672 hours"
    );
    let droplet = catalog.server_type("s-1vcpu").expect("listed");
    assert_eq!(
        catalog.policy(droplet).run,
        RunCharge::PerSecond {
            minimum_seconds: 0,
            minimum_amount: Money::from_micros(10_000)
        }
    );
}

#[test]
fn a_policy_field_that_does_not_belong_or_is_out_of_range_is_refused() {
    let spec = |policy, cap: Option<i64>, percent: Option<u8>| PolicySpec {
        policy,
        monthly_cap_micros: cap,
        stopped_percent: percent,
        ..PolicySpec::default()
    };
    let hourly = Money::from_micros(HOURLY);
    assert!(
        spec(PolicyName::PerHour, Some(1), None)
            .resolve(hourly)
            .is_err()
    );
    assert!(
        spec(PolicyName::PerSecond, Some(1), None)
            .resolve(hourly)
            .is_err()
    );
    assert!(
        spec(PolicyName::HourlyCappedMonthly, Some(-1), None)
            .resolve(hourly)
            .is_err()
    );
    assert!(
        spec(PolicyName::PerHour, None, Some(0))
            .resolve(hourly)
            .is_err()
    );
    assert!(
        spec(PolicyName::PerHour, None, Some(101))
            .resolve(hourly)
            .is_err()
    );
    let hourly_minimum = PolicySpec {
        policy: PolicyName::PerHour,
        minimum_seconds: Some(60),
        ..PolicySpec::default()
    };
    assert!(hourly_minimum.resolve(hourly).is_err());
    assert!(
        toml::from_str::<PolicySpec>(r#"policy = "per_minute""#).is_err(),
        "an unknown policy"
    );
}

#[test]
fn text_near_a_policy_is_no_policy() {
    for text in [
        "",
        "per_second",
        "per_second:60",
        "per_second:60:0:1",
        "per_second:-1:0",
        "per_second:60:-5",
        "per_hour:1",
        "per_hour+stopped:0",
        "per_hour+stopped:101",
        "per_hour+stopped:",
        "hourly_capped_monthly",
        "hourly_capped_monthly:-1",
        "per_minute:60:0",
    ] {
        assert_eq!(BillingPolicy::decode(text), None, "{text:?}");
    }
}

proptest! {
    /// What a store keeps reads back as the same policy; anything else is not a policy.
    #[test]
    fn a_policy_survives_its_text(
        seconds in 0i64..=86_400,
        micros in 0i64..1_000_000_000,
        which in 0u8..3,
        percent in proptest::option::of(1u8..=100),
    ) {
        let run = match which {
            0 => RunCharge::PerSecond { minimum_seconds: seconds, minimum_amount: Money::from_micros(micros) },
            1 => RunCharge::PerHour,
            _ => RunCharge::HourlyCappedMonthly { monthly_cap: Money::from_micros(micros) },
        };
        let policy = BillingPolicy { run, stopped_percent: percent };
        prop_assert_eq!(BillingPolicy::decode(&policy.encode()), Some(policy));
    }

    #[test]
    fn text_that_is_no_policy_is_refused(text in "\\PC{0,40}") {
        if let Some(policy) = BillingPolicy::decode(&text) {
            prop_assert_eq!(policy.encode(), text);
        }
    }
}
