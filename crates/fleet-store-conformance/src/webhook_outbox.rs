//! The outbox: events taken into deliveries under the subscription's cursor, once each
//! however many processes race; the delivery log a page at a time; retries; how full it
//! is; pruning what is settled.

use std::collections::BTreeSet;
use std::sync::Arc;

use fleet_domain::ids::{DeliveryId, WebhookId};
use fleet_domain::ports::{DeliveryListing, OutboxStats};
use fleet_domain::webhooks::{DeliveryStatus, NewDelivery, Subscription};

use crate::TestedStore;
use crate::fixtures::at;
use crate::tenancy::project;
use crate::webhook_fixtures::{
    added, all_deliveries, claim, claimed, created, delivery, event_delivery, failure, pending,
    recorded, stats, stored, subscription, success, test_delivery,
};

async fn enqueue(
    store: &Arc<dyn TestedStore>,
    webhook: WebhookId,
    from: i64,
    to: i64,
    deliveries: &[NewDelivery],
) -> bool {
    store
        .enqueue_deliveries(webhook, from, to, deliveries)
        .await
        .expect("enqueue_deliveries")
}

/// Taking events moves the cursor from where it is, with their deliveries, pending and due
/// when made; from a cursor that moved on it writes nothing and says so; a delivery stored
/// already (by id, or for the same event) is skipped and keeps what it held; an empty batch
/// moves the cursor; a batch of 500 is stored whole.
pub async fn enqueueing_moves_the_cursor_once_and_stores_each_delivery_once(
    store: Arc<dyn TestedStore>,
) {
    let team = project(&store, "team", at(0)).await;
    let hook = created(
        &store,
        Subscription {
            cursor: 4,
            ..subscription(team.id, 1)
        },
    )
    .await;
    let first = [
        event_delivery(hook.id, 5, 100),
        event_delivery(hook.id, 7, 101),
    ];
    assert!(enqueue(&store, hook.id, 4, 7, &first).await);
    assert_eq!(stored(&store, hook.id).await.cursor, 7);
    for new in &first {
        assert_eq!(delivery(&store, hook.id, new.id).await, Some(pending(new)));
    }

    let late = [
        event_delivery(hook.id, 5, 100),
        event_delivery(hook.id, 6, 100),
    ];
    assert!(
        !enqueue(&store, hook.id, 4, 9, &late).await,
        "the cursor moved on"
    );
    assert_eq!(stored(&store, hook.id).await.cursor, 7);
    assert_eq!(delivery(&store, hook.id, late[1].id).await, None);

    let again = NewDelivery {
        payload: "a second rendering".to_owned(),
        ..first[1].clone()
    };
    let same_event = NewDelivery {
        id: DeliveryId::random(),
        ..first[0].clone()
    };
    let fresh = event_delivery(hook.id, 8, 102);
    let batch = [again, same_event.clone(), fresh.clone()];
    assert!(enqueue(&store, hook.id, 7, 8, &batch).await);
    assert_eq!(
        all_deliveries(&store, hook.id).await,
        [pending(&fresh), pending(&first[1]), pending(&first[0])]
    );
    assert_eq!(delivery(&store, hook.id, same_event.id).await, None);

    assert!(enqueue(&store, hook.id, 8, 12, &[]).await);
    assert_eq!(stored(&store, hook.id).await.cursor, 12);
    let full: Vec<NewDelivery> = (13..513)
        .map(|seq| event_delivery(hook.id, seq, 200))
        .collect();
    assert!(enqueue(&store, hook.id, 12, 512, &full).await);
    assert_eq!(stored(&store, hook.id).await.cursor, 512);
    assert_eq!(all_deliveries(&store, hook.id).await.len(), 503);
    assert_eq!(
        stats(&store).await,
        OutboxStats {
            pending: 503,
            oldest: Some(at(100)),
        }
    );
    assert!(!enqueue(&store, WebhookId::random(), 0, 1, &[]).await);
}

