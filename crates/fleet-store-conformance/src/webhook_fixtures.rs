//! Building blocks of the webhook cases: subscriptions, deliveries, claims and attempts.

use std::sync::Arc;
use std::time::Duration;

use fleet_domain::TraceContext;
use fleet_domain::event::EventType;
use fleet_domain::ids::{DeliveryId, ProjectId, WebhookId};
use fleet_domain::ports::{DeliveryClaim, DeliveryListing, OutboxStats};
use fleet_domain::selector::Selector;
use fleet_domain::webhooks::{
    AttemptRecord, ClaimedDelivery, Delivery, DeliveryStatus, LeaseToken, NewDelivery,
    SigningSecrets, Subscription, WebhookFilter, WebhookHealth, WebhookSecret,
};

use crate::TestedStore;
use crate::fixtures::at;

/// How long the cases' claims hold: longer than any case runs.
pub(crate) const LEASE: Duration = Duration::from_secs(600);

/// A fresh secret.
pub(crate) fn secret() -> WebhookSecret {
    WebhookSecret::generate().expect("randomness for a secret")
}

/// An enabled subscription of `project` made at `seconds`, taking two types of events of
/// servers matching a selector, with a cursor at 0.
pub(crate) fn subscription(project: ProjectId, seconds: i64) -> Subscription {
    let selector = "env in (prod,staging),!canary";
    Subscription {
        id: WebhookId::random(),
        project,
        url: format!("https://hooks.example.com/fleet/{seconds}?team=ops"),
        description: "deploys, café ☕".to_owned(),
        filter: WebhookFilter {
            types: vec![EventType::ServerProvisioned, EventType::ServerStateChanged],
            selector_text: Some(selector.to_owned()),
            selector: Some(Selector::parse(selector).expect("a valid selector")),
        },
        enabled: true,
        disabled_reason: None,
        secrets: SigningSecrets {
            current: secret(),
            previous: None,
        },
        cursor: 0,
        failing_since: None,
        created_at: at(seconds),
        updated_at: at(seconds),
        generation: 0,
    }
}

/// Stores `webhook` and returns it.
pub(crate) async fn created(store: &Arc<dyn TestedStore>, webhook: Subscription) -> Subscription {
    store
        .create_webhook(&webhook)
        .await
        .expect("create_webhook");
    webhook
}

/// The stored subscription with this id, which must exist.
pub(crate) async fn stored(store: &Arc<dyn TestedStore>, id: WebhookId) -> Subscription {
    store
        .webhook(id)
        .await
        .expect("webhook")
        .expect("the subscription exists")
}

