use std::collections::VecDeque;
use std::sync::Mutex;

use super::*;
use crate::event::EventHorizon;
use crate::ports::{MockClock, MockEventLog, MockWebhookStore};
use crate::testing::at;
use crate::webhooks::{SigningSecrets, WebhookFilter};

const GONE: &str = "the receiver answered 410 Gone: it asked for no more deliveries";

fn member(project: ProjectId) -> Caller {
    Caller {
        project,
        role: Role::Member,
        key: None,
    }
}

fn secret() -> WebhookSecret {
    WebhookSecret::generate().expect("randomness")
}

/// An enabled subscription of `project`, as made and never written since.
fn subscription(project: ProjectId) -> Subscription {
    Subscription {
        id: WebhookId::random(),
        project,
        url: "https://hooks.example.com/fleet".to_owned(),
        description: "deploys".to_owned(),
        filter: WebhookFilter::default(),
        enabled: true,
        disabled_reason: None,
        secrets: SigningSecrets {
            current: secret(),
            previous: None,
        },
        cursor: 10,
        failing_since: None,
        created_at: at(0),
        updated_at: at(0),
        generation: 0,
    }
}

/// `webhook` as the dispatcher leaves it when an attempt disables it at `seconds`.
fn disabled_by_the_dispatcher(webhook: &Subscription, seconds: i64) -> Subscription {
    Subscription {
        enabled: false,
        disabled_reason: Some(GONE.to_owned()),
        updated_at: at(seconds),
        generation: webhook.generation + 1,
        ..webhook.clone()
    }
}

fn service(store: MockWebhookStore, latest: i64) -> WebhookService {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(at(100));
    let mut events = MockEventLog::new();
    events.expect_horizon().returning(move || {
        Ok(EventHorizon {
            latest,
            pruned_through: 0,
        })
    });
    WebhookService::new(
        Arc::new(store),
        Arc::new(events),
        Arc::new(clock),
        AddressPolicy::default(),
    )
}

/// Every write the store was asked for, with whether it moved the cursor.
type Writes = Arc<Mutex<Vec<(Subscription, bool)>>>;

/// A store whose reads of the subscription answer `reads` in turn (the last one again
/// once they run out) and whose updates answer `outcomes` in turn, recording each.
fn store(reads: Vec<Subscription>, outcomes: Vec<WebhookWrite>) -> (MockWebhookStore, Writes) {
    let mut store = MockWebhookStore::new();
    let reads = Mutex::new(VecDeque::from(reads));
    store.expect_webhook().returning(move |_| {
        let mut reads = reads.lock().expect("a lock");
        let read = if reads.len() > 1 {
            reads.pop_front()
        } else {
            reads.front().cloned()
        };
        Ok(read)
    });
    let writes: Writes = Arc::default();
    let seen = Arc::clone(&writes);
    let outcomes = Mutex::new(VecDeque::from(outcomes));
    store
        .expect_update_webhook()
        .returning(move |webhook, moved| {
            seen.lock().expect("a lock").push((webhook.clone(), moved));
            Ok(outcomes
                .lock()
                .expect("a lock")
                .pop_front()
                .expect("an outcome for every write"))
        });
    (store, writes)
}

fn written(writes: &Writes) -> Vec<(Subscription, bool)> {
    writes.lock().expect("a lock").clone()
}

fn described(description: &str) -> SubscriptionChanges {
    SubscriptionChanges {
        description: Some(description.to_owned()),
        ..SubscriptionChanges::default()
    }
}

#[tokio::test]
async fn an_update_is_written_over_the_generation_it_read() {
    let read = subscription(ProjectId::DEFAULT);
    let (store, writes) = store(vec![read.clone()], vec![WebhookWrite::Done]);
    let updated = service(store, 50)
        .update(&member(read.project), read.id, described("releases"))
        .await
        .expect("an update");
    let expected = Subscription {
        description: "releases".to_owned(),
        updated_at: at(100),
        ..read.clone()
    };
    assert_eq!(written(&writes), [(expected.clone(), false)]);
    assert_eq!(
        updated,
        Subscription {
            generation: 1,
            ..expected
        },
        "the answer has the generation the write stored"
    );
}

#[tokio::test]
async fn a_stale_update_is_made_again_over_a_new_read_and_keeps_what_the_dispatcher_wrote() {
    let first = subscription(ProjectId::DEFAULT);
    let disabled = disabled_by_the_dispatcher(&first, 60);
    let (store, writes) = store(
        vec![first.clone(), disabled.clone()],
        vec![WebhookWrite::Stale, WebhookWrite::Done],
    );
    let updated = service(store, 50)
        .update(&member(first.project), first.id, described("releases"))
        .await
        .expect("an update");
    let writes = written(&writes);
    assert_eq!(writes.len(), 2);
    assert_eq!(
        (writes[0].0.generation, writes[0].0.enabled),
        (0, true),
        "the first write was made from the first read"
    );
    let again = Subscription {
        description: "releases".to_owned(),
        updated_at: at(100),
        ..disabled
    };
    assert_eq!(writes[1], (again.clone(), false));
    assert_eq!(
        updated,
        Subscription {
            generation: 2,
            ..again
        }
    );
    assert!(!updated.enabled, "the PATCH did not re-enable it");
    assert_eq!(updated.disabled_reason.as_deref(), Some(GONE));
}

