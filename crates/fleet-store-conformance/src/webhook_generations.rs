//! Lost updates: a subscription's update is written only over the generation it was read
//! at, so neither another update nor an attempt that changed the subscription since (its
//! failing time, or disabling it) is undone by one made from an earlier read; and a test
//! message to a subscription deleted since it was read is refused, not an error.

use std::sync::Arc;

use fleet_domain::ids::WebhookId;
use fleet_domain::ports::WebhookWrite;
use fleet_domain::webhooks::{AttemptRecord, DeliveryStatus, Subscription, WebhookHealth};

use crate::TestedStore;
use crate::fixtures::at;
use crate::tenancy::project;
use crate::webhook_fixtures::{
    added, all_deliveries, claim, claimed, created, failure, recorded, secret, stored,
    subscription, test_delivery,
};

async fn update(store: &Arc<dyn TestedStore>, webhook: &Subscription, moved: bool) -> WebhookWrite {
    store
        .update_webhook(webhook, moved)
        .await
        .expect("update_webhook")
}

/// An update from a read the subscription was written after (by another update) writes
/// nothing and is `Stale`, moved or not; made again from a new read, it is written.
pub async fn a_stale_update_writes_nothing_and_reports_stale(store: Arc<dyn TestedStore>) {
    let team = project(&store, "team", at(0)).await;
    let read = created(&store, subscription(team.id, 1)).await;
    let rotated = Subscription {
        secrets: read.secrets.rotated(secret(), at(10)),
        updated_at: at(10),
        ..read.clone()
    };
    assert_eq!(update(&store, &rotated, false).await, WebhookWrite::Done);
    let after_rotation = Subscription {
        generation: 1,
        ..rotated
    };
    assert_eq!(stored(&store, read.id).await, after_rotation);

    // A second rotation, and a re-enabling move, from the same first read.
    let lost = Subscription {
        secrets: read.secrets.rotated(secret(), at(11)),
        enabled: false,
        updated_at: at(11),
        ..read.clone()
    };
    let moved = Subscription {
        cursor: 50,
        failing_since: Some(at(11)),
        ..lost.clone()
    };
    assert_eq!(update(&store, &lost, false).await, WebhookWrite::Stale);
    assert_eq!(update(&store, &moved, true).await, WebhookWrite::Stale);
    assert_eq!(
        stored(&store, read.id).await,
        after_rotation,
        "a stale update writes nothing: the first rotation's secret stays"
    );

    let again = Subscription {
        secrets: after_rotation.secrets.rotated(secret(), at(12)),
        updated_at: at(12),
        ..after_rotation.clone()
    };
    assert_eq!(update(&store, &again, false).await, WebhookWrite::Done);
    assert_eq!(
        stored(&store, read.id).await,
        Subscription {
            generation: 2,
            ..again.clone()
        }
    );
    assert_eq!(
        update(&store, &again, false).await,
        WebhookWrite::Stale,
        "the same write twice: the second is stale"
    );

    let unknown = Subscription {
        id: WebhookId::random(),
        ..again
    };
    assert_eq!(update(&store, &unknown, false).await, WebhookWrite::Missing);
}

