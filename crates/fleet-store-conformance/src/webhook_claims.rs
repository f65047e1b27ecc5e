//! Claims and attempts: due deliveries of enabled subscriptions claimed earliest first
//! within the claim's limits, held under a lease on the store's clock, never taken twice at
//! once however many claim together, and attempts recorded only under their lease, with
//! what they do to their subscription.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use fleet_domain::ids::DeliveryId;
use fleet_domain::ports::DeliveryClaim;
use fleet_domain::webhooks::{
    AttemptRecord, ClaimedDelivery, Delivery, DeliveryStatus, NewDelivery, SigningSecrets,
    Subscription, WebhookHealth,
};

use crate::TestedStore;
use crate::fixtures::at;
use crate::tenancy::project;
use crate::webhook_fixtures::{
    added, claim, claimed, claimed_ids, created, delivery, failure, pending, recorded, secret,
    stored, subscription, success, test_delivery,
};

/// What a claim of `new` under `claim` hands over, `webhook` being its subscription.
fn handed_over(
    new: &NewDelivery,
    webhook: &Subscription,
    claim: &DeliveryClaim,
) -> ClaimedDelivery {
    ClaimedDelivery {
        delivery: pending(new),
        url: webhook.url.clone(),
        secrets: webhook.secrets.clone(),
        failing_since: webhook.failing_since,
        lease: claim.token,
    }
}

/// A claim takes the pending deliveries due by its time, of enabled subscriptions only,
/// earliest due first, each with its subscription's URL, secrets and failing time and the
/// claim's lease; what it took is not claimed again while the lease runs.
pub async fn claims_take_due_deliveries_of_enabled_webhooks_earliest_first(
    store: Arc<dyn TestedStore>,
) {
    let team = project(&store, "team", at(0)).await;
    let failing = created(
        &store,
        Subscription {
            failing_since: Some(at(3)),
            secrets: SigningSecrets {
                current: secret(),
                previous: Some((secret(), at(90_000))),
            },
            ..subscription(team.id, 1)
        },
    )
    .await;
    let healthy = created(&store, subscription(team.id, 2)).await;
    let disabled = created(
        &store,
        Subscription {
            enabled: false,
            ..subscription(team.id, 3)
        },
    )
    .await;
    added(&store, test_delivery(disabled.id, 5)).await;
    let mut due = Vec::new();
    for (webhook, seconds) in [
        (&failing, 40),
        (&healthy, 25),
        (&failing, 10),
        (&failing, 30),
        (&healthy, 15),
    ] {
        due.push((
            added(&store, test_delivery(webhook.id, seconds)).await,
            webhook,
        ));
    }
    let later = added(&store, test_delivery(failing.id, 1_000)).await;
    due.sort_by_key(|(d, _)| d.created_at);

    let first = claim(100, 10, 10, vec![]);
    let expected: Vec<ClaimedDelivery> = due
        .iter()
        .map(|(new, webhook)| handed_over(new, webhook, &first))
        .collect();
    assert_eq!(claimed(&store, &first).await, expected);

    let second = claim(2_000, 10, 10, vec![]);
    assert_eq!(
        claimed(&store, &second).await,
        [handed_over(&later, &failing, &second)],
        "the others are held by the first claim"
    );
    assert_eq!(claimed(&store, &claim(2_000, 10, 10, vec![])).await, []);
}

