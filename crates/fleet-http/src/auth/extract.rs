//! The caller as handlers take it, and as the spec documents it: every operation that takes
//! an [`ApiCaller`] declares the `bearerAuth` security requirement and its 401 response.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use fleet_domain::Caller;
use fleet_ops::RequestScope;
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{
    DataType, DefaultOperationRaw, DefaultSchemaRaw, Either, Header, Response, SecurityScheme,
};
use paperclip::v2::schema::Apiv2Schema;

use super::credentials::{self, Credentials};
use super::limits;
use crate::problem::Problem;
use crate::state::AppState;
use fleet_ops::session::{changes_state, presented_csrf};

/// The name of the security scheme in the spec.
pub const SECURITY_SCHEME: &str = "bearerAuth";

/// Who is making the request: authenticated before the handler runs, or refused with 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiCaller(pub Caller);

impl std::ops::Deref for ApiCaller {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        &self.0
    }
}

impl FromRequest for ApiCaller {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let credentials = credentials::of_request(req);
        let csrf = presented_csrf(req).unwrap_or_default().to_owned();
        let changes = changes_state(req.method());
        let logger = RequestScope::of(req).logger().clone();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let address = limits::client_address(req);
        let req = req.clone();
        Box::pin(async move {
            let Some(state) = state else {
                return Err(Problem::internal("the REST state is not registered").into());
            };
            // The token is checked after the session, so a session that no longer works is
            // a 401 (sign in again), not a 403.
            let unguarded = match &credentials {
                Credentials::Session(token) if changes => {
                    !state.projects.csrf_matches(token, &csrf)
                }
                _ => false,
            };
            let admitted = state
                .auth
                .admit(&state.projects, credentials, address, &logger)
                .await;
            let (result, standing) = match admitted {
                Ok(_) if unguarded => (Err(Problem::csrf_token_invalid().into()), None),
                Ok((caller, standing)) => (Ok(ApiCaller(caller)), standing),
                Err((problem, standing)) => (Err(problem.into()), standing),
            };
            // For the RateLimit fields of the response, whatever it is.
            if let Some(standing) = standing {
                req.extensions_mut().insert(standing);
            }
            result
        })
    }
}

impl Apiv2Schema for ApiCaller {}

impl OperationModifier for ApiCaller {
    /// Nothing: the key is a security requirement, not a parameter.
    fn update_parameter(_: &mut DefaultOperationRaw) {}

    /// The requirement, and the 401 that comes with it: both belong to every operation
    /// that authenticates, and to no other.
    fn update_security(op: &mut DefaultOperationRaw) {
        op.security
            .push(BTreeMap::from([(SECURITY_SCHEME.to_owned(), Vec::new())]));
        let challenge = Header {
            description: Some(
                "`Bearer`, with `error=\"invalid_token\"` when a key was presented.".to_owned(),
            ),
            data_type: Some(DataType::String),
            ..Default::default()
        };
        op.responses.insert(
            "401".to_owned(),
            Either::Right(Response {
                description: Some(
                    "No valid API key: none was sent (where one is needed), or the key sent \
                     is not one, is unknown or was revoked."
                        .to_owned(),
                ),
                schema: Some(DefaultSchemaRaw {
                    name: Some("Problem".to_owned()),
                    reference: Some("#/definitions/Problem".to_owned()),
                    ..Default::default()
                }),
                headers: BTreeMap::from([("WWW-Authenticate".to_owned(), challenge)]),
            }),
        );
        let retry_after = Header {
            description: Some("Seconds until one more request is allowed.".to_owned()),
            data_type: Some(DataType::Integer),
            ..Default::default()
        };
        op.responses.insert(
            "429".to_owned(),
            Either::Right(Response {
                description: Some(
                    "Over the rate limit of the key (of the client address, for a request \
                     without a key), or throttled by a fault rule (`/faults`): nothing was \
                     done; retry after `Retry-After` seconds."
                        .to_owned(),
                ),
                schema: Some(DefaultSchemaRaw {
                    name: Some("Problem".to_owned()),
                    reference: Some("#/definitions/Problem".to_owned()),
                    ..Default::default()
                }),
                headers: BTreeMap::from([("Retry-After".to_owned(), retry_after)]),
            }),
        );
    }

    /// Swagger 2 has no bearer scheme: an API key in the `Authorization` header is its
    /// nearest, and the OpenAPI 3 document says `http`/`bearer` ([`crate::spec`]).
    fn update_security_definitions(map: &mut BTreeMap<String, SecurityScheme>) {
        map.insert(
            SECURITY_SCHEME.to_owned(),
            SecurityScheme {
                type_: "apiKey".to_owned(),
                name: Some("Authorization".to_owned()),
                in_: Some("header".to_owned()),
                description: Some(SCHEME_DESCRIPTION.to_owned()),
                ..Default::default()
            },
        );
    }

    fn update_definitions(map: &mut BTreeMap<String, DefaultSchemaRaw>) {
        <Problem as OperationModifier>::update_definitions(map);
    }
}

/// What the security scheme says, in both documents.
pub const SCHEME_DESCRIPTION: &str = "An API key, sent as `Authorization: Bearer fleet_<key id>_<secret>`. An admin creates \
     keys (`POST /projects/{id}/keys`, or `fleetd keys create` on the server). A fleetd in \
     open mode (the default on a loopback address) also serves a request without a key, as \
     the admin of the project `default`; a key that is sent is checked in either mode.";
