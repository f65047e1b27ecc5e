//! Managing webhook subscriptions (`/webhooks`) and reading their deliveries.
//!
//! A subscription belongs to the caller's project and takes that project's events only;
//! members make and change them, viewers read them, an admin reads every project's. A
//! subscription of another project is "not found", never "forbidden".

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::entropy::Entropy;
use crate::error::WebhookError;
use crate::event::EventType;
use crate::ids::{DeliveryId, ProjectId, ServerId, WebhookId};
use crate::page::{Cursor, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page};
use crate::ports::{Clock, DeliveryListing, EventLog, WebhookListing, WebhookStore, WebhookWrite};
use crate::selector::Selector;
use crate::service::input::page_limit;
use crate::tenancy::{Caller, Role};
use crate::webhooks::{
    AddressPolicy, Delivery, MAX_DESCRIPTION_LEN, NewDelivery, SigningSecrets, Subscription,
    SubscriptionChanges, WebhookFilter, WebhookSecret, check_url, test_message,
};

/// The most subscriptions a project may have: the outbox reads every enabled one's events
/// on each pass.
pub const MAX_WEBHOOKS_PER_PROJECT: u64 = 25;

/// How many times a change found stale (the subscription written since it was read) is
/// read and made again before the request gives up: a change is tried this many times and
/// one more in all.
pub const WEBHOOK_WRITE_RETRIES: u32 = 3;

/// A subscription as a client asks for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewWebhook {
    /// Where deliveries go.
    pub url: String,
    /// What it is for.
    pub description: Option<String>,
    /// These types only; every type when empty.
    pub types: Vec<EventType>,
    /// Only events of servers matching this selector.
    pub selector: Option<String>,
    /// Whether it starts enabled (the default).
    pub enabled: Option<bool>,
}

/// The webhook subscriptions' use cases.
pub struct WebhookService {
    store: Arc<dyn WebhookStore>,
    events: Arc<dyn EventLog>,
    clock: Arc<dyn Clock>,
    policy: AddressPolicy,
    ids: Arc<Entropy>,
}

impl WebhookService {
    /// The service over its ports; `events` tells where a new subscription starts (after
    /// every event there is now), `policy` where deliveries may go.
    pub fn new(
        store: Arc<dyn WebhookStore>,
        events: Arc<dyn EventLog>,
        clock: Arc<dyn Clock>,
        policy: AddressPolicy,
    ) -> Self {
        Self {
            store,
            events,
            clock,
            policy,
            ids: Arc::new(Entropy::os()),
        }
    }

    /// The service drawing the ids it makes from `ids` (the operating system by default);
    /// secrets always come from the operating system.
    pub fn with_entropy(mut self, ids: Arc<Entropy>) -> Self {
        self.ids = ids;
        self
    }

    /// Makes a subscription of the caller's project (member or admin); it takes the events
    /// recorded from now on. The answer holds its secret, which no later read shows.
    pub async fn create(
        &self,
        caller: &Caller,
        request: NewWebhook,
    ) -> Result<Subscription, WebhookError> {
        caller.require(Role::Member)?;
        let url = check_url(&request.url, &self.policy)?;
        let description = checked_description(request.description)?;
        let filter = filter(request.types, request.selector)?;
        if self.store.count_webhooks(caller.project).await? >= MAX_WEBHOOKS_PER_PROJECT {
            return Err(WebhookError::TooMany {
                max: MAX_WEBHOOKS_PER_PROJECT,
            });
        }
        let now = self.clock.now();
        let webhook = Subscription {
            id: WebhookId::from(self.ids.uuid("webhook-id", "")),
            project: caller.project,
            url,
            description,
            filter,
            enabled: request.enabled.unwrap_or(true),
            disabled_reason: None,
            secrets: SigningSecrets {
                current: WebhookSecret::generate()?,
                previous: None,
            },
            cursor: self.events.horizon().await?.latest,
            failing_since: None,
            created_at: now,
            updated_at: now,
            generation: 0,
        };
        self.store.create_webhook(&webhook).await?;
        Ok(webhook)
    }

    /// The subscription, if the caller sees it.
    pub async fn get(&self, caller: &Caller, id: WebhookId) -> Result<Subscription, WebhookError> {
        self.store
            .webhook(id)
            .await?
            .filter(|webhook| sees(caller, webhook.project))
            .ok_or(WebhookError::NotFound(id))
    }

