//! The servers' responses: a provisioned server, an action's outcome.

use actix_web::body::BoxBody;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, Responder};
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{
    DataType, DefaultOperationRaw, DefaultSchemaRaw, Either, Header, Response,
};
use paperclip::v2::schema::Apiv2Schema;

use super::{json, schema_of};
use crate::dto;

fn server_schema() -> DefaultSchemaRaw {
    schema_of::<dto::Server>()
}

/// 201 with the new server and its `Location`.
pub struct Created(pub dto::Server);

impl Responder for Created {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        let mut response = json(StatusCode::CREATED, &self.0);
        if let Ok(location) = header::HeaderValue::from_str(&format!("/servers/{}", self.0.id)) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    }
}

impl Apiv2Schema for Created {}

impl OperationModifier for Created {
    fn update_response(op: &mut DefaultOperationRaw) {
        let mut headers = std::collections::BTreeMap::new();
        headers.insert(
            "Location".to_owned(),
            Header {
                description: Some("The path of the new server.".to_owned()),
                data_type: Some(DataType::String),
                ..Default::default()
            },
        );
        op.responses.insert(
            "201".to_owned(),
            Either::Right(Response {
                description: Some("Created: the server, in `provisioning`.".to_owned()),
                schema: Some(server_schema()),
                headers,
            }),
        );
    }

    fn update_definitions(map: &mut std::collections::BTreeMap<String, DefaultSchemaRaw>) {
        <dto::Server as OperationModifier>::update_definitions(map);
    }
}

/// 202 with the server in its transitional state, or 200 when the action was a no-op.
pub struct ActionTaken {
    /// The server after the action.
    pub server: dto::Server,
    /// False for a no-op.
    pub changed: bool,
}

impl Responder for ActionTaken {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        let status = if self.changed {
            StatusCode::ACCEPTED
        } else {
            StatusCode::OK
        };
        json(status, &self.server)
    }
}

impl Apiv2Schema for ActionTaken {}

impl OperationModifier for ActionTaken {
    fn update_response(op: &mut DefaultOperationRaw) {
        for (status, description) in [
            (
                "202",
                "Accepted: the server is now in the action's transitional state (or past it, \
                 when the delay is zero).",
            ),
            (
                "200",
                "No-op: the server already is in, or is heading to, the state the action asks \
                 for; nothing changed.",
            ),
        ] {
            op.responses.insert(
                status.to_owned(),
                Either::Right(Response {
                    description: Some(description.to_owned()),
                    schema: Some(server_schema()),
                    ..Default::default()
                }),
            );
        }
    }

    fn update_definitions(map: &mut std::collections::BTreeMap<String, DefaultSchemaRaw>) {
        <dto::Server as OperationModifier>::update_definitions(map);
    }
}