/// Of many processes taking the same events from the same cursor at once, exactly one
/// stores its deliveries and moves the cursor.
pub async fn concurrent_enqueues_from_one_cursor_have_one_winner(store: Arc<dyn TestedStore>) {
    let team = project(&store, "team", at(0)).await;
    let hook = created(&store, subscription(team.id, 1)).await;
    let attempts = (0..8).map(|process| {
        let store = Arc::clone(&store);
        let batch: Vec<NewDelivery> = (1..=10)
            .map(|seq| NewDelivery {
                payload: format!("rendered by process {process}"),
                ..event_delivery(hook.id, seq, 10)
            })
            .collect();
        tokio::spawn(async move {
            let won = store
                .enqueue_deliveries(hook.id, 0, 10, &batch)
                .await
                .expect("enqueue_deliveries");
            won.then_some(process)
        })
    });
    let winners: Vec<usize> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .filter_map(|won| won.expect("an enqueueing task"))
        .collect();
    assert_eq!(winners.len(), 1, "{winners:?}");
    let payloads: BTreeSet<String> = all_deliveries(&store, hook.id)
        .await
        .into_iter()
        .map(|d| d.payload)
        .collect();
    assert_eq!(
        payloads,
        BTreeSet::from([format!("rendered by process {}", winners[0])])
    );
    assert_eq!(stats(&store).await.pending, 10);
    assert_eq!(stored(&store, hook.id).await.cursor, 10);
}

/// A subscription's deliveries come newest first (by creation time, then id, descending),
/// test messages among them, a page at a time; a delivery is found through its own
/// subscription only.
pub async fn deliveries_are_listed_newest_first_a_page_at_a_time(store: Arc<dyn TestedStore>) {
    let team = project(&store, "team", at(0)).await;
    let hook = created(&store, subscription(team.id, 1)).await;
    let other = created(&store, subscription(team.id, 2)).await;
    let oldest = added(&store, test_delivery(hook.id, 10)).await;
    let tied = [
        added(&store, event_delivery(hook.id, 1, 20)).await,
        added(&store, test_delivery(hook.id, 20)).await,
    ];
    let newest = added(&store, test_delivery(hook.id, 30)).await;
    let elsewhere = added(&store, test_delivery(other.id, 25)).await;
    let (high, low) = if tied[0].id > tied[1].id {
        (&tied[0], &tied[1])
    } else {
        (&tied[1], &tied[0])
    };
    let expected = [
        pending(&newest),
        pending(high),
        pending(low),
        pending(&oldest),
    ];
    assert_eq!(all_deliveries(&store, hook.id).await, expected);

    let page = |after: Option<&NewDelivery>| DeliveryListing {
        webhook: hook.id,
        limit: 2,
        after: after.map(|d| (d.created_at, d.id)),
    };
    let first = store.deliveries(&page(None)).await.expect("deliveries");
    assert_eq!(first, expected[..2]);
    let second = store
        .deliveries(&page(Some(high)))
        .await
        .expect("deliveries");
    assert_eq!(second, expected[2..]);
    let none = store
        .deliveries(&page(Some(&oldest)))
        .await
        .expect("deliveries");
    assert_eq!(none, []);

    assert_eq!(
        delivery(&store, other.id, elsewhere.id).await,
        Some(pending(&elsewhere))
    );
    assert_eq!(delivery(&store, hook.id, elsewhere.id).await, None);
    assert_eq!(delivery(&store, other.id, newest.id).await, None);
    assert_eq!(delivery(&store, hook.id, DeliveryId::random()).await, None);
    assert_eq!(all_deliveries(&store, WebhookId::random()).await, []);
}