/// The delivery of event `seq` to `webhook`, made at `seconds`.
pub(crate) fn event_delivery(webhook: WebhookId, seq: i64, seconds: i64) -> NewDelivery {
    NewDelivery {
        id: DeliveryId::for_event(webhook, seq),
        webhook,
        event_seq: Some(seq),
        event_type: EventType::ServerProvisioned.as_str().to_owned(),
        payload: format!(r#"{{"type":"server.provisioned","seq":{seq},"name":"café"}}"#),
        trace: TraceContext::new(0x4bf92f3577b34da6a3ce929d0e0e4736, 0x00f067aa0ba902b7),
        created_at: at(seconds),
    }
}

/// A test message to `webhook`, made at `seconds`.
pub(crate) fn test_delivery(webhook: WebhookId, seconds: i64) -> NewDelivery {
    NewDelivery {
        id: DeliveryId::random(),
        webhook,
        event_seq: None,
        event_type: "webhook.test".to_owned(),
        payload: format!(r#"{{"type":"webhook.test","at":{seconds}}}"#),
        trace: None,
        created_at: at(seconds),
    }
}

/// Stores a delivery with `add_delivery` and returns it.
pub(crate) async fn added(store: &Arc<dyn TestedStore>, delivery: NewDelivery) -> NewDelivery {
    assert!(
        store.add_delivery(&delivery).await.expect("add_delivery"),
        "the subscription of {delivery:?} exists"
    );
    delivery
}

/// A new delivery as stored: pending, due when made, never attempted.
pub(crate) fn pending(new: &NewDelivery) -> Delivery {
    Delivery {
        id: new.id,
        webhook: new.webhook,
        event_seq: new.event_seq,
        event_type: new.event_type.clone(),
        payload: new.payload.clone(),
        trace: new.trace,
        status: DeliveryStatus::Pending,
        attempts: 0,
        created_at: new.created_at,
        next_attempt_at: Some(new.created_at),
        last_attempt_at: None,
        last_status: None,
        last_latency_ms: None,
        last_error: None,
    }
}

/// The stored delivery, if `webhook` has it.
pub(crate) async fn delivery(
    store: &Arc<dyn TestedStore>,
    webhook: WebhookId,
    id: DeliveryId,
) -> Option<Delivery> {
    store.delivery(webhook, id).await.expect("delivery")
}

/// Up to 1,000 of a subscription's deliveries, newest first.
pub(crate) async fn all_deliveries(
    store: &Arc<dyn TestedStore>,
    webhook: WebhookId,
) -> Vec<Delivery> {
    store
        .deliveries(&DeliveryListing {
            webhook,
            limit: 1_000,
            after: None,
        })
        .await
        .expect("deliveries")
}

/// A fresh lease token.
pub(crate) fn token() -> LeaseToken {
    LeaseToken(DeliveryId::random().as_uuid())
}

/// A claim of deliveries due by `seconds`, under a fresh token and [`LEASE`].
pub(crate) fn claim(
    seconds: i64,
    limit: u32,
    per_webhook: u32,
    skip: Vec<WebhookId>,
) -> DeliveryClaim {
    DeliveryClaim {
        due_by: at(seconds),
        limit,
        per_webhook,
        skip,
        lease: LEASE,
        token: token(),
    }
}

/// What one claim took.
pub(crate) async fn claimed(
    store: &Arc<dyn TestedStore>,
    claim: &DeliveryClaim,
) -> Vec<ClaimedDelivery> {
    store
        .claim_deliveries(claim)
        .await
        .expect("claim_deliveries")
}

/// The ids of claimed deliveries, in order.
pub(crate) fn claimed_ids(claimed: &[ClaimedDelivery]) -> Vec<DeliveryId> {
    claimed.iter().map(|c| c.delivery.id).collect()
}

/// A successful first attempt at a claimed delivery, made at `seconds`.
pub(crate) fn success(claimed: &ClaimedDelivery, seconds: i64) -> AttemptRecord {
    AttemptRecord {
        delivery: claimed.delivery.id,
        webhook: claimed.delivery.webhook,
        lease: claimed.lease,
        status: DeliveryStatus::Succeeded,
        attempts: claimed.delivery.attempts + 1,
        next_attempt_at: None,
        at: at(seconds),
        response_status: Some(204),
        latency_ms: 12,
        error: None,
        health: WebhookHealth::Healthy,
    }
}

/// A failed attempt at a claimed delivery, made at `seconds`, after which it is `status`.
pub(crate) fn failure(
    claimed: &ClaimedDelivery,
    seconds: i64,
    status: DeliveryStatus,
) -> AttemptRecord {
    AttemptRecord {
        status,
        next_attempt_at: (status == DeliveryStatus::Pending).then(|| at(seconds + 300)),
        response_status: Some(500),
        health: WebhookHealth::Failing(at(seconds)),
        ..success(claimed, seconds)
    }
}

/// Records an attempt, which must hold its lease.
pub(crate) async fn recorded(store: &Arc<dyn TestedStore>, record: &AttemptRecord) {
    assert!(
        store.record_attempt(record).await.expect("record_attempt"),
        "the lease of {record:?} holds"
    );
}

/// How full the outbox is.
pub(crate) async fn stats(store: &Arc<dyn TestedStore>) -> OutboxStats {
    store.outbox_stats().await.expect("outbox_stats")
}