/// A claim takes no delivery of the subscriptions it skips, at most `per_webhook` of one
/// subscription, and at most `limit` in all, earliest due first.
pub async fn claims_honour_skip_per_webhook_and_limit(store: Arc<dyn TestedStore>) {
    let team = project(&store, "team", at(0)).await;
    let [a, b, c] = [
        created(&store, subscription(team.id, 1)).await,
        created(&store, subscription(team.id, 2)).await,
        created(&store, subscription(team.id, 3)).await,
    ];
    let mut ids = Vec::new();
    for (webhook, seconds) in [
        (&a, 1),
        (&a, 2),
        (&a, 3),
        (&b, 4),
        (&b, 5),
        (&b, 6),
        (&c, 7),
    ] {
        ids.push(added(&store, test_delivery(webhook.id, seconds)).await.id);
    }
    ids.push(added(&store, test_delivery(c.id, 8)).await.id);
    ids.push(added(&store, test_delivery(c.id, 9)).await.id);
    let [a1, a2, a3, b4, b5, b6, c7, c8, c9] = ids[..] else {
        panic!("nine deliveries");
    };

    let skipping_a = claimed(&store, &claim(100, 3, 2, vec![a.id])).await;
    assert_eq!(claimed_ids(&skipping_a), [b4, b5, c7]);
    let one_each = claimed(&store, &claim(100, 10, 1, vec![])).await;
    assert_eq!(claimed_ids(&one_each), [a1, b6, c8]);
    let next = claimed(&store, &claim(100, 10, 1, vec![])).await;
    assert_eq!(claimed_ids(&next), [a2, c9]);
    let last = claimed(&store, &claim(100, 10, 1, vec![])).await;
    assert_eq!(claimed_ids(&last), [a3]);
    assert_eq!(claimed(&store, &claim(100, 10, 1, vec![])).await, []);
}

/// A claim holds what it took for its lease, on the store's clock; once the lease has run
/// out another claim takes the delivery, and only the newer lease records the attempt.
pub async fn a_claim_holds_its_lease_until_it_runs_out(store: Arc<dyn TestedStore>) {
    let team = project(&store, "team", at(0)).await;
    let hook = created(&store, subscription(team.id, 1)).await;
    let new = added(&store, test_delivery(hook.id, 10)).await;
    let short = |seconds: u64| DeliveryClaim {
        lease: Duration::from_secs(seconds),
        ..claim(100, 10, 10, vec![])
    };
    let first = claimed(&store, &short(1)).await;
    assert_eq!(claimed_ids(&first), [new.id]);
    assert_eq!(claimed(&store, &short(1)).await, [], "the lease runs");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let second = claimed(&store, &short(60)).await;
    assert_eq!(claimed_ids(&second), [new.id], "the lease ran out");
    assert_ne!(second[0].lease, first[0].lease);

    let stale = success(&first[0], 20);
    assert!(!store.record_attempt(&stale).await.expect("record_attempt"));
    assert_eq!(delivery(&store, hook.id, new.id).await, Some(pending(&new)));
    recorded(&store, &success(&second[0], 21)).await;
}

