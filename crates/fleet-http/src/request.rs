//! The request scope as REST handlers take it: `fleet_ops`' [`RequestScope`] (the request
//! id and its logger), documented in the spec as the `X-Request-Id` header, and turned into
//! the context the use cases record on events.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use fleet_domain::{Caller, RequestContext, TraceContext};
use fleet_ops::{MAX_REQUEST_ID_LEN, RequestScope};
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{DataType, DefaultOperationRaw, Either, Parameter, ParameterIn};
use paperclip::v2::schema::Apiv2Schema;

/// The scope of the request a handler serves.
#[derive(Debug, Clone)]
pub struct ApiScope(pub RequestScope);

impl ApiScope {
    /// The context the use cases record on the events this request, made by `caller`,
    /// causes: the request id, the caller's key and the request's span.
    pub fn context(&self, caller: &Caller) -> RequestContext {
        RequestContext::api(self.0.id().to_owned())
            .by_key(caller.key)
            .in_trace(
                self.0
                    .trace_ids()
                    .and_then(|(trace_id, span_id)| TraceContext::new(trace_id, span_id)),
            )
    }

    /// A logger that adds the request id to every line.
    pub fn logger(&self) -> &slog::Logger {
        self.0.logger()
    }
}

impl FromRequest for ApiScope {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(ApiScope(RequestScope::of(req))))
    }
}

impl Apiv2Schema for ApiScope {}

impl OperationModifier for ApiScope {
    fn update_parameter(op: &mut DefaultOperationRaw) {
        op.parameters.push(Either::Right(Parameter {
            name: "X-Request-Id".to_owned(),
            in_: ParameterIn::Header,
            description: Some(
                "Your id for this request (1-128 of A-Z a-z 0-9 - _ . :), echoed in the \
                 response and recorded on the events it causes; one is made when absent or \
                 not acceptable."
                    .to_owned(),
            ),
            required: false,
            data_type: Some(DataType::String),
            max_length: Some(MAX_REQUEST_ID_LEN as u32),
            ..Default::default()
        }));
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn the_context_carries_the_id_and_the_key_into_events() {
        let req = TestRequest::default()
            .insert_header(("X-Request-Id", "req-7"))
            .to_http_request();
        let scope = ApiScope(RequestScope::of(&req));
        assert_eq!(scope.context(&Caller::open()), RequestContext::api("req-7"));
        let key = fleet_domain::KeyId::random();
        let caller = Caller {
            key: Some(key),
            ..Caller::open()
        };
        assert_eq!(scope.context(&caller).key, Some(key));
    }
}
