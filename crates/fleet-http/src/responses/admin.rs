//! The admin API's responses: a created project, key or fault rule, a deleted one.

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

/// 201 with the new project and its `Location`.
pub struct ProjectCreated(pub dto::Project);

impl Responder for ProjectCreated {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        let mut response = json(StatusCode::CREATED, &self.0);
        if let Ok(location) = HeaderValue::from_str(&format!("/projects/{}", self.0.id)) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    }
}

impl Apiv2Schema for ProjectCreated {}

impl OperationModifier for ProjectCreated {
    fn update_response(op: &mut DefaultOperationRaw) {
        let location = Header {
            description: Some("The path of the new project.".to_owned()),
            data_type: Some(DataType::String),
            ..Default::default()
        };
        op.responses.insert(
            "201".to_owned(),
            Either::Right(Response {
                description: Some("Created: the project.".to_owned()),
                schema: Some(schema_of::<dto::Project>()),
                headers: BTreeMap::from([("Location".to_owned(), location)]),
            }),
        );
    }

    fn update_definitions(map: &mut BTreeMap<String, DefaultSchemaRaw>) {
        <dto::Project as OperationModifier>::update_definitions(map);
    }
}

/// 201 with the new fault rule and its `Location`.
pub struct FaultRuleCreated(pub dto::FaultRule);

impl Responder for FaultRuleCreated {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        let mut response = json(StatusCode::CREATED, &self.0);
        if let Ok(location) = HeaderValue::from_str(&format!("/faults/{}", self.0.id)) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    }
}

impl Apiv2Schema for FaultRuleCreated {}

impl OperationModifier for FaultRuleCreated {
    fn update_response(op: &mut DefaultOperationRaw) {
        let location = Header {
            description: Some("The path of the new rule.".to_owned()),
            data_type: Some(DataType::String),
            ..Default::default()
        };
        op.responses.insert(
            "201".to_owned(),
            Either::Right(Response {
                description: Some("Created: the rule, in force at once.".to_owned()),
                schema: Some(schema_of::<dto::FaultRule>()),
                headers: BTreeMap::from([("Location".to_owned(), location)]),
            }),
        );
    }

    fn update_definitions(map: &mut BTreeMap<String, DefaultSchemaRaw>) {
        <dto::FaultRule as OperationModifier>::update_definitions(map);
    }
}

/// 201 with the new key and its text, marked `Cache-Control: no-store`: the one response
/// that holds a secret must not be kept by a cache on the way.
pub struct KeyCreated(pub dto::CreatedKey);

impl Responder for KeyCreated {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        let mut response = json(StatusCode::CREATED, &self.0);
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

impl Apiv2Schema for KeyCreated {}

impl OperationModifier for KeyCreated {
    fn update_response(op: &mut DefaultOperationRaw) {
        let no_store = Header {
            description: Some("`no-store`: the body holds the key's secret.".to_owned()),
            data_type: Some(DataType::String),
            ..Default::default()
        };
        op.responses.insert(
            "201".to_owned(),
            Either::Right(Response {
                description: Some("Created: the key, with its text (shown this once).".to_owned()),
                schema: Some(schema_of::<dto::CreatedKey>()),
                headers: BTreeMap::from([("Cache-Control".to_owned(), no_store)]),
            }),
        );
    }

    fn update_definitions(map: &mut BTreeMap<String, DefaultSchemaRaw>) {
        <dto::CreatedKey as OperationModifier>::update_definitions(map);
    }
}

/// 204: the resource is gone.
pub struct Deleted;

impl Responder for Deleted {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        HttpResponse::NoContent().finish()
    }
}

impl Apiv2Schema for Deleted {}

impl OperationModifier for Deleted {
    fn update_response(op: &mut DefaultOperationRaw) {
        op.responses.insert(
            "204".to_owned(),
            Either::Right(Response {
                description: Some("Deleted.".to_owned()),
                ..Default::default()
            }),
        );
    }
}
