use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::*;
use crate::event::{Event, EventHorizon, EventKind, EventType};
use crate::ids::{ProjectId, WebhookId};
use crate::ports::{MockClock, MockEventLog, MockWebhookSender, MockWebhookStore, Sent};
use crate::state::ServerState;
use crate::testing::{at, event, server};
use crate::webhooks::{
    AttemptOutcome, Delivery, DeliveryStatus, SigningSecrets, Subscription, WebhookFilter,
    WebhookHealth, WebhookSecret,
};

struct SeqOnly;

impl EventData for SeqOnly {
    fn data(&self, event: &Event) -> Value {
        json!({ "seq": event.seq })
    }
}

fn subscription(cursor: i64, types: Vec<EventType>) -> Subscription {
    Subscription {
        id: WebhookId::random(),
        project: ProjectId::DEFAULT,
        url: "http://127.0.0.1:9/hook".to_owned(),
        description: String::new(),
        filter: WebhookFilter {
            types,
            selector_text: None,
            selector: None,
        },
        enabled: true,
        disabled_reason: None,
        secrets: SigningSecrets {
            current: WebhookSecret::generate().expect("randomness"),
            previous: None,
        },
        cursor,
        failing_since: None,
        created_at: at(0),
        updated_at: at(0),
        generation: 0,
    }
}

fn clock(now: DateTime<Utc>) -> Arc<MockClock> {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(now);
    Arc::new(clock)
}

#[tokio::test]
async fn events_after_the_cursor_become_deliveries_of_the_subscriptions_types() {
    let webhook = subscription(10, vec![EventType::ServerProvisioned]);
    let id = webhook.id;
    let mut store = MockWebhookStore::new();
    store
        .expect_enabled_webhooks()
        .returning(move || Ok(vec![webhook.clone()]));
    let stored = Arc::new(Mutex::new(Vec::new()));
    let seen = stored.clone();
    store
        .expect_enqueue_deliveries()
        .returning(move |webhook, from, to, deliveries| {
            seen.lock()
                .expect("a lock")
                .push((webhook, from, to, deliveries.to_vec()));
            Ok(true)
        });
    let mut events = MockEventLog::new();
    events.expect_horizon().returning(|| {
        Ok(EventHorizon {
            latest: 15,
            pruned_through: 0,
        })
    });
    let machine = server(ServerState::Running);
    events.expect_events_after().returning(move |query| {
        assert_eq!(query.after, 10);
        assert_eq!(query.types, vec![EventType::ServerProvisioned]);
        Ok(vec![event(11, &machine, EventKind::Created)])
    });
    let outbox = WebhookOutbox::new(Arc::new(store), Arc::new(events), Arc::new(SeqOnly));
    let report = outbox.fill().await.expect("a pass");
    assert_eq!(report.enqueued, 1);
    assert!(!report.behind);
    let stored = stored.lock().expect("a lock");
    let (webhook, from, to, deliveries) = &stored[0];
    assert_eq!((*webhook, *from, *to), (id, 10, 15));
    assert_eq!(deliveries[0].id, DeliveryId::for_event(id, 11));
    let body: Value = serde_json::from_str(&deliveries[0].payload).expect("JSON");
    assert_eq!(body["type"], "server.provisioned");
    assert_eq!(body["data"]["seq"], 11);
}

#[tokio::test]
async fn a_batch_another_process_took_first_counts_nothing() {
    let webhook = subscription(0, vec![]);
    let mut store = MockWebhookStore::new();
    store
        .expect_enabled_webhooks()
        .returning(move || Ok(vec![webhook.clone()]));
    store
        .expect_enqueue_deliveries()
        .returning(|_, _, _, _| Ok(false));
    let mut events = MockEventLog::new();
    events.expect_horizon().returning(|| {
        Ok(EventHorizon {
            latest: 1,
            pruned_through: 0,
        })
    });
    let machine = server(ServerState::Running);
    events
        .expect_events_after()
        .returning(move |_| Ok(vec![event(1, &machine, EventKind::Created)]));
    let outbox = WebhookOutbox::new(Arc::new(store), Arc::new(events), Arc::new(SeqOnly));
    assert_eq!(outbox.fill().await.expect("a pass").enqueued, 0);
}

#[tokio::test]
async fn an_attempt_is_signed_at_wall_time_and_recorded_on_the_service_clock() {
    let webhook = subscription(0, vec![]);
    let secret = webhook.secrets.current.clone();
    let claimed = ClaimedDelivery {
        delivery: Delivery {
            id: DeliveryId::for_event(webhook.id, 3),
            webhook: webhook.id,
            event_seq: Some(3),
            event_type: "server.provisioned".to_owned(),
            payload: r#"{"type":"server.provisioned"}"#.to_owned(),
            trace: None,
            status: DeliveryStatus::Pending,
            attempts: 0,
            created_at: at(100),
            next_attempt_at: Some(at(100)),
            last_attempt_at: None,
            last_status: None,
            last_latency_ms: None,
            last_error: None,
        },
        url: webhook.url.clone(),
        secrets: webhook.secrets.clone(),
        failing_since: None,
        lease: LeaseToken(uuid::Uuid::nil()),
    };
    let mut sender = MockWebhookSender::new();
    let expected = claimed.delivery.id.message_id();
    sender.expect_send().returning(move |message| {
        assert_eq!(message.id, expected);
        assert_eq!(message.timestamp, 1_700_000_000);
        assert_eq!(
            message.signature,
            signature_header(
                &[&secret],
                &message.id,
                message.timestamp,
                message.body.as_bytes()
            )
        );
        Sent {
            outcome: AttemptOutcome::Responded {
                status: 500,
                retry_after: None,
            },
            latency: Duration::from_millis(3),
        }
    });
    let mut store = MockWebhookStore::new();
    store.expect_record_attempt().returning(|_| Ok(true));
    let wall = DateTime::from_timestamp(1_700_000_000, 0).expect("an instant");
    let dispatcher = WebhookDispatcher::new(DispatcherParts {
        store: Arc::new(store),
        sender: Arc::new(sender),
        clock: clock(at(101)),
        wall: clock(wall),
        schedule: RetrySchedule::new(vec![Duration::ZERO, Duration::from_secs(5)], 0.0)
            .expect("a schedule"),
        draws: Arc::new(Entropy::seeded(1)),
    });
    let (record, stored) = dispatcher.attempt(&claimed).await.expect("an attempt");
    assert!(stored);
    assert_eq!(record.at, at(101));
    assert_eq!(record.status, DeliveryStatus::Pending);
    assert_eq!(record.next_attempt_at, Some(at(105)));
    assert_eq!(record.health, WebhookHealth::Failing(at(101)));
}