#[tokio::test]
async fn enabling_over_a_stale_read_starts_from_the_events_there_are_at_the_retry() {
    // The client enables a subscription it read enabled (a no-op, no move); meanwhile the
    // dispatcher disabled it, so made again the change enables it, and starts it from now.
    let first = Subscription {
        failing_since: Some(at(20)),
        ..subscription(ProjectId::DEFAULT)
    };
    let disabled = disabled_by_the_dispatcher(&first, 60);
    let (store, writes) = store(
        vec![first.clone(), disabled.clone()],
        vec![WebhookWrite::Stale, WebhookWrite::Done],
    );
    let enable = SubscriptionChanges {
        enabled: Some(true),
        ..SubscriptionChanges::default()
    };
    let updated = service(store, 77)
        .update(&member(first.project), first.id, enable)
        .await
        .expect("an update");
    let writes = written(&writes);
    assert!(
        !writes[0].1,
        "enabling an enabled subscription moves nothing"
    );
    let expected = Subscription {
        enabled: true,
        disabled_reason: None,
        cursor: 77,
        failing_since: None,
        updated_at: at(100),
        ..disabled
    };
    assert_eq!(writes[1], (expected.clone(), true));
    assert_eq!(
        updated,
        Subscription {
            generation: 2,
            ..expected
        }
    );
}

#[tokio::test]
async fn an_update_stale_every_time_gives_up_as_changed_concurrently() {
    let read = subscription(ProjectId::DEFAULT);
    let tries = WEBHOOK_WRITE_RETRIES as usize + 1;
    let (store, writes) = store(vec![read.clone()], vec![WebhookWrite::Stale; tries]);
    let error = service(store, 50)
        .update(&member(read.project), read.id, described("releases"))
        .await
        .expect_err("a conflict");
    assert!(
        matches!(
            error,
            WebhookError::ChangedConcurrently { id, attempts }
                if id == read.id && attempts as usize == tries
        ),
        "{error:?}"
    );
    assert_eq!(written(&writes).len(), tries, "one write per try, no more");
}

#[tokio::test]
async fn an_update_of_a_webhook_deleted_since_the_read_is_not_found() {
    let read = subscription(ProjectId::DEFAULT);
    let (store, _) = store(vec![read.clone()], vec![WebhookWrite::Missing]);
    let error = service(store, 50)
        .update(&member(read.project), read.id, described("releases"))
        .await
        .expect_err("not found");
    assert!(
        matches!(error, WebhookError::NotFound(id) if id == read.id),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_stale_rotation_is_made_again_keeping_the_secret_rotated_in_meanwhile() {
    let first = subscription(ProjectId::DEFAULT);
    // Another rotation was written first: its secret is current now.
    let theirs = secret();
    let rotated = Subscription {
        secrets: first.secrets.rotated(theirs.clone(), at(90)),
        updated_at: at(90),
        generation: 1,
        ..first.clone()
    };
    let (store, writes) = store(
        vec![first.clone(), rotated.clone()],
        vec![WebhookWrite::Stale, WebhookWrite::Done],
    );
    let answer = service(store, 50)
        .rotate_secret(&member(first.project), first.id)
        .await
        .expect("a rotation");
    let writes = written(&writes);
    assert_eq!(writes.len(), 2);
    assert_eq!(
        writes[0].0.secrets.previous.as_ref().map(|(s, _)| s),
        Some(&first.secrets.current)
    );
    let ours = &answer.secrets.current;
    assert_eq!(
        &writes[0].0.secrets.current, ours,
        "one secret for every try"
    );
    assert_ne!(ours, &theirs);
    assert_eq!(
        answer.secrets.previous,
        Some((theirs, at(100) + crate::webhooks::ROTATION_OVERLAP)),
        "the other rotation's secret, which its client was shown, keeps signing"
    );
    assert_eq!(
        writes[1],
        (
            Subscription {
                generation: 1,
                ..answer.clone()
            },
            false
        )
    );
    assert_eq!(answer.generation, 2);
}

#[tokio::test]
async fn a_rotation_stale_every_time_gives_up_as_changed_concurrently() {
    let read = subscription(ProjectId::DEFAULT);
    let tries = WEBHOOK_WRITE_RETRIES as usize + 1;
    let (store, writes) = store(vec![read.clone()], vec![WebhookWrite::Stale; tries]);
    let error = service(store, 50)
        .rotate_secret(&member(read.project), read.id)
        .await
        .expect_err("a conflict");
    assert!(
        matches!(error, WebhookError::ChangedConcurrently { id, .. } if id == read.id),
        "{error:?}"
    );
    assert_eq!(written(&writes).len(), tries);
}

#[tokio::test]
async fn a_test_message_to_a_webhook_deleted_since_the_read_is_not_found() {
    let read = subscription(ProjectId::DEFAULT);
    let (mut store, _) = store(vec![read.clone()], vec![]);
    store
        .expect_add_delivery()
        .times(1)
        .returning(|_| Ok(false));
    let error = service(store, 50)
        .test(&member(read.project), read.id)
        .await
        .expect_err("not found");
    assert!(
        matches!(error, WebhookError::NotFound(id) if id == read.id),
        "{error:?}"
    );
}
