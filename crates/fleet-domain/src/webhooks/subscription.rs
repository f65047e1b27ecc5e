//! A webhook subscription: where a project's events go, which of them, and the secrets
//! that sign them.

use chrono::{DateTime, TimeDelta, Utc};

use crate::event::{Event, EventQuery, EventType};
use crate::ids::{ProjectId, WebhookId};
use crate::selector::Selector;

use super::secret::WebhookSecret;

/// How long a rotated-out secret keeps signing beside the new one.
pub const ROTATION_OVERLAP: TimeDelta = TimeDelta::hours(24);
/// How long a subscription may keep failing every attempt before it is disabled.
pub const FAILING_FOR_LONGEST: TimeDelta = TimeDelta::days(5);
/// The longest description.
pub const MAX_DESCRIPTION_LEN: usize = 256;

/// Which events a subscription takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookFilter {
    /// These types only; every type when empty.
    pub types: Vec<EventType>,
    /// The selector as the client wrote it, to show back; `None` for every server.
    pub selector_text: Option<String>,
    /// It parsed.
    pub selector: Option<Selector>,
}

impl WebhookFilter {
    /// Whether an event of the subscription's project is for it.
    pub fn matches(&self, event: &Event) -> bool {
        (self.types.is_empty() || self.types.contains(&event.event.event_type()))
            && self
                .selector
                .as_ref()
                .is_none_or(|selector| selector.matches(&event.labels))
    }
}

/// The secret that signs, and the one rotated out while it still signs too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningSecrets {
    /// The current secret.
    pub current: WebhookSecret,
    /// The secret before the last rotation and until when it still signs.
    pub previous: Option<(WebhookSecret, DateTime<Utc>)>,
}

impl SigningSecrets {
    /// The secrets that sign a message sent at `now`: the current one first.
    pub fn in_force(&self, now: DateTime<Utc>) -> Vec<&WebhookSecret> {
        let mut secrets = vec![&self.current];
        if let Some((previous, until)) = &self.previous
            && now < *until
        {
            secrets.push(previous);
        }
        secrets
    }

    /// The secrets after a rotation at `now` to `next`: the current one keeps signing for
    /// [`ROTATION_OVERLAP`].
    pub fn rotated(&self, next: WebhookSecret, now: DateTime<Utc>) -> SigningSecrets {
        SigningSecrets {
            current: next,
            previous: Some((self.current.clone(), now + ROTATION_OVERLAP)),
        }
    }
}

/// A subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// Its id.
    pub id: WebhookId,
    /// The project whose events it takes.
    pub project: ProjectId,
    /// Where deliveries go.
    pub url: String,
    /// What it is for, as its creator wrote.
    pub description: String,
    /// Which events it takes.
    pub filter: WebhookFilter,
    /// Whether new events make deliveries and pending ones are sent.
    pub enabled: bool,
    /// Why it was disabled by fleet (a 410 Gone, or failing too long); `None` when enabled or
    /// disabled by a client.
    pub disabled_reason: Option<String>,
    /// The secrets that sign its deliveries.
    pub secrets: SigningSecrets,
    /// The last event sequence number it has taken deliveries from: the outbox's cursor.
    pub cursor: i64,
    /// When its deliveries began failing without a success since.
    pub failing_since: Option<DateTime<Utc>>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The version of its stored row: 0 when made, one more on every write of its settings
    /// or health (a client's change, a rotation, an attempt that disables it or changes its
    /// failing time). An update writes only over the generation it read, so no write is
    /// lost to another made since (optimistic concurrency); taking events, which moves only
    /// the cursor under a guard of its own, leaves it alone.
    pub generation: i64,
}

impl Subscription {
    /// The events after its cursor it takes, at most `limit` of them.
    pub fn pending_events(&self, limit: u32) -> EventQuery {
        EventQuery {
            project: Some(self.project),
            after: self.cursor,
            server: None,
            types: self.filter.types.clone(),
            selector: self.filter.selector.clone(),
            limit,
        }
    }
}

/// Changes a client asks for (`PATCH /webhooks/{id}`): `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionChanges {
    /// A new URL (checked as on creation).
    pub url: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// New types (empty: every type).
    pub types: Option<Vec<EventType>>,
    /// A new selector text; `Some(None)` removes it.
    pub selector: Option<Option<String>>,
    /// Enable or disable.
    pub enabled: Option<bool>,
}