    /// A page of the subscriptions the caller sees, oldest first.
    pub async fn list(
        &self,
        caller: &Caller,
        limit: Option<i64>,
        cursor: Option<&str>,
    ) -> Result<Page<Subscription>, WebhookError> {
        let limit = checked_limit(limit)?;
        let after = decode(cursor)?.map(|(at, id)| (at, WebhookId::from(id)));
        let webhooks = self
            .store
            .webhooks(&WebhookListing {
                project: caller.scope(),
                limit: limit + 1,
                after,
            })
            .await?;
        Ok(paged(webhooks, limit, |w| (w.created_at, w.id.as_uuid())))
    }

    /// Changes a subscription (member or admin). Enabling a disabled one starts it from
    /// now: the events it missed while disabled are not delivered.
    ///
    /// The change is made to the subscription as read and written only over that read, so
    /// whatever was written meanwhile (another change, a rotation, the dispatcher disabling
    /// it) is kept: a field the request leaves alone stays as it is now, not as it was read.
    /// When the subscription was written since the read, it is read and the change made
    /// again, up to [`WEBHOOK_WRITE_RETRIES`] times.
    pub async fn update(
        &self,
        caller: &Caller,
        id: WebhookId,
        changes: SubscriptionChanges,
    ) -> Result<Subscription, WebhookError> {
        caller.require(Role::Member)?;
        for _ in 0..=WEBHOOK_WRITE_RETRIES {
            let mut webhook = self.get(caller, id).await?;
            let moved = self.change(&mut webhook, &changes).await?;
            if let Some(written) = self.write(webhook, moved).await? {
                return Ok(written);
            }
        }
        Err(changed_concurrently(id))
    }

    /// Makes `changes` to `webhook`; whether it moved (was enabled, and so starts from the
    /// events there are now).
    async fn change(
        &self,
        webhook: &mut Subscription,
        changes: &SubscriptionChanges,
    ) -> Result<bool, WebhookError> {
        if let Some(url) = &changes.url {
            webhook.url = check_url(url, &self.policy)?;
        }
        if let Some(description) = &changes.description {
            webhook.description = checked_description(Some(description.clone()))?;
        }
        let selector = changes
            .selector
            .clone()
            .unwrap_or_else(|| webhook.filter.selector_text.clone());
        let types = changes
            .types
            .clone()
            .unwrap_or_else(|| webhook.filter.types.clone());
        webhook.filter = filter(types, selector)?;
        let enabling = changes.enabled == Some(true) && !webhook.enabled;
        if let Some(enabled) = changes.enabled {
            webhook.enabled = enabled;
            webhook.disabled_reason = None;
        }
        if enabling {
            webhook.cursor = self.events.horizon().await?.latest;
            webhook.failing_since = None;
        }
        webhook.updated_at = self.clock.now();
        Ok(enabling)
    }

    /// Writes `webhook` over the generation it was read at: the subscription as stored
    /// now, or `None` when it was written since (stale).
    async fn write(
        &self,
        mut webhook: Subscription,
        moved: bool,
    ) -> Result<Option<Subscription>, WebhookError> {
        match self.store.update_webhook(&webhook, moved).await? {
            WebhookWrite::Done => {
                webhook.generation += 1;
                Ok(Some(webhook))
            }
            WebhookWrite::Stale => Ok(None),
            WebhookWrite::Missing => Err(WebhookError::NotFound(webhook.id)),
        }
    }

    /// Deletes a subscription and its deliveries (member or admin).
    pub async fn delete(&self, caller: &Caller, id: WebhookId) -> Result<(), WebhookError> {
        caller.require(Role::Member)?;
        self.get(caller, id).await?;
        if !self.store.delete_webhook(id).await? {
            return Err(WebhookError::NotFound(id));
        }
        Ok(())
    }

    /// Gives a subscription a new secret (member or admin); the old one keeps signing
    /// beside it for a day, so receivers can switch without losing a message. The answer
    /// holds the new secret. A rotation written over a stale read is made again over a new
    /// one (see [`WebhookService::update`]), so of two rotations at once the second keeps
    /// the first's secret signing beside its own.
    pub async fn rotate_secret(
        &self,
        caller: &Caller,
        id: WebhookId,
    ) -> Result<Subscription, WebhookError> {
        caller.require(Role::Member)?;
        let next = WebhookSecret::generate()?;
        for _ in 0..=WEBHOOK_WRITE_RETRIES {
            let mut webhook = self.get(caller, id).await?;
            let now = self.clock.now();
            webhook.secrets = webhook.secrets.rotated(next.clone(), now);
            webhook.updated_at = now;
            if let Some(written) = self.write(webhook, false).await? {
                return Ok(written);
            }
        }
        Err(changed_concurrently(id))
    }

