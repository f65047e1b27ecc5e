use super::*;
use crate::webhooks::secret::WebhookSecret;

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).expect("an instant")
}

fn claimed(attempts: u32, due: i64, failing_since: Option<i64>) -> ClaimedDelivery {
    ClaimedDelivery {
        delivery: Delivery {
            id: DeliveryId::for_event(WebhookId::random(), 7),
            webhook: WebhookId::random(),
            event_seq: Some(7),
            event_type: "server.provisioned".to_owned(),
            payload: "{}".to_owned(),
            trace: None,
            status: DeliveryStatus::Pending,
            attempts,
            created_at: at(0),
            next_attempt_at: Some(at(due)),
            last_attempt_at: None,
            last_status: None,
            last_latency_ms: None,
            last_error: None,
        },
        url: "http://127.0.0.1:9/".to_owned(),
        secrets: SigningSecrets {
            current: WebhookSecret::generate().expect("randomness"),
            previous: None,
        },
        failing_since: failing_since.map(at),
        lease: LeaseToken(Uuid::nil()),
    }
}

fn answered(status: u16, seconds: i64) -> Attempt {
    Attempt {
        outcome: AttemptOutcome::Responded {
            status,
            retry_after: None,
        },
        latency: Duration::from_millis(12),
        at: at(seconds),
    }
}

fn no_jitter() -> RetrySchedule {
    RetrySchedule::new(
        [0, 5, 300, 1_800]
            .into_iter()
            .map(Duration::from_secs)
            .collect(),
        0.0,
    )
    .expect("a schedule")
}

#[test]
fn a_2xx_succeeds_and_heals_the_subscription() {
    let record = claimed(0, 100, Some(50)).record(&answered(204, 101), &no_jitter(), 0.5);
    assert_eq!(record.status, DeliveryStatus::Succeeded);
    assert_eq!(record.attempts, 1);
    assert_eq!(record.next_attempt_at, None);
    assert_eq!(record.health, WebhookHealth::Healthy);
    assert_eq!(record.response_status, Some(204));
    assert_eq!(record.latency_ms, 12);
    assert_eq!(record.result(), AttemptResult::Succeeded);
}

#[test]
fn failures_follow_the_schedule_from_the_due_time_then_fail() {
    let schedule = no_jitter();
    let first = claimed(0, 100, None).record(&answered(500, 103), &schedule, 0.5);
    assert_eq!(first.status, DeliveryStatus::Pending);
    assert_eq!(first.next_attempt_at, Some(at(105)));
    assert_eq!(first.health, WebhookHealth::Failing(at(103)));
    let third = claimed(2, 405, Some(103)).record(&answered(502, 406), &schedule, 0.5);
    assert_eq!(third.next_attempt_at, Some(at(2_205)));
    let last = claimed(3, 2_205, Some(103)).record(&answered(500, 2_206), &schedule, 0.5);
    assert_eq!(last.status, DeliveryStatus::Failed);
    assert_eq!(last.next_attempt_at, None);
    assert_eq!(last.result(), AttemptResult::Failed);
}

#[test]
fn redirects_and_no_answer_are_failures() {
    let schedule = no_jitter();
    let redirect = claimed(0, 0, None).record(&answered(302, 0), &schedule, 0.5);
    assert_eq!(redirect.status, DeliveryStatus::Pending);
    let timeout = Attempt {
        outcome: AttemptOutcome::NoResponse {
            error: "timed out".to_owned(),
        },
        latency: Duration::from_secs(10),
        at: at(0),
    };
    let record = claimed(0, 0, None).record(&timeout, &schedule, 0.5);
    assert_eq!(record.status, DeliveryStatus::Pending);
    assert_eq!(record.error.as_deref(), Some("timed out"));
    assert_eq!(record.response_status, None);
}

#[test]
fn gone_disables_the_subscription_and_fails_the_delivery() {
    let record = claimed(0, 0, None).record(&answered(410, 0), &no_jitter(), 0.5);
    assert_eq!(record.status, DeliveryStatus::Failed);
    assert!(matches!(record.health, WebhookHealth::Disable(ref why) if why.contains("410")));
}

#[test]
fn retry_after_on_429_and_503_pushes_the_next_attempt_back() {
    for status in [429, 503] {
        let attempt = Attempt {
            outcome: AttemptOutcome::Responded {
                status,
                retry_after: Some(Duration::from_secs(120)),
            },
            latency: Duration::ZERO,
            at: at(100),
        };
        let record = claimed(0, 100, None).record(&attempt, &no_jitter(), 0.5);
        assert_eq!(record.next_attempt_at, Some(at(220)), "{status}");
    }
    let ignored = Attempt {
        outcome: AttemptOutcome::Responded {
            status: 500,
            retry_after: Some(Duration::from_secs(120)),
        },
        latency: Duration::ZERO,
        at: at(100),
    };
    let record = claimed(0, 100, None).record(&ignored, &no_jitter(), 0.5);
    assert_eq!(record.next_attempt_at, Some(at(105)));
}

#[test]
fn failing_for_five_days_disables_the_subscription() {
    let five_days = FAILING_FOR_LONGEST.num_seconds();
    let just_before =
        claimed(1, 0, Some(0)).record(&answered(500, five_days - 1), &no_jitter(), 0.5);
    assert_eq!(
        just_before.health,
        WebhookHealth::Failing(at(five_days - 1))
    );
    let after = claimed(1, 0, Some(0)).record(&answered(500, five_days), &no_jitter(), 0.5);
    assert!(matches!(after.health, WebhookHealth::Disable(ref why) if why.contains("5 days")));
}

#[test]
fn delivery_ids_are_derived_from_subscription_and_event() {
    let webhook = WebhookId::random();
    let id = DeliveryId::for_event(webhook, 42);
    assert_eq!(id, DeliveryId::for_event(webhook, 42));
    assert_ne!(id, DeliveryId::for_event(webhook, 43));
    assert_ne!(id, DeliveryId::for_event(WebhookId::random(), 42));
    let message = id.message_id();
    assert!(
        message.starts_with("msg_") && message.len() == 36,
        "{message}"
    );
    assert_eq!(DeliveryId::parse_message_id(&message), Some(id));
    assert_eq!(DeliveryId::parse_message_id(&id.to_string()), Some(id));
}
