//! What the workers and metrics read: earliest due work, pool use, state counts, health.

use std::collections::BTreeMap;
use std::sync::Arc;

use fleet_domain::Action;
use fleet_domain::ports::EarliestDue;

use crate::TestedStore;
use crate::fixtures::{act, at, complete, pools, provision, running, stopped};

/// The earliest transition due and the oldest stop of a server still stopped.
pub async fn earliest_due_reports_each_kind_of_work(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    assert_eq!(
        store.earliest_due().await.expect("earliest_due"),
        EarliestDue::default(),
        "an empty store has no work"
    );
    let restarted = {
        let server = stopped(&store, "lab-a", at(-1000)).await;
        let starting = act(&store, &server, Action::Start, at(-900)).await;
        complete(&store, &starting).await
    };
    assert_eq!(restarted.billed_until, Some(at(-895)));
    running(&store, "lab-a", at(0)).await;
    provision(&store, "lab-a", at(50)).await;
    provision(&store, "lab-a", at(70)).await;
    stopped(&store, "lab-a", at(100)).await;
    stopped(&store, "lab-a", at(200)).await;
    assert_eq!(
        store.earliest_due().await.expect("earliest_due"),
        EarliestDue {
            transition: Some(at(60)),
            stopped: Some(at(120)),
            fault: None,
        }
    );
}

/// Pool usage counts terminating servers as holding their address, terminated ones not.
pub async fn pool_usage_counts_allocated_and_free(store: Arc<dyn TestedStore>) {
    pools(
        &store,
        &[("lab-a", "10.10.0.0/29"), ("lab-b", "10.20.0.0/24")],
    )
    .await;
    let a = provision(&store, "lab-a", at(0)).await;
    let b = provision(&store, "lab-a", at(1)).await;
    provision(&store, "lab-a", at(2)).await;
    provision(&store, "lab-b", at(3)).await;
    let terminating = act(&store, &a, Action::Terminate, at(4)).await;
    act(&store, &b, Action::Terminate, at(4)).await;
    complete(&store, &terminating).await;
    let mut usage = store.pool_usage().await.expect("pool_usage");
    usage.sort_by(|x, y| x.region.cmp(&y.region));
    let counts: Vec<(&str, u64, u64)> = usage
        .iter()
        .map(|u| (u.region.as_str(), u.allocated, u.free))
        .collect();
    assert_eq!(counts, vec![("lab-a", 2, 4), ("lab-b", 1, 253)]);
}

/// Counts per state match the servers stored.
pub async fn count_by_state_counts_every_state(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.10.0.0/24")]).await;
    provision(&store, "lab-a", at(0)).await;
    provision(&store, "lab-a", at(1)).await;
    let up = running(&store, "lab-a", at(2)).await;
    act(&store, &up, Action::Stop, at(30)).await;
    running(&store, "lab-a", at(3)).await;
    stopped(&store, "lab-a", at(4)).await;
    let doomed = running(&store, "lab-a", at(5)).await;
    let terminating = act(&store, &doomed, Action::Terminate, at(40)).await;
    complete(&store, &terminating).await;
    let counts: BTreeMap<&str, i64> = store
        .count_by_state()
        .await
        .expect("count_by_state")
        .into_iter()
        .filter(|(_, n)| *n != 0)
        .map(|(state, n)| (state.as_str(), n))
        .collect();
    let expected: BTreeMap<&str, i64> = [
        ("provisioning", 2),
        ("running", 1),
        ("stopping", 1),
        ("stopped", 1),
        ("terminated", 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(counts, expected);
}

/// A healthy, migrated store answers a ping.
pub async fn ping_answers(store: Arc<dyn TestedStore>) {
    store.ping().await.expect("ping");
}
