//! The responses of created and deleted resources: a project, key, fault rule or budget.

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

/// A resource a `201 Created` answers with, at its own path.
pub trait Located: serde::Serialize + OperationModifier {
    /// What it is, for the spec: "project", "rule".
    const NOUN: &'static str;
    /// What the 201 says of it beyond "Created: the …".
    const REMARK: &'static str;
    /// Its path.
    fn path(&self) -> String;
}

impl Located for dto::Project {
    const NOUN: &'static str = "project";
    const REMARK: &'static str = "";
    fn path(&self) -> String {
        format!("/projects/{}", self.id)
    }
}

impl Located for dto::FaultRule {
    const NOUN: &'static str = "rule";
    const REMARK: &'static str = ", in force at once";
    fn path(&self) -> String {
        format!("/faults/{}", self.id)
    }
}

impl Located for dto::Budget {
    const NOUN: &'static str = "budget";
    const REMARK: &'static str = ", with its month so far";
    fn path(&self) -> String {
        format!("/budgets/{}", self.id)
    }
}

/// 201 with the new resource and its `Location`.
pub struct CreatedAt<T>(pub T);

/// 201 with the new project.
pub type ProjectCreated = CreatedAt<dto::Project>;
/// 201 with the new fault rule.
pub type FaultRuleCreated = CreatedAt<dto::FaultRule>;
/// 201 with the new budget.
pub type BudgetCreated = CreatedAt<dto::Budget>;

impl<T: Located> Responder for CreatedAt<T> {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        let mut response = json(StatusCode::CREATED, &self.0);
        if let Ok(location) = HeaderValue::from_str(&self.0.path()) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    }
}

impl<T: Located> Apiv2Schema for CreatedAt<T> {}

impl<T: Located + Apiv2Schema> OperationModifier for CreatedAt<T> {
    fn update_response(op: &mut DefaultOperationRaw) {
        let location = Header {
            description: Some(format!("The path of the new {}.", T::NOUN)),
            data_type: Some(DataType::String),
            ..Default::default()
        };
        op.responses.insert(
            "201".to_owned(),
            Either::Right(Response {
                description: Some(format!("Created: the {}{}.", T::NOUN, T::REMARK)),
                schema: Some(schema_of::<T>()),
                headers: BTreeMap::from([("Location".to_owned(), location)]),
            }),
        );
    }

    fn update_definitions(map: &mut BTreeMap<String, DefaultSchemaRaw>) {
        <T as OperationModifier>::update_definitions(map);
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
