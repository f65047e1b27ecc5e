//! Webhook subscriptions: kept as made, listed by project a page at a time, changed with or
//! without their cursor, deleted with their deliveries (and with their project), and holding
//! back the pruning of the events they have not taken yet.

use std::sync::Arc;

use fleet_domain::event::EventType;
use fleet_domain::ids::{ProjectId, WebhookId};
use fleet_domain::ports::{ProjectDeletion, WebhookListing, WebhookWrite};
use fleet_domain::selector::Selector;
use fleet_domain::webhooks::{SigningSecrets, Subscription, WebhookFilter};

use crate::TestedStore;
use crate::fixtures::{at, pools, running};
use crate::sequence::sequenced;
use crate::tenancy::project;
use crate::webhook_fixtures::{
    added, all_deliveries, created, delivery, event_delivery, pending, secret, stats, stored,
    subscription, test_delivery,
};

fn listing(project: Option<ProjectId>, limit: u32, after: Option<&Subscription>) -> WebhookListing {
    WebhookListing {
        project,
        limit,
        after: after.map(|w| (w.created_at, w.id)),
    }
}

async fn listed(store: &Arc<dyn TestedStore>, listing: WebhookListing) -> Vec<WebhookId> {
    let webhooks = store.webhooks(&listing).await.expect("webhooks");
    webhooks.iter().map(|w| w.id).collect()
}

/// A subscription reads back as made, whatever it holds; lists are oldest first (by
/// creation time, then id), a project's or every one, a page at a time; counts are per
/// project; the outbox sees the enabled ones only.
pub async fn webhooks_are_stored_listed_by_project_and_paged(store: Arc<dyn TestedStore>) {
    let team = project(&store, "team", at(0)).await;
    let other = project(&store, "other", at(0)).await;
    let first = created(&store, subscription(team.id, 1)).await;
    let rotated = created(
        &store,
        Subscription {
            filter: WebhookFilter::default(),
            enabled: false,
            disabled_reason: Some("the receiver answered 410 Gone".to_owned()),
            secrets: SigningSecrets {
                current: secret(),
                previous: Some((secret(), at(86_402))),
            },
            cursor: 42,
            failing_since: Some(at(2)),
            ..subscription(team.id, 2)
        },
    )
    .await;
    let theirs = created(&store, subscription(other.id, 3)).await;
    let twin = created(&store, subscription(team.id, 1)).await;
    for webhook in [&first, &rotated, &theirs, &twin] {
        assert_eq!(&stored(&store, webhook.id).await, webhook);
    }
    assert_eq!(
        store.webhook(WebhookId::random()).await.expect("webhook"),
        None
    );

    let mut same_time = [first.id, twin.id];
    same_time.sort();
    let [a, b] = same_time;
    assert_eq!(
        listed(&store, listing(None, 10, None)).await,
        [a, b, rotated.id, theirs.id]
    );
    assert_eq!(
        listed(&store, listing(Some(team.id), 10, None)).await,
        [a, b, rotated.id]
    );
    assert_eq!(
        listed(&store, listing(Some(other.id), 10, None)).await,
        [theirs.id]
    );
    let page = store
        .webhooks(&listing(Some(team.id), 2, None))
        .await
        .expect("webhooks");
    assert_eq!(page.iter().map(|w| w.id).collect::<Vec<_>>(), [a, b]);
    assert_eq!(
        listed(&store, listing(Some(team.id), 2, page.last())).await,
        [rotated.id]
    );
    assert_eq!(
        listed(&store, listing(None, 10, Some(&rotated))).await,
        [theirs.id]
    );

    for (project, count) in [(team.id, 3), (other.id, 1), (ProjectId::random(), 0)] {
        assert_eq!(store.count_webhooks(project).await.expect("count"), count);
    }
    let mut enabled: Vec<WebhookId> = store
        .enabled_webhooks()
        .await
        .expect("enabled_webhooks")
        .iter()
        .map(|w| w.id)
        .collect();
    enabled.sort();
    let mut expected = vec![first.id, twin.id, theirs.id];
    expected.sort();
    assert_eq!(enabled, expected);
}

/// An update writes what a client or a rotation changes, and the cursor and the failing
/// time only when the subscription moved (re-enabled), and moves the generation one on; an
/// unknown subscription is `Missing`.
pub async fn an_update_writes_the_cursor_and_failing_time_only_when_moved(
    store: Arc<dyn TestedStore>,
) {
    let team = project(&store, "team", at(0)).await;
    let original = created(
        &store,
        Subscription {
            cursor: 10,
            failing_since: Some(at(5)),
            ..subscription(team.id, 1)
        },
    )
    .await;
    let changed = Subscription {
        url: "https://other.example.com/hook".to_owned(),
        description: String::new(),
        filter: WebhookFilter::default(),
        enabled: false,
        disabled_reason: Some("every delivery failed for 5 days".to_owned()),
        secrets: original.secrets.rotated(secret(), at(50)),
        cursor: 99,
        failing_since: None,
        updated_at: at(50),
        ..original.clone()
    };
    assert_eq!(
        store.update_webhook(&changed, false).await.expect("update"),
        WebhookWrite::Done
    );
    assert_eq!(
        stored(&store, original.id).await,
        Subscription {
            cursor: 10,
            failing_since: Some(at(5)),
            generation: 1,
            ..changed.clone()
        },
        "without a move the cursor and the failing time stay"
    );

    let selector = "tier=web";
    let moved = Subscription {
        filter: WebhookFilter {
            types: vec![EventType::ServerBilled],
            selector_text: Some(selector.to_owned()),
            selector: Some(Selector::parse(selector).expect("a valid selector")),
        },
        enabled: true,
        disabled_reason: None,
        cursor: 120,
        failing_since: None,
        updated_at: at(60),
        generation: 1,
        ..changed
    };
    assert_eq!(
        store.update_webhook(&moved, true).await.expect("update"),
        WebhookWrite::Done
    );
    assert_eq!(
        stored(&store, original.id).await,
        Subscription {
            generation: 2,
            ..moved.clone()
        }
    );

    let unknown = Subscription {
        id: WebhookId::random(),
        ..moved
    };
    for with_move in [false, true] {
        assert_eq!(
            store
                .update_webhook(&unknown, with_move)
                .await
                .expect("update"),
            WebhookWrite::Missing
        );
    }
    assert_eq!(store.webhook(unknown.id).await.expect("webhook"), None);
}