    /// Queues a `webhook.test` message to the subscription (member or admin), delivered
    /// and retried like any other.
    pub async fn test(&self, caller: &Caller, id: WebhookId) -> Result<Delivery, WebhookError> {
        caller.require(Role::Member)?;
        let webhook = self.get(caller, id).await?;
        let now = self.clock.now();
        let delivery = NewDelivery {
            id: DeliveryId::from(self.ids.uuid("webhook-test", "")),
            webhook: webhook.id,
            event_seq: None,
            event_type: crate::webhooks::TEST_TYPE.to_owned(),
            payload: test_message(webhook.id, now),
            trace: None,
            created_at: now,
        };
        // The subscription may be deleted between the read and the insert, and with it the
        // delivery once stored: either way it is the subscription that is not found.
        if !self.store.add_delivery(&delivery).await? {
            return Err(WebhookError::NotFound(id));
        }
        self.store
            .delivery(webhook.id, delivery.id)
            .await?
            .ok_or(WebhookError::NotFound(id))
    }

    /// A page of a subscription's deliveries, newest first.
    pub async fn deliveries(
        &self,
        caller: &Caller,
        id: WebhookId,
        limit: Option<i64>,
        cursor: Option<&str>,
    ) -> Result<Page<Delivery>, WebhookError> {
        let limit = checked_limit(limit)?;
        let webhook = self.get(caller, id).await?;
        let after = decode(cursor)?.map(|(at, id)| (at, DeliveryId::from(id)));
        let deliveries = self
            .store
            .deliveries(&DeliveryListing {
                webhook: webhook.id,
                limit: limit + 1,
                after,
            })
            .await?;
        Ok(paged(deliveries, limit, |d| (d.created_at, d.id.as_uuid())))
    }

    /// Tries a delivery again now (member or admin), whatever became of it, keeping its
    /// `webhook-id` and body.
    pub async fn retry(
        &self,
        caller: &Caller,
        id: WebhookId,
        delivery: DeliveryId,
    ) -> Result<Delivery, WebhookError> {
        caller.require(Role::Member)?;
        let webhook = self.get(caller, id).await?;
        self.store
            .retry_delivery(webhook.id, delivery, self.clock.now())
            .await?
            .ok_or(WebhookError::DeliveryNotFound(delivery))
    }
}

fn changed_concurrently(id: WebhookId) -> WebhookError {
    WebhookError::ChangedConcurrently {
        id,
        attempts: WEBHOOK_WRITE_RETRIES + 1,
    }
}

fn sees(caller: &Caller, project: ProjectId) -> bool {
    caller.scope().is_none_or(|own| own == project)
}

fn checked_limit(limit: Option<i64>) -> Result<u32, WebhookError> {
    page_limit(limit, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE).map_err(|given| WebhookError::BadLimit {
        given,
        max: MAX_PAGE_SIZE,
    })
}

fn checked_description(description: Option<String>) -> Result<String, WebhookError> {
    let description = description.unwrap_or_default();
    let length = description.chars().count();
    if length > MAX_DESCRIPTION_LEN {
        return Err(WebhookError::BadDescription(length));
    }
    Ok(description)
}

fn filter(types: Vec<EventType>, selector: Option<String>) -> Result<WebhookFilter, WebhookError> {
    if types.len() > EventType::ALL.len() {
        return Err(WebhookError::BadTypes(types.len()));
    }
    let parsed = Selector::parse_filter(selector.as_deref())?;
    let mut types = types;
    types.sort_by_key(|t| t.as_str());
    types.dedup();
    Ok(WebhookFilter {
        types,
        selector_text: parsed.as_ref().and(selector),
        selector: parsed,
    })
}

/// The (creation time, id) a page cursor carries.
fn decode(cursor: Option<&str>) -> Result<Option<(DateTime<Utc>, uuid::Uuid)>, WebhookError> {
    Ok(cursor
        .map(Cursor::decode)
        .transpose()?
        .map(|c| (c.created_at, c.id.as_uuid())))
}

/// A page of `limit` from `items` read one past it, with the cursor of its last item when
/// more follow.
fn paged<T>(
    mut items: Vec<T>,
    limit: u32,
    key: impl Fn(&T) -> (DateTime<Utc>, uuid::Uuid),
) -> Page<T> {
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|item| {
            let (created_at, id) = key(item);
            Cursor {
                created_at,
                id: ServerId::from(id),
            }
        })
    } else {
        None
    };
    Page { items, next }
}

#[cfg(test)]
#[path = "webhooks_tests.rs"]
mod tests;
