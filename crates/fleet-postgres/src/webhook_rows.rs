//! The rows of `webhook_subscriptions` and `webhook_deliveries`, and how they become domain
//! values and back. A value the domain cannot read (an unknown event type or status, a
//! selector or secret that does not parse, a count out of range) is a [`BadRow`].

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use fleet_domain::TraceContext;
use fleet_domain::event::EventType;
use fleet_domain::ports::BadRow;
use fleet_domain::selector::Selector;
use fleet_domain::webhooks::{
    Delivery, DeliveryStatus, NewDelivery, SigningSecrets, Subscription, WebhookFilter,
    WebhookSecret,
};
use uuid::Uuid;

use crate::schema::{webhook_deliveries, webhook_subscriptions};

/// A row of `webhook_subscriptions`, read and inserted whole.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_subscriptions, check_for_backend(diesel::pg::Pg))]
pub(crate) struct SubscriptionRow {
    id: Uuid,
    project_id: Uuid,
    #[diesel(embed)]
    settings: Settings,
    cursor: i64,
    failing_since: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    generation: i64,
}

/// What a client or a rotation changes on a subscription: everything but its identity,
/// project, cursor, failing time, creation time and generation.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = webhook_subscriptions, check_for_backend(diesel::pg::Pg))]
#[diesel(treat_none_as_null = true)]
pub(crate) struct Settings {
    url: String,
    description: String,
    event_types: String,
    label_selector: Option<String>,
    enabled: bool,
    disabled_reason: Option<String>,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_until: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

impl Settings {
    pub(crate) fn from_domain(webhook: &Subscription) -> Self {
        let (previous_secret, previous_secret_until) = match &webhook.secrets.previous {
            Some((secret, until)) => (Some(secret.expose().to_owned()), Some(*until)),
            None => (None, None),
        };
        Self {
            url: webhook.url.clone(),
            description: webhook.description.clone(),
            event_types: event_types_text(&webhook.filter.types),
            label_selector: webhook.filter.selector_text.clone(),
            enabled: webhook.enabled,
            disabled_reason: webhook.disabled_reason.clone(),
            secret: webhook.secrets.current.expose().to_owned(),
            previous_secret,
            previous_secret_until,
            updated_at: webhook.updated_at,
        }
    }
}

impl SubscriptionRow {
    pub(crate) fn from_domain(webhook: &Subscription) -> Self {
        Self {
            id: webhook.id.as_uuid(),
            project_id: webhook.project.as_uuid(),
            settings: Settings::from_domain(webhook),
            cursor: webhook.cursor,
            failing_since: webhook.failing_since,
            created_at: webhook.created_at,
            generation: webhook.generation,
        }
    }

    pub(crate) fn into_domain(self) -> Result<Subscription, BadRow> {
        let settings = self.settings;
        Ok(Subscription {
            id: self.id.into(),
            project: self.project_id.into(),
            filter: filter(&settings.event_types, settings.label_selector)?,
            secrets: secrets(
                &settings.secret,
                settings.previous_secret.as_deref(),
                settings.previous_secret_until,
            )?,
            url: settings.url,
            description: settings.description,
            enabled: settings.enabled,
            disabled_reason: settings.disabled_reason,
            cursor: self.cursor,
            failing_since: self.failing_since,
            created_at: self.created_at,
            updated_at: settings.updated_at,
            generation: self.generation,
        })
    }
}

/// The types as stored: their names, comma-separated; '' for every type.
fn event_types_text(types: &[EventType]) -> String {
    let names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    names.join(",")
}

/// The filter of the stored types and selector text (parsed again, as a client's is).
fn filter(types: &str, selector_text: Option<String>) -> Result<WebhookFilter, BadRow> {
    let bad_types = || BadRow::new("webhook_subscriptions.event_types", types);
    let types = if types.is_empty() {
        Vec::new()
    } else {
        types
            .split(',')
            .map(|name| EventType::parse(name).ok_or_else(bad_types))
            .collect::<Result<_, _>>()?
    };
    let selector = Selector::parse_filter(selector_text.as_deref()).map_err(|_| {
        BadRow::new(
            "webhook_subscriptions.label_selector",
            selector_text.as_deref().unwrap_or_default(),
        )
    })?;
    Ok(WebhookFilter {
        types,
        selector_text,
        selector,
    })
}

/// The stored secrets. A secret out of format is reported without its text, which must not
/// reach a log.
pub(crate) fn secrets(
    current: &str,
    previous: Option<&str>,
    until: Option<DateTime<Utc>>,
) -> Result<SigningSecrets, BadRow> {
    let parse = |column: &'static str, text: &str| {
        WebhookSecret::parse(text).map_err(|_| BadRow::new(column, "(a secret out of format)"))
    };
    let previous = match (previous, until) {
        (Some(text), Some(until)) => {
            Some((parse("webhook_subscriptions.previous_secret", text)?, until))
        }
        (None, None) => None,
        (_, until) => {
            return Err(BadRow::new(
                "webhook_subscriptions.previous_secret_until",
                until.map_or("NULL beside a secret".to_owned(), |t| t.to_string()),
            ));
        }
    };
    Ok(SigningSecrets {
        current: parse("webhook_subscriptions.secret", current)?,
        previous,
    })
}