/// An attempt that disables the subscription (with its reason and time), or that starts
/// its failing time, makes an update from a read before it `Stale`: the update cannot
/// re-enable it, nor clear the reason or the failing time, without reading them.
pub async fn a_disable_by_an_attempt_makes_an_update_from_an_earlier_read_stale(
    store: Arc<dyn TestedStore>,
) {
    let team = project(&store, "team", at(0)).await;
    let read = created(&store, subscription(team.id, 1)).await;
    added(&store, test_delivery(read.id, 10)).await;
    added(&store, test_delivery(read.id, 20)).await;
    let taken = claimed(&store, &claim(100, 10, 10, vec![])).await;
    assert_eq!(taken.len(), 2);

    // A client's change of the description, from the first read.
    let described = Subscription {
        description: "releases".to_owned(),
        updated_at: at(30),
        ..read.clone()
    };
    recorded(&store, &failure(&taken[0], 25, DeliveryStatus::Pending)).await;
    let failing = stored(&store, read.id).await;
    assert_eq!(
        (failing.failing_since, failing.generation),
        (Some(at(25)), 1)
    );
    assert_eq!(
        update(&store, &described, false).await,
        WebhookWrite::Stale,
        "the failing time was written since the read"
    );

    let gone = "the receiver answered 410 Gone".to_owned();
    let disabling = AttemptRecord {
        response_status: Some(410),
        health: WebhookHealth::Disable(gone.clone()),
        ..failure(&taken[1], 40, DeliveryStatus::Failed)
    };
    recorded(&store, &disabling).await;
    let disabled = Subscription {
        enabled: false,
        disabled_reason: Some(gone),
        updated_at: at(40),
        generation: 2,
        ..failing.clone()
    };
    assert_eq!(stored(&store, read.id).await, disabled);

    let from_failing = Subscription {
        description: "releases".to_owned(),
        updated_at: at(50),
        ..failing
    };
    for (old, moved) in [(&described, false), (&from_failing, false), (&read, true)] {
        assert_eq!(update(&store, old, moved).await, WebhookWrite::Stale);
    }
    assert_eq!(
        stored(&store, read.id).await,
        disabled,
        "still disabled, with its reason: no update from an earlier read undid it"
    );

    let from_now = Subscription {
        description: "releases".to_owned(),
        updated_at: at(50),
        ..disabled.clone()
    };
    assert_eq!(update(&store, &from_now, false).await, WebhookWrite::Done);
    assert_eq!(
        stored(&store, read.id).await,
        Subscription {
            generation: 3,
            ..from_now
        }
    );
}

/// Of several updates at once from one read, exactly one is written; the others are
/// `Stale` and write nothing.
pub async fn concurrent_updates_from_one_read_have_one_winner(store: Arc<dyn TestedStore>) {
    let team = project(&store, "team", at(0)).await;
    let read = created(&store, subscription(team.id, 1)).await;
    let writers = (0..6).map(|n| {
        let store = Arc::clone(&store);
        let webhook = Subscription {
            description: format!("writer {n}"),
            secrets: read.secrets.rotated(secret(), at(10 + n)),
            ..read.clone()
        };
        tokio::spawn(async move {
            let write = update(&store, &webhook, false).await;
            (webhook, write)
        })
    });
    let results: Vec<(Subscription, WebhookWrite)> = futures::future::join_all(writers)
        .await
        .into_iter()
        .map(|writer| writer.expect("a writing task"))
        .collect();
    let winners: Vec<&Subscription> = results
        .iter()
        .filter(|(_, write)| *write == WebhookWrite::Done)
        .map(|(webhook, _)| webhook)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|(_, write)| matches!(write, WebhookWrite::Done | WebhookWrite::Stale)),
        "{results:?}"
    );
    assert_eq!(
        stored(&store, read.id).await,
        Subscription {
            generation: 1,
            ..winners[0].clone()
        }
    );
}

/// A delivery added to a subscription that does not exist, or no longer does, is refused
/// with `false` and stores nothing; to one that exists, it is `true`.
pub async fn adding_a_delivery_to_a_missing_webhook_returns_false(store: Arc<dyn TestedStore>) {
    let team = project(&store, "team", at(0)).await;
    let never = test_delivery(WebhookId::random(), 5);
    assert!(!store.add_delivery(&never).await.expect("add_delivery"));

    let doomed = created(&store, subscription(team.id, 1)).await;
    added(&store, test_delivery(doomed.id, 10)).await;
    assert!(
        store
            .delete_webhook(doomed.id)
            .await
            .expect("delete_webhook")
    );
    let late = test_delivery(doomed.id, 20);
    assert!(!store.add_delivery(&late).await.expect("add_delivery"));
    assert_eq!(all_deliveries(&store, doomed.id).await, []);
    assert_eq!(
        store.delivery(doomed.id, late.id).await.expect("delivery"),
        None
    );
    assert_eq!(store.outbox_stats().await.expect("outbox_stats").pending, 0);
}
