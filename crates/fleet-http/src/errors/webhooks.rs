//! The problems of webhook subscriptions and their deliveries.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use fleet_domain::error::WebhookError;
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{DefaultOperationRaw, DefaultSchemaRaw};
use paperclip::v2::schema::Apiv2Errors;

use super::document_problems;
use crate::problem::Problem;

/// The 409 of the operations that write a webhook over what they read.
const CHANGED_CONCURRENTLY: &str = "The webhook was changed by something else (another request, or fleet disabling it after failed deliveries) each time this change was about to be written, 4 times in a row (`webhook-changed-concurrently`); nothing was changed. Read it again and retry.";

impl From<WebhookError> for Problem {
    fn from(error: WebhookError) -> Self {
        let detail = error.to_string();
        match error {
            WebhookError::Forbidden(forbidden) => forbidden.into(),
            WebhookError::NotFound(_) | WebhookError::DeliveryNotFound(_) => {
                Problem::not_found(detail)
            }
            WebhookError::TooMany { .. } => {
                Problem::new(StatusCode::CONFLICT, "too-many-webhooks", detail)
            }
            WebhookError::ChangedConcurrently { .. } => {
                Problem::new(StatusCode::CONFLICT, "webhook-changed-concurrently", detail)
            }
            WebhookError::BadUrl(_) => Problem::unprocessable("invalid-webhook-url", detail),
            WebhookError::BadSelector(error) => Problem::invalid_label_selector(&error, detail),
            WebhookError::BadDescription(_) => {
                Problem::unprocessable("invalid-description", detail)
            }
            WebhookError::BadTypes(_) => Problem::unprocessable("invalid-event-types", detail),
            WebhookError::BadLimit { .. } => Problem::bad_request("invalid-query", detail),
            WebhookError::BadCursor(_) => Problem::bad_request("invalid-cursor", detail),
            WebhookError::NoRandomness(_) => Problem::internal(detail),
            WebhookError::Store(e) => e.into(),
        }
    }
}

failure!(
    /// Why creating a webhook failed.
    CreateWebhookFailure {
        400 => "The body is not valid JSON, or the label selector does not parse (`invalid-label-selector`).",
        403 => "Making webhooks takes the `member` role.",
        408 => "The body did not arrive within 5 seconds.",
        409 => "The project has 25 webhooks already (`too-many-webhooks`).",
        413 => "The body is too large.",
        415 => "The body is not `application/json`.",
        422 => "The body has unknown or missing fields, an unknown event type or more than 8 (`invalid-event-types`), a description over 256 characters (`invalid-description`), or a URL that is not http(s), too long, carries credentials or aims at a forbidden address (`invalid-webhook-url`, naming the reason).",
        500 => "The service failed.",
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
    }
);

failure!(
    /// Why listing webhooks failed.
    WebhooksFailure {
        400 => "`limit` or `cursor` is invalid.",
        500 => "The service failed.",
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
    }
);

failure!(
    /// Why listing a webhook's deliveries failed.
    DeliveriesFailure {
        400 => "The id is not a UUID, or `limit` or `cursor` is invalid.",
        404 => "No webhook of the caller's project has this id.",
        500 => "The service failed.",
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
    }
);

failure!(
    /// Why reading a webhook failed.
    WebhookFailure {
        400 => "The id is not a UUID.",
        404 => "No webhook of the caller's project has this id.",
        500 => "The service failed.",
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
    }
);

failure!(
    /// Why changing a webhook failed.
    UpdateWebhookFailure {
        400 => "The id is not a UUID, the body is not valid JSON, or the label selector does not parse (`invalid-label-selector`).",
        403 => "Changing webhooks takes the `member` role.",
        404 => "No webhook of the caller's project has this id.",
        408 => "The body did not arrive within 5 seconds.",
        409 => CHANGED_CONCURRENTLY,
        413 => "The body is too large.",
        415 => "The body is not `application/json`.",
        422 => "The body has unknown fields, an unknown event type or more than 8 (`invalid-event-types`), a description over 256 characters (`invalid-description`), or a refused URL (`invalid-webhook-url`).",
        500 => "The service failed.",
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
    }
);

failure!(
    /// Why rotating a webhook's secret failed.
    RotateWebhookSecretFailure {
        400 => "The id is not a UUID.",
        403 => "Changing webhooks takes the `member` role.",
        404 => "No webhook of the caller's project has this id.",
        409 => CHANGED_CONCURRENTLY,
        500 => "The service failed.",
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
    }
);

failure!(
    /// Why an action on a webhook (delete it, test it) failed.
    WebhookActionFailure {
        400 => "The id is not a UUID.",
        403 => "Changing webhooks takes the `member` role.",
        404 => "No webhook of the caller's project has this id.",
        500 => "The service failed.",
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
    }
);

failure!(
    /// Why retrying a delivery failed.
    RetryDeliveryFailure {
        400 => "An id is not a UUID.",
        403 => "Retrying deliveries takes the `member` role.",
        404 => "No webhook of the caller's project has this id, or it has no such delivery.",
        500 => "The service failed.",
        503 => "The store is unavailable, overloaded or contended; retry after `Retry-After` seconds.",
    }
);

#[cfg(test)]
mod tests {
    use fleet_domain::ids::WebhookId;

    use super::*;

    #[test]
    fn a_change_that_kept_meeting_another_is_a_409_naming_the_webhook() {
        let id = WebhookId::random();
        let problem = Problem::from(WebhookError::ChangedConcurrently { id, attempts: 4 });
        assert_eq!(problem.status, 409);
        assert_eq!(
            problem.problem_type,
            "urn:fleet:problem:webhook-changed-concurrently"
        );
        assert!(problem.detail.contains(&id.to_string()), "{problem}");
        let tries = fleet_domain::service::WEBHOOK_WRITE_RETRIES + 1;
        assert!(
            CHANGED_CONCURRENTLY.contains(&format!(", {tries} times in a row")),
            "the documented 409 counts the tries as the service makes them"
        );
    }
}
