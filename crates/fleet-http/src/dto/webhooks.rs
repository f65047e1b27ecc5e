//! Webhook subscriptions and their deliveries (`/webhooks`).

use chrono::{DateTime, Utc};
use fleet_domain::page::Page;
use fleet_domain::service::NewWebhook;
use fleet_domain::webhooks::{self as domain, SubscriptionChanges};
use paperclip::actix::Apiv2Schema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::WatchEventType;

/// A new subscription.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Apiv2Schema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// Where deliveries go: an `http` or `https` URL of at most 2,048 characters, without
    /// credentials, not aimed at a link-local, metadata, unspecified or multicast address
    /// (nor at loopback or private ones where the operator forbids them).
    pub url: String,
    /// What it is for, at most 256 characters.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub description: Option<String>,
    /// Only events of these types; every type when left out or empty.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub event_types: Option<Vec<WatchEventType>>,
    /// Only events of servers whose labels match this selector.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub label_selector: Option<String>,
    /// Whether it delivers; `true` when left out.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub enabled: Option<bool>,
}

impl From<CreateWebhookRequest> for NewWebhook {
    fn from(request: CreateWebhookRequest) -> Self {
        Self {
            url: request.url,
            description: request.description,
            types: types(request.event_types.unwrap_or_default()),
            selector: request.label_selector,
            enabled: request.enabled,
        }
    }
}

/// Changes to a subscription: fields left out stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Apiv2Schema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookRequest {
    /// A new URL, checked as on creation.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub url: Option<String>,
    /// A new description.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub description: Option<String>,
    /// New event types; empty for every type.
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub event_types: Option<Vec<WatchEventType>>,
    /// A new label selector; `null` removes it.
    #[serde(default, deserialize_with = "super::optional::present")]
    pub label_selector: Option<Option<String>>,
    /// `false` stops deliveries; `true` resumes them with the events from then on (the
    /// events of the time it was disabled are not delivered).
    #[serde(default, deserialize_with = "super::optional::not_null")]
    pub enabled: Option<bool>,
}

impl From<UpdateWebhookRequest> for SubscriptionChanges {
    fn from(request: UpdateWebhookRequest) -> Self {
        Self {
            url: request.url,
            description: request.description,
            types: request.event_types.map(types),
            selector: request.label_selector,
            enabled: request.enabled,
        }
    }
}

fn types(types: Vec<WatchEventType>) -> Vec<fleet_domain::EventType> {
    types.into_iter().map(Into::into).collect()
}

/// A subscription. Its secret is shown only when it is made or rotated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct Webhook {
    /// Its id.
    pub id: Uuid,
    /// The project whose events it takes.
    pub project_id: Uuid,
    /// Where deliveries go.
    pub url: String,
    /// What it is for.
    pub description: String,
    /// The event types it takes; every type when empty.
    pub event_types: Vec<WatchEventType>,
    /// Only events of servers whose labels match this selector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    /// Whether it delivers.
    pub enabled: bool,
    /// Why fleet disabled it (its receiver answered 410 Gone, or every delivery failed for
    /// 5 days); absent when enabled or disabled by a client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// Since when its deliveries fail without a success between; absent when they don't.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the secret before the last rotation still signs beside the new one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<domain::Subscription> for Webhook {
    fn from(webhook: domain::Subscription) -> Self {
        Self {
            id: webhook.id.as_uuid(),
            project_id: webhook.project.as_uuid(),
            url: webhook.url,
            description: webhook.description,
            event_types: webhook
                .filter
                .types
                .into_iter()
                .map(WatchEventType::from)
                .collect(),
            label_selector: webhook.filter.selector_text,
            enabled: webhook.enabled,
            disabled_reason: webhook.disabled_reason,
            failing_since: webhook.failing_since,
            previous_secret_expires_at: webhook.secrets.previous.map(|(_, until)| until),
            created_at: webhook.created_at,
            updated_at: webhook.updated_at,
        }
    }
}

/// A subscription with its signing secret, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct WebhookWithSecret {
    /// The subscription.
    pub webhook: Webhook,
    /// The secret that signs its deliveries (`whsec_` and base64), as Standard Webhooks
    /// verifiers take it.
    pub secret: String,
}

impl From<domain::Subscription> for WebhookWithSecret {
    fn from(webhook: domain::Subscription) -> Self {
        Self {
            secret: webhook.secrets.current.expose().to_owned(),
            webhook: webhook.into(),
        }
    }
}

/// One page of subscriptions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct WebhookList {
    /// The subscriptions, oldest first.
    pub items: Vec<Webhook>,
    /// Pass as `cursor` to read the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl From<Page<domain::Subscription>> for WebhookList {
    fn from(page: Page<domain::Subscription>) -> Self {
        Self {
            items: page.items.into_iter().map(Webhook::from).collect(),
            next_cursor: page.next.map(|cursor| cursor.encode()),
        }
    }
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Apiv2Schema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not delivered yet: an attempt is due at `next_attempt_at`.
    Pending,
    /// A 2xx answered it.
    Succeeded,
    /// Every attempt failed, or the receiver answered 410 Gone.
    Failed,
}

impl From<domain::DeliveryStatus> for DeliveryStatus {
    fn from(status: domain::DeliveryStatus) -> Self {
        match status {
            domain::DeliveryStatus::Pending => Self::Pending,
            domain::DeliveryStatus::Succeeded => Self::Succeeded,
            domain::DeliveryStatus::Failed => Self::Failed,
        }
    }
}

/// One message to a subscription and what its attempts met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct WebhookDelivery {
    /// Its id.
    pub id: Uuid,
    /// The `webhook-id` header it is sent with, the same on every attempt.
    pub message_id: String,
    /// The message's type (an event type, or `webhook.test`).
    pub event_type: String,
    /// The `seq` of the event it carries; absent for a test message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_seq: Option<i64>,
    /// Where it is.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When the next attempt is due; absent once it succeeded or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the last attempt was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status of the last answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_response_status: Option<u16>,
    /// How long the last attempt took, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_latency_ms: Option<u32>,
    /// Why the last attempt got no answer (a timeout, a refused or forbidden connection).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl From<domain::Delivery> for WebhookDelivery {
    fn from(delivery: domain::Delivery) -> Self {
        Self {
            id: delivery.id.as_uuid(),
            message_id: delivery.id.message_id(),
            event_type: delivery.event_type,
            event_seq: delivery.event_seq,
            status: delivery.status.into(),
            attempts: delivery.attempts,
            created_at: delivery.created_at,
            next_attempt_at: delivery.next_attempt_at,
            last_attempt_at: delivery.last_attempt_at,
            last_response_status: delivery.last_status,
            last_latency_ms: delivery.last_latency_ms,
            last_error: delivery.last_error,
        }
    }
}

/// One page of deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Apiv2Schema)]
pub struct WebhookDeliveryList {
    /// The deliveries, newest first.
    pub items: Vec<WebhookDelivery>,
    /// Pass as `cursor` to read the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl From<Page<domain::Delivery>> for WebhookDeliveryList {
    fn from(page: Page<domain::Delivery>) -> Self {
        Self {
            items: page.items.into_iter().map(WebhookDelivery::from).collect(),
            next_cursor: page.next.map(|cursor| cursor.encode()),
        }
    }
}

/// Paging of subscriptions or deliveries.
#[derive(Debug, Clone, Default, Deserialize, Apiv2Schema)]
pub struct WebhookListQuery {
    /// Page size, 1 to 100; 20 when left out.
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}