/// An attempt is recorded only under the lease it was made under, once, and writes the
/// delivery's new state and clears its lease; it leaves its subscription failing since the
/// first failure, heals it on a success, and disables it, with the reason and the time,
/// when asked. Each change of the subscription moves its generation on; an attempt that
/// changes nothing of it leaves it.
pub async fn recording_needs_the_lease_and_writes_the_attempt_and_the_health(
    store: Arc<dyn TestedStore>,
) {
    let team = project(&store, "team", at(0)).await;
    let hook = created(&store, subscription(team.id, 1)).await;
    let retried = added(&store, test_delivery(hook.id, 10)).await;
    let delivered = added(&store, test_delivery(hook.id, 20)).await;
    let taken = claimed(&store, &claim(100, 10, 10, vec![])).await;
    assert_eq!(claimed_ids(&taken), [retried.id, delivered.id]);

    let unavailable = AttemptRecord {
        attempts: 1,
        response_status: Some(503),
        latency_ms: 120,
        ..failure(&taken[0], 15, DeliveryStatus::Pending)
    };
    let forged = AttemptRecord {
        lease: crate::webhook_fixtures::token(),
        ..unavailable.clone()
    };
    assert!(!store.record_attempt(&forged).await.expect("record_attempt"));
    assert_eq!(
        delivery(&store, hook.id, retried.id).await,
        Some(pending(&retried))
    );
    assert_eq!(stored(&store, hook.id).await, hook);

    recorded(&store, &unavailable).await;
    let after_one = Delivery {
        attempts: 1,
        next_attempt_at: Some(at(315)),
        last_attempt_at: Some(at(15)),
        last_status: Some(503),
        last_latency_ms: Some(120),
        ..pending(&retried)
    };
    assert_eq!(
        delivery(&store, hook.id, retried.id).await,
        Some(after_one.clone())
    );
    let failing = stored(&store, hook.id).await;
    assert_eq!(
        (failing.failing_since, failing.generation),
        (Some(at(15)), 1)
    );
    assert!(
        !store
            .record_attempt(&unavailable)
            .await
            .expect("record_attempt"),
        "recording cleared the lease"
    );

    let retry = claimed(&store, &claim(400, 10, 10, vec![])).await;
    assert_eq!(claimed_ids(&retry), [retried.id]);
    assert_eq!(retry[0].delivery, after_one);
    assert_eq!(retry[0].failing_since, Some(at(15)));
    let refused = AttemptRecord {
        attempts: 2,
        next_attempt_at: Some(at(2_000)),
        response_status: None,
        error: Some("connection refused".to_owned()),
        health: WebhookHealth::Failing(at(330)),
        ..failure(&retry[0], 330, DeliveryStatus::Pending)
    };
    recorded(&store, &refused).await;
    let read = delivery(&store, hook.id, retried.id).await.expect("stored");
    assert_eq!(
        (read.last_status, read.last_error.as_deref()),
        (None, Some("connection refused"))
    );
    assert_eq!(
        stored(&store, hook.id).await,
        failing,
        "failing since the first failure, and not written again"
    );

    recorded(&store, &success(&taken[1], 340)).await;
    let healed = stored(&store, hook.id).await;
    assert_eq!((healed.failing_since, healed.generation), (None, 2));
    let settled = delivery(&store, hook.id, delivered.id)
        .await
        .expect("stored");
    assert_eq!(
        (settled.status, settled.next_attempt_at, settled.last_status),
        (DeliveryStatus::Succeeded, None, Some(204))
    );

    let last = claimed(&store, &claim(2_000, 10, 10, vec![])).await;
    let gone = "the receiver answered 410 Gone".to_owned();
    let disabling = AttemptRecord {
        response_status: Some(410),
        health: WebhookHealth::Disable(gone.clone()),
        ..failure(&last[0], 2_000, DeliveryStatus::Failed)
    };
    recorded(&store, &disabling).await;
    let disabled = stored(&store, hook.id).await;
    assert_eq!(
        disabled,
        Subscription {
            enabled: false,
            disabled_reason: Some(gone),
            updated_at: at(2_000),
            generation: 3,
            ..healed
        }
    );
    added(&store, test_delivery(hook.id, 2_001)).await;
    assert_eq!(claimed(&store, &claim(3_000, 10, 10, vec![])).await, []);
}

/// Four claims at once over 50 due deliveries, each claiming again until nothing is left,
/// take every delivery exactly once.
pub async fn concurrent_claims_never_take_a_delivery_twice(store: Arc<dyn TestedStore>) {
    let team = project(&store, "team", at(0)).await;
    let mut all = BTreeSet::new();
    for n in 0..5 {
        let hook = created(&store, subscription(team.id, n)).await;
        for seconds in 0..10 {
            all.insert(added(&store, test_delivery(hook.id, seconds)).await.id);
        }
    }
    let claimers = (0..4).map(|_| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let mut taken: Vec<DeliveryId> = Vec::new();
            loop {
                let batch = store
                    .claim_deliveries(&claim(100, 7, 3, vec![]))
                    .await
                    .expect("claim_deliveries");
                if batch.is_empty() {
                    return taken;
                }
                taken.extend(claimed_ids(&batch));
            }
        })
    });
    let taken: Vec<DeliveryId> = futures::future::join_all(claimers)
        .await
        .into_iter()
        .flat_map(|claimer| claimer.expect("a claiming task"))
        .collect();
    let distinct: BTreeSet<DeliveryId> = taken.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        taken.len(),
        "a delivery claimed twice: {taken:?}"
    );
    assert_eq!(distinct, all);
}
