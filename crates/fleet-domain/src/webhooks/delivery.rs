//! Deliveries: one message to one subscription, tried until it succeeds or its schedule
//! runs out, and what each attempt's outcome makes of it and of its subscription.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::ids::{DeliveryId, WebhookId};
use crate::trace::TraceContext;

use super::retry::RetrySchedule;
use super::subscription::{FAILING_FOR_LONGEST, SigningSecrets};

/// The longest `Retry-After` honoured: a receiver cannot park a delivery for longer.
const LONGEST_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);
/// The most characters of an attempt's error kept.
const MAX_ERROR_CHARS: usize = 256;

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Not delivered yet: an attempt is due at its next attempt time (or running).
    Pending,
    /// A 2xx answered it.
    Succeeded,
    /// Every attempt of its schedule failed, or its receiver answered 410 Gone.
    Failed,
}

impl DeliveryStatus {
    /// Every status.
    pub const ALL: [DeliveryStatus; 3] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Succeeded,
        DeliveryStatus::Failed,
    ];

    /// The lowercase name used in the API and the stores.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// The status called `name`, if any.
    pub fn parse(name: &str) -> Option<DeliveryStatus> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl DeliveryId {
    /// The delivery of event `seq` to `webhook`: the same id whichever process enqueues it,
    /// so a second enqueue of the same event is recognised.
    pub fn for_event(webhook: WebhookId, seq: i64) -> DeliveryId {
        let mut hash = Sha256::new();
        hash.update(webhook.as_uuid().as_bytes());
        hash.update(seq.to_be_bytes());
        let digest = hash.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        DeliveryId::from(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    /// The `webhook-id` header: `msg_` and the id's hex digits.
    pub fn message_id(&self) -> String {
        format!("msg_{}", self.as_uuid().simple())
    }

    /// The id in a `webhook-id` header, or its bare UUID.
    pub fn parse_message_id(text: &str) -> Option<DeliveryId> {
        let hex = text.strip_prefix("msg_").unwrap_or(text);
        Uuid::parse_str(hex).ok().map(DeliveryId::from)
    }
}

/// A delivery about to be stored: due at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    /// Its id.
    pub id: DeliveryId,
    /// Its subscription.
    pub webhook: WebhookId,
    /// The event it carries; `None` for a test message.
    pub event_seq: Option<i64>,
    /// The message's type.
    pub event_type: String,
    /// The exact body sent on every attempt.
    pub payload: String,
    /// Its event's trace context, which its requests continue (`traceparent`).
    pub trace: Option<TraceContext>,
    /// When it was made, and its first attempt is due.
    pub created_at: DateTime<Utc>,
}

/// A stored delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Its id.
    pub id: DeliveryId,
    /// Its subscription.
    pub webhook: WebhookId,
    /// The event it carries; `None` for a test message.
    pub event_seq: Option<i64>,
    /// The message's type.
    pub event_type: String,
    /// The exact body sent on every attempt.
    pub payload: String,
    /// Its event's trace context, which its requests continue (`traceparent`).
    pub trace: Option<TraceContext>,
    /// Where it is.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When the next attempt is due; `None` once it succeeded or failed.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the last attempt was made.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status of the last answer, if the last attempt got one.
    pub last_status: Option<u16>,
    /// How long the last attempt took.
    pub last_latency_ms: Option<u32>,
    /// Why the last attempt failed without an answer (a timeout, a refused connection, a
    /// forbidden address).
    pub last_error: Option<String>,
}

/// A lease on a claimed delivery: only its holder may record the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeaseToken(pub Uuid);

/// A delivery claimed for an attempt, with what sending it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    /// The delivery.
    pub delivery: Delivery,
    /// Its subscription's URL.
    pub url: String,
    /// Its subscription's secrets.
    pub secrets: SigningSecrets,
    /// When its subscription began failing, if it is failing.
    pub failing_since: Option<DateTime<Utc>>,
    /// The claim's lease.
    pub lease: LeaseToken,
}

/// What an attempt's request met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver answered.
    Responded {
        /// The HTTP status.
        status: u16,
        /// Its `Retry-After`, in seconds, when it sent one.
        retry_after: Option<Duration>,
    },
    /// No answer: a timeout, a refused or forbidden connection.
    NoResponse {
        /// Why.
        error: String,
    },
}

/// One attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// What it met.
    pub outcome: AttemptOutcome,
    /// How long it took.
    pub latency: Duration,
    /// When it was made, on the service's clock.
    pub at: DateTime<Utc>,
}

