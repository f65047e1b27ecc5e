use std::sync::{Arc, Mutex};

use chrono::TimeDelta;

use super::*;
use crate::ports::{MockClock, MockCostStore};
use crate::testing::t0;

/// The ranges the store was asked to sum, in order.
type Asked = Arc<Mutex<Vec<(DateTime<Utc>, DateTime<Utc>)>>>;

fn service(now: DateTime<Utc>) -> (CostService, Asked) {
    let asked: Asked = Arc::default();
    let seen = asked.clone();
    let mut store = MockCostStore::new();
    store
        .expect_hourly_costs()
        .returning(move |_, from, to, _| {
            seen.lock().expect("lock").push((from, to));
            Ok(Vec::new())
        });
    store.expect_open_billing().returning(|_, _| Ok(Vec::new()));
    let mut clock = MockClock::new();
    clock.expect_now().return_const(now);
    (CostService::new(Arc::new(store), Arc::new(clock)), asked)
}

#[tokio::test]
async fn a_range_ending_mid_hour_reads_its_whole_hours_apart_from_the_rest() {
    let now = t0() + TimeDelta::days(3) + TimeDelta::minutes(25);
    let last_hour = t0() + TimeDelta::days(3);
    let (costs, asked) = service(now);
    costs
        .month_so_far(ProjectId::DEFAULT, None, now)
        .await
        .expect("the month");
    assert_eq!(
        *asked.lock().expect("lock"),
        vec![(t0(), last_hour), (last_hour, now)],
        "whole hours for the rollups, then the last hour's part"
    );

    let (costs, asked) = service(now);
    let team = crate::selector::Selector::parse("team=a").expect("a selector");
    costs
        .month_so_far(ProjectId::DEFAULT, Some(&team), now)
        .await
        .expect("the month");
    assert_eq!(
        *asked.lock().expect("lock"),
        vec![(t0(), now)],
        "by label: the records, in one read"
    );
}
