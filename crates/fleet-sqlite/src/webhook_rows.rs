//! The rows of `webhook_subscriptions` and `webhook_deliveries`, and how they become domain
//! values and back. A value the domain cannot read (an id or instant out of range, an
//! unknown event type or status, a selector or secret that does not parse, a count out of
//! range) is a [`BadRow`].

use diesel::prelude::*;
use diesel::sqlite::Sqlite;
use fleet_domain::TraceContext;
use fleet_domain::event::EventType;
use fleet_domain::ports::BadRow;
use fleet_domain::selector::Selector;
use fleet_domain::webhooks::{
    Delivery, DeliveryStatus, NewDelivery, SigningSecrets, Subscription, WebhookFilter,
    WebhookSecret,
};

use crate::mapping::{instant, micros, optional_instant, project_text};
use crate::schema::{webhook_deliveries, webhook_subscriptions};

/// A row of `webhook_subscriptions`, read and inserted whole.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_subscriptions, check_for_backend(Sqlite))]
pub(crate) struct SubscriptionRow {
    id: String,
    project_id: String,
    #[diesel(embed)]
    settings: Settings,
    cursor: i64,
    failing_since: Option<i64>,
    created_at: i64,
    generation: i64,
}

/// What a client or a rotation changes on a subscription: everything but its identity,
/// project, cursor, failing time, creation time and generation.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = webhook_subscriptions, check_for_backend(Sqlite))]
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
    previous_secret_until: Option<i64>,
    updated_at: i64,
}

impl Settings {
    pub(crate) fn from_domain(webhook: &Subscription) -> Self {
        let (previous_secret, previous_secret_until) = match &webhook.secrets.previous {
            Some((secret, until)) => (Some(secret.expose().to_owned()), Some(micros(*until))),
            None => (None, None),
        };
        let names: Vec<&str> = webhook.filter.types.iter().map(|t| t.as_str()).collect();
        Self {
            url: webhook.url.clone(),
            description: webhook.description.clone(),
            event_types: names.join(","),
            label_selector: webhook.filter.selector_text.clone(),
            enabled: webhook.enabled,
            disabled_reason: webhook.disabled_reason.clone(),
            secret: webhook.secrets.current.expose().to_owned(),
            previous_secret,
            previous_secret_until,
            updated_at: micros(webhook.updated_at),
        }
    }
}

impl SubscriptionRow {
    pub(crate) fn from_domain(webhook: &Subscription) -> Self {
        Self {
            id: webhook.id.to_string(),
            project_id: project_text(webhook.project),
            settings: Settings::from_domain(webhook),
            cursor: webhook.cursor,
            failing_since: webhook.failing_since.map(micros),
            created_at: micros(webhook.created_at),
            generation: webhook.generation,
        }
    }

    pub(crate) fn into_domain(self) -> Result<Subscription, BadRow> {
        let settings = self.settings;
        let until = optional_instant(
            "webhook_subscriptions.previous_secret_until",
            settings.previous_secret_until,
        )?;
        Ok(Subscription {
            id: uuid("webhook_subscriptions.id", &self.id)?,
            project: uuid("webhook_subscriptions.project_id", &self.project_id)?,
            filter: filter(&settings.event_types, settings.label_selector)?,
            secrets: secrets(&settings.secret, settings.previous_secret.as_deref(), until)?,
            url: settings.url,
            description: settings.description,
            enabled: settings.enabled,
            disabled_reason: settings.disabled_reason,
            cursor: self.cursor,
            failing_since: optional_instant(
                "webhook_subscriptions.failing_since",
                self.failing_since,
            )?,
            created_at: instant("webhook_subscriptions.created_at", self.created_at)?,
            updated_at: instant("webhook_subscriptions.updated_at", settings.updated_at)?,
            generation: self.generation,
        })
    }
}

/// A stored id of `column`.
pub(crate) fn uuid<T: std::str::FromStr>(column: &'static str, text: &str) -> Result<T, BadRow> {
    text.parse().map_err(|_| BadRow::new(column, text))
}

/// The filter of the stored types (comma-separated names, '' for every type) and selector
/// text (parsed again, as a client's is).
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
    until: Option<chrono::DateTime<chrono::Utc>>,
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
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(Sqlite))]
pub(crate) struct DeliveryRow {
    id: String,
    webhook_id: String,
    event_seq: Option<i64>,
    event_type: String,
    payload: String,
    status: String,
    attempts: i64,
    created_at: i64,
    next_attempt_at: Option<i64>,
    last_attempt_at: Option<i64>,
    last_status: Option<i64>,
    last_latency_ms: Option<i64>,
    last_error: Option<String>,
    traceparent: Option<String>,
}

impl DeliveryRow {
    pub(crate) fn into_domain(self) -> Result<Delivery, BadRow> {
        let number = |column: &'static str, value: i64| {
            u32::try_from(value).map_err(|_| BadRow::new(column, value))
        };
        let last_status = self
            .last_status
            .map(|s| u16::try_from(s).map_err(|_| BadRow::new("webhook_deliveries.last_status", s)))
            .transpose()?;
        Ok(Delivery {
            id: uuid("webhook_deliveries.id", &self.id)?,
            webhook: uuid("webhook_deliveries.webhook_id", &self.webhook_id)?,
            event_seq: self.event_seq,
            status: DeliveryStatus::parse(&self.status)
                .ok_or_else(|| BadRow::new("webhook_deliveries.status", &self.status))?,
            attempts: number("webhook_deliveries.attempts", self.attempts)?,
            created_at: instant("webhook_deliveries.created_at", self.created_at)?,
            next_attempt_at: optional_instant(
                "webhook_deliveries.next_attempt_at",
                self.next_attempt_at,
            )?,
            last_attempt_at: optional_instant(
                "webhook_deliveries.last_attempt_at",
                self.last_attempt_at,
            )?,
            last_status,
            last_latency_ms: self
                .last_latency_ms
                .map(|ms| number("webhook_deliveries.last_latency_ms", ms))
                .transpose()?,
            event_type: self.event_type,
            payload: self.payload,
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

/// A new delivery's row: pending, never attempted, due when made. `None` is written as NULL,
/// so that rows insert many to a statement (SQLite has no `DEFAULT` in a row of values).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(Sqlite))]
#[diesel(treat_none_as_default_value = false)]
pub(crate) struct NewDeliveryRow<'a> {
    id: String,
    webhook_id: String,
    event_seq: Option<i64>,
    event_type: &'a str,
    payload: &'a str,
    status: &'static str,
    attempts: i64,
    created_at: i64,
    next_attempt_at: Option<i64>,
    traceparent: Option<String>,
}

impl<'a> NewDeliveryRow<'a> {
    pub(crate) fn from_domain(new: &'a NewDelivery) -> Self {
        Self {
            id: new.id.to_string(),
            webhook_id: new.webhook.to_string(),
            event_seq: new.event_seq,
            event_type: &new.event_type,
            payload: &new.payload,
            status: DeliveryStatus::Pending.as_str(),
            attempts: 0,
            created_at: micros(new.created_at),
            traceparent: new.trace.map(|trace| trace.to_string()),
            next_attempt_at: Some(micros(new.created_at)),
        }
    }
}