/// What an attempt does to its subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookHealth {
    /// It succeeded: the subscription is not failing.
    Healthy,
    /// It failed: the subscription is failing since this instant (unless it already was).
    Failing(DateTime<Utc>),
    /// The subscription is disabled, for this reason.
    Disable(String),
}

/// How an attempt ended, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptResult {
    /// The delivery succeeded.
    Succeeded,
    /// It failed and is due again.
    Retrying,
    /// It failed for good.
    Failed,
}

impl AttemptResult {
    /// The name used in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptResult::Succeeded => "succeeded",
            AttemptResult::Retrying => "retrying",
            AttemptResult::Failed => "failed",
        }
    }
}

/// What to store after an attempt: the delivery's new state and its subscription's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// The delivery.
    pub delivery: DeliveryId,
    /// Its subscription.
    pub webhook: WebhookId,
    /// The lease the attempt was made under.
    pub lease: LeaseToken,
    /// Where the delivery is now.
    pub status: DeliveryStatus,
    /// Attempts made, this one included.
    pub attempts: u32,
    /// When the next attempt is due, if one is.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When this attempt was made.
    pub at: DateTime<Utc>,
    /// Its answer's status, if it got one.
    pub response_status: Option<u16>,
    /// How long it took.
    pub latency_ms: u32,
    /// Why it got no answer, if it got none.
    pub error: Option<String>,
    /// What it does to the subscription.
    pub health: WebhookHealth,
}

impl AttemptRecord {
    /// How the attempt ended.
    pub fn result(&self) -> AttemptResult {
        match self.status {
            DeliveryStatus::Succeeded => AttemptResult::Succeeded,
            DeliveryStatus::Pending => AttemptResult::Retrying,
            DeliveryStatus::Failed => AttemptResult::Failed,
        }
    }
}

impl ClaimedDelivery {
    /// What `attempt` makes of the delivery, on `schedule`; `unit` (in `[0, 1)`) places the
    /// next attempt's jitter.
    pub fn record(&self, attempt: &Attempt, schedule: &RetrySchedule, unit: f64) -> AttemptRecord {
        let attempts = self.delivery.attempts.saturating_add(1);
        let due = self.delivery.next_attempt_at.unwrap_or(attempt.at);
        let (response_status, error) = match &attempt.outcome {
            AttemptOutcome::Responded { status, .. } => (Some(*status), None),
            AttemptOutcome::NoResponse { error } => {
                (None, Some(error.chars().take(MAX_ERROR_CHARS).collect()))
            }
        };
        let mut record = AttemptRecord {
            delivery: self.delivery.id,
            webhook: self.delivery.webhook,
            lease: self.lease,
            status: DeliveryStatus::Failed,
            attempts,
            next_attempt_at: None,
            at: attempt.at,
            response_status,
            latency_ms: u32::try_from(attempt.latency.as_millis()).unwrap_or(u32::MAX),
            error,
            health: WebhookHealth::Healthy,
        };
        match &attempt.outcome {
            AttemptOutcome::Responded { status, .. } if (200..300).contains(status) => {
                record.status = DeliveryStatus::Succeeded;
                return record;
            }
            AttemptOutcome::Responded { status: 410, .. } => {
                record.health = WebhookHealth::Disable(
                    "the receiver answered 410 Gone: it asked for no more deliveries".to_owned(),
                );
                return record;
            }
            _ => {}
        }
        let since = self.failing_since.unwrap_or(attempt.at);
        record.health = if attempt.at - since >= FAILING_FOR_LONGEST {
            WebhookHealth::Disable(format!(
                "every delivery failed for {} days",
                FAILING_FOR_LONGEST.num_days()
            ))
        } else {
            WebhookHealth::Failing(attempt.at)
        };
        let Some(mut next) = schedule.next_due(attempts, due, unit) else {
            return record;
        };
        if let AttemptOutcome::Responded {
            status: 429 | 503,
            retry_after: Some(wait),
        } = &attempt.outcome
        {
            let wait =
                TimeDelta::from_std((*wait).min(LONGEST_RETRY_AFTER)).unwrap_or(TimeDelta::zero());
            next = next.max(attempt.at + wait);
        }
        record.status = DeliveryStatus::Pending;
        record.next_attempt_at = Some(next);
        record
    }
}

#[cfg(test)]
#[path = "delivery_tests.rs"]
mod tests;
