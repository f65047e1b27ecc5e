//! Success responses whose status or headers depend on the outcome, documented in the spec.

mod admin;
mod costs;
mod servers;
mod stream;
mod webhooks;

use actix_web::HttpResponse;
use actix_web::ResponseError;
use actix_web::http::StatusCode;
use paperclip::v2::models::DefaultSchemaRaw;
use paperclip::v2::schema::Apiv2Schema;
use serde::Serialize;

pub use admin::{BudgetCreated, CreatedAt, Deleted, FaultRuleCreated, KeyCreated, ProjectCreated};
pub use costs::CostReportResponse;
pub use servers::{ActionTaken, Created, ServerRead, TaggedServer, Updated};
pub use stream::EventStream;
pub use webhooks::{DeliveryQueued, SecretRotated, WebhookCreated};

use crate::problem::Problem;

fn json(status: StatusCode, body: &impl Serialize) -> HttpResponse {
    match serde_json::to_string(body) {
        Ok(body) => HttpResponse::build(status)
            .content_type("application/json")
            .body(body),
        Err(e) => Problem::internal(e).error_response(),
    }
}

/// A reference to `T`'s component, for a response's schema.
fn schema_of<T: Apiv2Schema>() -> DefaultSchemaRaw {
    let mut schema = T::schema_with_ref();
    schema.retain_ref();
    schema
}
