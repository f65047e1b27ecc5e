//! The webhook API's responses that carry a secret or queue a delivery.

use std::collections::BTreeMap;

use actix_web::body::BoxBody;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, Responder};
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{
    DataType, DefaultOperationRaw, DefaultSchemaRaw, Either, Header, Response,
};
use paperclip::v2::schema::Apiv2Schema;

use super::{json, schema_of};
use crate::dto;

/// A subscription with its secret, marked `Cache-Control: no-store`: 201 with its
/// `Location` when it was just made (`CREATED`), 200 when its secret was rotated.
pub struct WebhookSecretShown<const CREATED: bool>(pub dto::WebhookWithSecret);

/// 201: a new subscription and its secret.
pub type WebhookCreated = WebhookSecretShown<true>;
/// 200: a subscription and its new secret.
pub type SecretRotated = WebhookSecretShown<false>;

impl<const CREATED: bool> WebhookSecretShown<CREATED> {
    /// The answer holding `body`.
    pub fn new(body: dto::WebhookWithSecret) -> Self {
        Self(body)
    }
}

impl<const CREATED: bool> Responder for WebhookSecretShown<CREATED> {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        let status = if CREATED {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        let mut response = json(status, &self.0);
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if CREATED
            && let Ok(location) = HeaderValue::from_str(&format!("/webhooks/{}", self.0.webhook.id))
        {
            headers.insert(header::LOCATION, location);
        }
        response
    }
}

impl<const CREATED: bool> Apiv2Schema for WebhookSecretShown<CREATED> {}

impl<const CREATED: bool> OperationModifier for WebhookSecretShown<CREATED> {
    fn update_response(op: &mut DefaultOperationRaw) {
        let no_store = || Header {
            description: Some("`no-store`: the body holds the signing secret.".to_owned()),
            data_type: Some(DataType::String),
            ..Default::default()
        };
        let (status, description) = if CREATED {
            (
                "201",
                "Created: the webhook, with its secret (shown this once).",
            )
        } else {
            (
                "200",
                "The webhook, with its new secret (shown this once); the old one signs beside it for 24 hours.",
            )
        };
        let mut headers = BTreeMap::from([("Cache-Control".to_owned(), no_store())]);
        if CREATED {
            headers.insert(
                "Location".to_owned(),
                Header {
                    description: Some("The path of the new webhook.".to_owned()),
                    data_type: Some(DataType::String),
                    ..Default::default()
                },
            );
        }
        op.responses.insert(
            status.to_owned(),
            Either::Right(Response {
                description: Some(description.to_owned()),
                schema: Some(schema_of::<dto::WebhookWithSecret>()),
                headers,
            }),
        );
    }

    fn update_definitions(map: &mut BTreeMap<String, DefaultSchemaRaw>) {
        <dto::WebhookWithSecret as OperationModifier>::update_definitions(map);
    }
}

/// 202: a delivery is queued (a test message, or a retry); its attempts follow.
pub struct DeliveryQueued(pub dto::WebhookDelivery);

impl Responder for DeliveryQueued {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        json(StatusCode::ACCEPTED, &self.0)
    }
}

impl Apiv2Schema for DeliveryQueued {}

impl OperationModifier for DeliveryQueued {
    fn update_response(op: &mut DefaultOperationRaw) {
        op.responses.insert(
            "202".to_owned(),
            Either::Right(Response {
                description: Some(
                    "Accepted: the delivery, due now; `GET /webhooks/{id}/deliveries` shows its attempts."
                        .to_owned(),
                ),
                schema: Some(schema_of::<dto::WebhookDelivery>()),
                headers: BTreeMap::new(),
            }),
        );
    }

    fn update_definitions(map: &mut BTreeMap<String, DefaultSchemaRaw>) {
        <dto::WebhookDelivery as OperationModifier>::update_definitions(map);
    }
}