/// A row of `webhook_deliveries` as read: everything but the lease.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(diesel::pg::Pg))]
pub(crate) struct DeliveryRow {
    id: Uuid,
    webhook_id: Uuid,
    event_seq: Option<i64>,
    event_type: String,
    payload: String,
    status: String,
    attempts: i32,
    created_at: DateTime<Utc>,
    next_attempt_at: Option<DateTime<Utc>>,
    last_attempt_at: Option<DateTime<Utc>>,
    last_status: Option<i32>,
    last_latency_ms: Option<i32>,
    last_error: Option<String>,
    traceparent: Option<String>,
}

impl DeliveryRow {
    pub(crate) fn into_domain(self) -> Result<Delivery, BadRow> {
        let status = DeliveryStatus::parse(&self.status)
            .ok_or_else(|| BadRow::new("webhook_deliveries.status", &self.status))?;
        let attempts = u32::try_from(self.attempts)
            .map_err(|_| BadRow::new("webhook_deliveries.attempts", self.attempts))?;
        let last_status = self
            .last_status
            .map(|s| u16::try_from(s).map_err(|_| BadRow::new("webhook_deliveries.last_status", s)))
            .transpose()?;
        let last_latency_ms = self
            .last_latency_ms
            .map(|ms| {
                u32::try_from(ms).map_err(|_| BadRow::new("webhook_deliveries.last_latency_ms", ms))
            })
            .transpose()?;
        Ok(Delivery {
            id: self.id.into(),
            webhook: self.webhook_id.into(),
            event_seq: self.event_seq,
            event_type: self.event_type,
            payload: self.payload,
            status,
            attempts,
            created_at: self.created_at,
            next_attempt_at: self.next_attempt_at,
            last_attempt_at: self.last_attempt_at,
            last_status,
            last_latency_ms,
            last_error: self.last_error,
            trace: self
                .traceparent
                .map(|header| {
                    TraceContext::from_traceparent(&header)
                        .ok_or_else(|| BadRow::new("webhook_deliveries.traceparent", header))
                })
                .transpose()?,
        })
    }
}

/// A new delivery's row: pending, never attempted, due when made.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(diesel::pg::Pg))]
pub(crate) struct NewDeliveryRow<'a> {
    id: Uuid,
    webhook_id: Uuid,
    event_seq: Option<i64>,
    event_type: &'a str,
    payload: &'a str,
    status: &'static str,
    attempts: i32,
    created_at: DateTime<Utc>,
    next_attempt_at: Option<DateTime<Utc>>,
    traceparent: Option<String>,
}

impl<'a> NewDeliveryRow<'a> {
    pub(crate) fn from_domain(new: &'a NewDelivery) -> Self {
        Self {
            id: new.id.as_uuid(),
            webhook_id: new.webhook.as_uuid(),
            event_seq: new.event_seq,
            event_type: &new.event_type,
            payload: &new.payload,
            status: DeliveryStatus::Pending.as_str(),
            attempts: 0,
            created_at: new.created_at,
            traceparent: new.trace.map(|trace| trace.to_string()),
            next_attempt_at: Some(new.created_at),
        }
    }
}

/// A count the domain keeps as `u32`, as an `integer` column holds it: attempts and
/// latencies never come near `i32::MAX` (a retry schedule is a few dozen attempts, an
/// attempt times out in seconds), so a larger one is stored as the largest.
pub(crate) fn stored_count(count: u32) -> i32 {
    i32::try_from(count).unwrap_or(i32::MAX)
}