/// Deleting a subscription deletes its deliveries and nothing else; deleting it again is
/// `false`. Deleting a project deletes its subscriptions and their deliveries.
pub async fn deleting_a_webhook_deletes_its_deliveries_and_a_project_its_webhooks(
    store: Arc<dyn TestedStore>,
) {
    let team = project(&store, "team", at(0)).await;
    let doomed = created(&store, subscription(team.id, 1)).await;
    let kept = created(&store, subscription(team.id, 2)).await;
    let gone = added(&store, event_delivery(doomed.id, 1, 10)).await;
    added(&store, test_delivery(doomed.id, 11)).await;
    let stays = [
        added(&store, event_delivery(kept.id, 1, 10)).await,
        added(&store, test_delivery(kept.id, 11)).await,
    ];
    assert!(
        store
            .delete_webhook(doomed.id)
            .await
            .expect("delete_webhook")
    );
    assert!(
        !store
            .delete_webhook(doomed.id)
            .await
            .expect("delete_webhook")
    );
    assert_eq!(store.webhook(doomed.id).await.expect("webhook"), None);
    assert_eq!(all_deliveries(&store, doomed.id).await, []);
    assert_eq!(delivery(&store, doomed.id, gone.id).await, None);
    assert_eq!(
        all_deliveries(&store, kept.id).await,
        [pending(&stays[1]), pending(&stays[0])]
    );

    let leaving = project(&store, "leaving", at(0)).await;
    let hook = created(&store, subscription(leaving.id, 3)).await;
    let orphan = added(&store, event_delivery(hook.id, 1, 12)).await;
    assert_eq!(
        store
            .delete_project(leaving.id)
            .await
            .expect("delete_project"),
        ProjectDeletion::Deleted
    );
    assert_eq!(store.webhook(hook.id).await.expect("webhook"), None);
    assert_eq!(store.count_webhooks(leaving.id).await.expect("count"), 0);
    assert_eq!(delivery(&store, hook.id, orphan.id).await, None);
    assert_eq!(
        stats(&store).await.pending,
        2,
        "the kept subscription's two"
    );
    assert_eq!(stored(&store, kept.id).await, kept);
}

/// Pruning never deletes an event after the lowest cursor of the enabled subscriptions (a
/// disabled one holds nothing back); moving or disabling the subscription that held them
/// lets them go.
pub async fn events_after_the_lowest_enabled_cursor_are_not_pruned(store: Arc<dyn TestedStore>) {
    pools(&store, &[("lab-a", "10.30.0.0/24")]).await;
    let start = store.horizon().await.expect("horizon").latest;
    for seconds in [0, 1, 2] {
        running(&store, "lab-a", at(seconds)).await;
    }
    let events = sequenced(&store, start, 6).await;
    let seqs: Vec<i64> = events.iter().filter_map(|e| e.seq).collect();
    assert_eq!(seqs.len(), 6, "{events:?}");
    let slow = created(
        &store,
        Subscription {
            cursor: seqs[2],
            ..subscription(ProjectId::DEFAULT, 1)
        },
    )
    .await;
    let fast = created(
        &store,
        Subscription {
            cursor: seqs[4],
            ..subscription(ProjectId::DEFAULT, 2)
        },
    )
    .await;
    created(
        &store,
        Subscription {
            enabled: false,
            cursor: start,
            ..subscription(ProjectId::DEFAULT, 3)
        },
    )
    .await;
    let prune = async || {
        store
            .prune_events(at(1_000_000), 0, 100)
            .await
            .expect("prune_events")
    };
    let pruned_through = async || store.horizon().await.expect("horizon").pruned_through;

    assert_eq!(
        prune().await,
        3,
        "the events up to the slow subscription's cursor"
    );
    assert_eq!(pruned_through().await, seqs[2]);
    assert_eq!(prune().await, 0);

    let latest = store.horizon().await.expect("horizon").latest;
    let caught_up = Subscription {
        cursor: latest,
        ..slow
    };
    assert_eq!(
        store
            .update_webhook(&caught_up, true)
            .await
            .expect("update"),
        WebhookWrite::Done
    );
    assert_eq!(prune().await, 2, "now up to the fast one's");
    assert_eq!(pruned_through().await, seqs[4]);

    let disabled = Subscription {
        enabled: false,
        ..fast
    };
    assert_eq!(
        store
            .update_webhook(&disabled, false)
            .await
            .expect("update"),
        WebhookWrite::Done
    );
    assert_eq!(
        prune().await,
        1,
        "a disabled subscription holds nothing back"
    );
    assert_eq!(pruned_through().await, seqs[5]);
}
