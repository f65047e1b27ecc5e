//! The EC2 Query API adapter of fleet (API version 2016-11-15): boto3, the AWS CLI and EC2
//! tooling drive fleet's servers as EC2 instances, with fleet's timing, addresses, billing,
//! quotas, chaos and clock.
//!
//! A request is a `POST` of form-encoded `Action=…&Version=…` to `/ec2` (or `/ec2/`),
//! signed with SigV4 ([`sigv4`], [`auth`]); the answer is EC2's XML ([`xml`]) or an EC2
//! error ([`errors`]). Each action ([`ops`]) parses its parameters ([`params`], [`filters`])
//! and calls the domain's use cases, so events, billing and metrics do not care which API
//! acted. [`mapping`] is how a server looks as an instance (docs/ec2.md has the table).
//!
//! It must never depend on a store crate, diesel, SQL, another driving adapter (the REST
//! API's types included) or the binary; like `fleet-http`, it may use `fleet_ops` for the
//! request's scope and the rate-limit counters.

pub mod auth;
pub mod errors;
pub mod filters;
pub mod mapping;
pub mod ops;
pub mod params;
pub mod sigv4;
mod state;
// The fields of the answers are EC2's, named and documented by the EC2 API reference.
#[allow(missing_docs)]
pub mod xml;

use actix_web::http::header::{CONTENT_TYPE, HOST};
use actix_web::{HttpRequest, HttpResponse, Resource, web};
use fleet_domain::TraceContext;
use fleet_ops::{FailureCause, RequestScope};

pub use state::{Ec2Auth, Ec2AuthMode, Ec2State, Requester};

use crate::errors::Ec2Error;
use crate::ops::Call;
use crate::params::Params;

/// Where fleetd serves the endpoint.
pub const PATH: &str = "/ec2";
/// The media type of every answer.
const XML: &str = "text/xml;charset=UTF-8";

/// The endpoint's resources, at `/ec2` and `/ec2/` (SDKs post to the path of the endpoint
/// URL exactly as given), answering `POST`.
pub fn resources(state: web::Data<Ec2State>) -> Vec<Resource> {
    [PATH.to_owned(), format!("{PATH}/")]
        .map(|path| {
            web::resource(path)
                .app_data(state.clone())
                .route(web::post().to(handle))
        })
        .into()
}

/// Authenticates a request, runs its action and answers EC2's XML.
async fn handle(req: HttpRequest, body: web::Bytes, state: web::Data<Ec2State>) -> HttpResponse {
    let scope = RequestScope::of(&req);
    match answer(&req, &body, &state, &scope).await {
        Ok(xml) => HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, XML))
            .body(xml),
        Err(error) => failure(error, scope.id()),
    }
}

async fn answer(
    req: &HttpRequest,
    body: &[u8],
    state: &Ec2State,
    scope: &RequestScope,
) -> Result<String, Ec2Error> {
    let params = Params::from_form(body)?;
    let signed = auth::authenticate(req, body, state).await?;
    let action = params.required("Action")?.to_owned();
    let call = Call {
        state,
        caller: signed.caller,
        region: signed.region,
        request_id: scope.id().to_owned(),
        trace: scope
            .trace_ids()
            .and_then(|(trace_id, span_id)| TraceContext::new(trace_id, span_id)),
        host: req
            .headers()
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1")
            .to_owned(),
        params,
    };
    ops::dispatch(&action, &call).await
}

/// An error answer, with its cause for the access log.
fn failure(error: Ec2Error, request_id: &str) -> HttpResponse {
    let body = xml::ErrorResponse {
        errors: xml::ErrorList {
            error: xml::ErrorItem {
                code: error.code,
                message: error.message.clone(),
            },
        },
        request_id: request_id.to_owned(),
    };
    let text = xml::document("Response", &body).unwrap_or_default();
    let mut response = HttpResponse::build(error.status)
        .insert_header((CONTENT_TYPE, XML))
        .body(text);
    response.extensions_mut().insert(FailureCause(
        error
            .cause
            .unwrap_or_else(|| format!("{}: {}", error.code, error.message)),
    ));
    response
}
