//! The servers' responses: a provisioned server, a server read (or not modified), an
//! updated one, an action's outcome; each with the server's `ETag`.

use std::collections::BTreeMap;

use actix_web::body::BoxBody;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, Responder};
use fleet_domain::service::ServerView;
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{
    DataType, DefaultOperationRaw, DefaultSchemaRaw, Either, Header, Response,
};
use paperclip::v2::schema::Apiv2Schema;

use super::{json, schema_of};
use crate::conditional::ETag;
use crate::dto;

fn server_schema() -> DefaultSchemaRaw {
    schema_of::<dto::Server>()
}

/// A server as a response carries it, with its entity-tag.
pub struct TaggedServer {
    /// The server.
    pub server: dto::Server,
    /// Its `ETag`.
    pub etag: ETag,
}

impl From<ServerView> for TaggedServer {
    fn from(view: ServerView) -> Self {
        Self {
            etag: ETag::of(&view.server),
            server: view.into(),
        }
    }
}

impl TaggedServer {
    fn respond(&self, status: StatusCode) -> HttpResponse {
        let mut response = json(status, &self.server);
        self.etag.stamp(&mut response);
        response
    }
}

/// The `ETag` response header as the spec documents it.
fn etag_header() -> BTreeMap<String, Header> {
    BTreeMap::from([(
        "ETag".to_owned(),
        Header {
            description: Some(
                "The server's entity-tag: its generation, which every stored change to it \
                 moves on (cost so far, computed when read, is not covered). Send it as \
                 `If-Match` to change the server only as read, or as `If-None-Match` to \
                 read it only when it changed."
                    .to_owned(),
            ),
            data_type: Some(DataType::String),
            ..Default::default()
        },
    )])
}

/// Documents a response of `status` with the server and its `ETag`.
fn document_server(op: &mut DefaultOperationRaw, status: &str, description: &str) {
    op.responses.insert(
        status.to_owned(),
        Either::Right(Response {
            description: Some(description.to_owned()),
            schema: Some(server_schema()),
            headers: etag_header(),
        }),
    );
}

/// 201 with the new server, its `Location` and `ETag`.
pub struct Created(pub TaggedServer);

impl Responder for Created {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        let mut response = self.0.respond(StatusCode::CREATED);
        let location = format!("/servers/{}", self.0.server.id);
        if let Ok(location) = header::HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    }
}

impl Apiv2Schema for Created {}

impl OperationModifier for Created {
    fn update_response(op: &mut DefaultOperationRaw) {
        document_server(op, "201", "Created: the server, in `provisioning`.");
        if let Some(Either::Right(created)) = op.responses.get_mut("201") {
            created.headers.insert(
                "Location".to_owned(),
                Header {
                    description: Some("The path of the new server.".to_owned()),
                    data_type: Some(DataType::String),
                    ..Default::default()
                },
            );
        }
    }

    fn update_definitions(map: &mut BTreeMap<String, DefaultSchemaRaw>) {
        <dto::Server as OperationModifier>::update_definitions(map);
    }
}

/// A server read: 200 with it, or 304 when the client's copy is current.
pub enum ServerRead {
    /// The server, which the client's copy is not.
    Changed(Box<TaggedServer>),
    /// The client's copy is current: its `ETag`, without a body.
    NotModified(ETag),
}

impl Responder for ServerRead {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        match self {
            Self::Changed(server) => server.respond(StatusCode::OK),
            Self::NotModified(etag) => {
                let mut response = HttpResponse::NotModified().finish();
                etag.stamp(&mut response);
                response
            }
        }
    }
}

impl Apiv2Schema for ServerRead {}

impl OperationModifier for ServerRead {
    fn update_response(op: &mut DefaultOperationRaw) {
        document_server(op, "200", "The server.");
        op.responses.insert(
            "304".to_owned(),
            Either::Right(Response {
                description: Some(
                    "Not modified: `If-None-Match` names the server's current `ETag` (or is \
                     `*`); no body."
                        .to_owned(),
                ),
                schema: None,
                headers: etag_header(),
            }),
        );
    }

    fn update_definitions(map: &mut BTreeMap<String, DefaultSchemaRaw>) {
        <dto::Server as OperationModifier>::update_definitions(map);
    }
}

/// 200 with the server as a change left it.
pub struct Updated(pub TaggedServer);

impl Responder for Updated {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        self.0.respond(StatusCode::OK)
    }
}

impl Apiv2Schema for Updated {}

impl OperationModifier for Updated {
    fn update_response(op: &mut DefaultOperationRaw) {
        document_server(op, "200", "The server as updated.");
    }

    fn update_definitions(map: &mut BTreeMap<String, DefaultSchemaRaw>) {
        <dto::Server as OperationModifier>::update_definitions(map);
    }
}

/// 202 with the server in its transitional state, or 200 when the action was a no-op.
pub struct ActionTaken {
    /// The server after the action.
    pub server: TaggedServer,
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
        self.server.respond(status)
    }
}

impl Apiv2Schema for ActionTaken {}

impl OperationModifier for ActionTaken {
    fn update_response(op: &mut DefaultOperationRaw) {
        document_server(
            op,
            "202",
            "Accepted: the server is now in the action's transitional state (or past it, \
             when the delay is zero).",
        );
        document_server(
            op,
            "200",
            "No-op: the server already is in, or is heading to, the state the action asks \
             for; nothing changed.",
        );
    }

    fn update_definitions(map: &mut BTreeMap<String, DefaultSchemaRaw>) {
        <dto::Server as OperationModifier>::update_definitions(map);
    }
}