/// A retry makes a delivery pending and due at the given time, keeping its attempts and
/// their outcome; it leaves a running claim's lease alone, so that claim records its
/// attempt and no other claim takes the delivery meanwhile. A delivery of another
/// subscription, or none, is `None`.
pub async fn a_retry_makes_a_delivery_due_now_and_keeps_its_lease(store: Arc<dyn TestedStore>) {
    let team = project(&store, "team", at(0)).await;
    let hook = created(&store, subscription(team.id, 1)).await;
    let other = created(&store, subscription(team.id, 2)).await;
    let failed = added(&store, test_delivery(hook.id, 10)).await;
    let in_flight = added(&store, test_delivery(hook.id, 20)).await;
    let taken = claimed(&store, &claim(100, 10, 10, vec![])).await;
    assert_eq!(taken.len(), 2);
    recorded(&store, &failure(&taken[0], 30, DeliveryStatus::Failed)).await;
    let before = delivery(&store, hook.id, failed.id).await.expect("stored");
    assert_eq!(before.status, DeliveryStatus::Failed);

    let retried = store
        .retry_delivery(hook.id, failed.id, at(500))
        .await
        .expect("retry_delivery");
    let expected = fleet_domain::webhooks::Delivery {
        status: DeliveryStatus::Pending,
        next_attempt_at: Some(at(500)),
        ..before
    };
    assert_eq!(retried, Some(expected.clone()));
    assert_eq!(delivery(&store, hook.id, failed.id).await, Some(expected));
    for (webhook, id) in [(other.id, failed.id), (hook.id, DeliveryId::random())] {
        let missing = store.retry_delivery(webhook, id, at(500)).await;
        assert_eq!(missing.expect("retry_delivery"), None);
    }

    let retried_in_flight = store
        .retry_delivery(hook.id, in_flight.id, at(500))
        .await
        .expect("retry_delivery");
    assert_eq!(
        retried_in_flight.map(|d| d.status),
        Some(DeliveryStatus::Pending)
    );
    let again = claimed(&store, &claim(600, 10, 10, vec![])).await;
    assert_eq!(
        again.iter().map(|c| c.delivery.id).collect::<Vec<_>>(),
        [failed.id],
        "the delivery in flight is still held by its claim"
    );
    recorded(&store, &success(&taken[1], 40)).await;
}

/// The outbox's fullness counts pending deliveries of enabled subscriptions (claimed or
/// not), and the oldest of them.
pub async fn outbox_stats_count_pending_deliveries_of_enabled_webhooks(
    store: Arc<dyn TestedStore>,
) {
    assert_eq!(stats(&store).await, OutboxStats::default());
    let team = project(&store, "team", at(0)).await;
    let on = created(&store, subscription(team.id, 1)).await;
    let off = created(
        &store,
        Subscription {
            enabled: false,
            ..subscription(team.id, 2)
        },
    )
    .await;
    added(&store, test_delivery(off.id, 5)).await;
    for seconds in [10, 20, 30] {
        added(&store, test_delivery(on.id, seconds)).await;
    }
    assert_eq!(
        stats(&store).await,
        OutboxStats {
            pending: 3,
            oldest: Some(at(10)),
        }
    );
    let taken = claimed(&store, &claim(100, 1, 1, vec![])).await;
    recorded(&store, &success(&taken[0], 40)).await;
    claimed(&store, &claim(100, 1, 1, vec![])).await;
    assert_eq!(
        stats(&store).await,
        OutboxStats {
            pending: 2,
            oldest: Some(at(20)),
        }
    );
}

/// Pruning deletes settled deliveries (succeeded or failed) made before the given time, at
/// most the limit at a time, and never a pending one.
pub async fn pruning_deletes_settled_deliveries_made_before_a_time_in_batches(
    store: Arc<dyn TestedStore>,
) {
    let team = project(&store, "team", at(0)).await;
    let hook = created(&store, subscription(team.id, 1)).await;
    let waiting = added(&store, test_delivery(hook.id, 5)).await;
    let outcomes = [
        (10, DeliveryStatus::Succeeded),
        (20, DeliveryStatus::Failed),
        (30, DeliveryStatus::Succeeded),
        (100, DeliveryStatus::Succeeded),
    ];
    let mut recent = None;
    for (seconds, _) in outcomes {
        recent = Some(added(&store, test_delivery(hook.id, seconds)).await);
    }
    let taken = claimed(&store, &claim(1_000, 10, 10, vec![])).await;
    assert_eq!(taken[0].delivery.id, waiting.id);
    for (claimed, (_, status)) in taken[1..].iter().zip(outcomes) {
        let record = match status {
            DeliveryStatus::Succeeded => success(claimed, 200),
            _ => failure(claimed, 200, status),
        };
        recorded(&store, &record).await;
    }

    let mut batches = Vec::new();
    loop {
        let deleted = store
            .prune_deliveries(at(50), 2)
            .await
            .expect("prune_deliveries");
        if deleted == 0 {
            break;
        }
        batches.push(deleted);
    }
    assert_eq!(batches, [2, 1]);
    let left: Vec<DeliveryId> = all_deliveries(&store, hook.id)
        .await
        .iter()
        .map(|d| d.id)
        .collect();
    let recent = recent.expect("a recent delivery");
    assert_eq!(left, [recent.id, waiting.id]);
}
