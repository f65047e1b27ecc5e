//! `/webhooks`: subscriptions that push the caller's project's events to a URL, signed as
//! Standard Webhooks specifies, and their delivery log.

use fleet_domain::{DeliveryId, WebhookId};
use paperclip::actix::{api_v2_operation, web};
use uuid::Uuid;

use crate::auth::ApiCaller;
use crate::body::JsonBody;
use crate::dto;
use crate::errors::{
    CreateWebhookFailure, DeliveriesFailure, RetryDeliveryFailure, RotateWebhookSecretFailure,
    UpdateWebhookFailure, WebhookActionFailure, WebhookFailure, WebhooksFailure,
};
use crate::query::Query;
use crate::responses::{Deleted, DeliveryQueued, SecretRotated, WebhookCreated};
use crate::state::AppState;

/// Create a webhook
///
/// Subscribes a URL to the caller's project's events from now on (of the given types and
/// servers, or all). Each event becomes a delivery: a POST of `{"type", "timestamp",
/// "data"}` (`data` is the event as `GET /events` shows it) with the Standard Webhooks
/// headers `webhook-id`, `webhook-timestamp` and `webhook-signature`, retried on failure
/// (immediately, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h, with
/// jitter). The answer holds the signing secret, shown this once.
#[api_v2_operation(
    operation_id = "createWebhook",
    tags(Webhooks),
    consumes = "application/json",
    produces = "application/json, application/problem+json"
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: ApiCaller,
    body: JsonBody<dto::CreateWebhookRequest>,
) -> Result<WebhookCreated, CreateWebhookFailure> {
    let webhook = state
        .webhooks
        .create(&caller, body.into_inner().into())
        .await?;
    Ok(WebhookCreated::new(webhook.into()))
}

/// List webhooks
///
/// The caller's project's webhooks (an admin's: every project's), oldest first.
#[api_v2_operation(
    operation_id = "listWebhooks",
    tags(Webhooks),
    produces = "application/json, application/problem+json"
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: ApiCaller,
    query: Query<dto::WebhookListQuery>,
) -> Result<web::Json<dto::WebhookList>, WebhooksFailure> {
    let query = query.0;
    let page = state
        .webhooks
        .list(&caller, query.limit, query.cursor.as_deref())
        .await?;
    Ok(web::Json(page.into()))
}

/// Get a webhook
///
/// The webhook, without its secret.
#[api_v2_operation(
    operation_id = "getWebhook",
    tags(Webhooks),
    produces = "application/json, application/problem+json"
)]
pub async fn get(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<Uuid>,
) -> Result<web::Json<dto::Webhook>, WebhookFailure> {
    let webhook = state
        .webhooks
        .get(&caller, WebhookId::from(id.into_inner()))
        .await?;
    Ok(web::Json(webhook.into()))
}

/// Change a webhook
///
/// Changes the fields given; `enabled: false` stops its deliveries and `enabled: true`
/// resumes them with the events from then on. The fields not given keep their values as
/// they are when the change is written: a change never undoes another made meanwhile (nor
/// fleet disabling the webhook).
#[api_v2_operation(
    operation_id = "updateWebhook",
    tags(Webhooks),
    consumes = "application/json",
    produces = "application/json, application/problem+json"
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<Uuid>,
    body: JsonBody<dto::UpdateWebhookRequest>,
) -> Result<web::Json<dto::Webhook>, UpdateWebhookFailure> {
    let webhook = state
        .webhooks
        .update(
            &caller,
            WebhookId::from(id.into_inner()),
            body.into_inner().into(),
        )
        .await?;
    Ok(web::Json(webhook.into()))
}

/// Delete a webhook
///
/// Deletes the webhook and its delivery log; nothing more is sent to it.
#[api_v2_operation(
    operation_id = "deleteWebhook",
    tags(Webhooks),
    produces = "application/json, application/problem+json"
)]
pub async fn delete(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<Uuid>,
) -> Result<Deleted, WebhookActionFailure> {
    state
        .webhooks
        .delete(&caller, WebhookId::from(id.into_inner()))
        .await?;
    Ok(Deleted)
}

/// Rotate a webhook's secret
///
/// Gives the webhook a new signing secret, returned this once. For 24 hours deliveries
/// carry a signature by each secret, so a receiver can switch without refusing any.
#[api_v2_operation(
    operation_id = "rotateWebhookSecret",
    tags(Webhooks),
    produces = "application/json, application/problem+json"
)]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<Uuid>,
) -> Result<SecretRotated, RotateWebhookSecretFailure> {
    let webhook = state
        .webhooks
        .rotate_secret(&caller, WebhookId::from(id.into_inner()))
        .await?;
    Ok(SecretRotated::new(webhook.into()))
}

/// Send a test message
///
/// Queues a `webhook.test` message to the webhook, delivered and retried like an event.
#[api_v2_operation(
    operation_id = "testWebhook",
    tags(Webhooks),
    produces = "application/json, application/problem+json"
)]
pub async fn test(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<Uuid>,
) -> Result<DeliveryQueued, WebhookActionFailure> {
    let delivery = state
        .webhooks
        .test(&caller, WebhookId::from(id.into_inner()))
        .await?;
    Ok(DeliveryQueued(delivery.into()))
}

/// List a webhook's deliveries
///
/// Its deliveries, newest first: status, attempts, the last answer's status and latency,
/// the next attempt.
#[api_v2_operation(
    operation_id = "listWebhookDeliveries",
    tags(Webhooks),
    produces = "application/json, application/problem+json"
)]
pub async fn deliveries(
    state: web::Data<AppState>,
    caller: ApiCaller,
    id: web::Path<Uuid>,
    query: Query<dto::WebhookListQuery>,
) -> Result<web::Json<dto::WebhookDeliveryList>, DeliveriesFailure> {
    let query = query.0;
    let page = state
        .webhooks
        .deliveries(
            &caller,
            WebhookId::from(id.into_inner()),
            query.limit,
            query.cursor.as_deref(),
        )
        .await?;
    Ok(web::Json(page.into()))
}

/// Retry a delivery
///
/// Tries a delivery again now, whatever became of it, with the same `webhook-id` and body.
#[api_v2_operation(
    operation_id = "retryWebhookDelivery",
    tags(Webhooks),
    produces = "application/json, application/problem+json"
)]
pub async fn retry(
    state: web::Data<AppState>,
    caller: ApiCaller,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<DeliveryQueued, RetryDeliveryFailure> {
    let (id, delivery) = path.into_inner();
    let delivery = state
        .webhooks
        .retry(&caller, WebhookId::from(id), DeliveryId::from(delivery))
        .await?;
    Ok(DeliveryQueued(delivery.into()))
}
