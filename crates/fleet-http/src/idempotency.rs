//! `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header) on the REST API. A handler
//! adopts it in two lines: it takes an [`IdempotencyKeyHeader`] (which parses the header
//! and documents it) and returns what [`IdempotencyKeyHeader::once`] makes of its work, an
//! [`Idempotent`] (which documents the replay header and the key's refusals):
//!
//! ```ignore
//! let request = body.fingerprint("provision", "");
//! key.once(&state, &caller, request, provision_server(&state, &caller, body.into_inner())).await
//! ```
//!
//! The rules are the domain's ([`fleet_domain::service::IdempotencyService`]); here the answer is rendered,
//! captured, recorded when final, and replayed with `Idempotent-Replayed: true`.

use std::collections::BTreeMap;
use std::future::{Future, Ready, ready};
use std::marker::PhantomData;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, Responder, ResponseError};
use fleet_domain::idempotency::IdempotencyKey;
use fleet_domain::service::{Begun, Ticket};
use fleet_domain::{Caller, Fingerprint, StoredResponse};
use fleet_ops::RequestScope;
use paperclip::actix::OperationModifier;
use paperclip::v2::models::{
    DataType, DefaultOperationRaw, DefaultSchemaRaw, Either, Header, Parameter, ParameterIn,
};
use paperclip::v2::schema::{Apiv2Errors, Apiv2Schema};
use slog::Logger;

use crate::errors::document_problems;
use crate::problem::Problem;
use crate::state::AppState;

/// The request header naming a request.
pub const KEY_HEADER: &str = "Idempotency-Key";
/// The response header of a replayed answer.
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";
/// Seconds a retry of a request still in flight is asked to wait.
pub const IN_FLIGHT_RETRY_AFTER: u64 = 1;

/// The headers of an answer its replays repeat.
const REPEATED_HEADERS: [HeaderName; 3] = [header::CONTENT_TYPE, header::LOCATION, header::ETAG];

/// The request's `Idempotency-Key`, if it sent one; a malformed one is a 400
/// `invalid-idempotency-key` problem before the handler runs.
pub struct IdempotencyKeyHeader {
    key: Option<IdempotencyKey>,
    request: HttpRequest,
}

impl IdempotencyKeyHeader {
    /// Runs `work` once for this key in the caller's project: the first request with the
    /// key runs it, and its final answer (a 2xx, or a 4xx but 408 and 429) is recorded
    /// for the key; a retry of the same request (`request`) gets that answer again with
    /// `Idempotent-Replayed: true` and `work` does not run. The same key with another
    /// request is a 422 `idempotency-key-reused`, and one whose request still runs a 409
    /// `idempotency-key-in-flight`. Any other answer (a 5xx: the store failed, say) gives
    /// the key back, so that a retry runs anew. Without a key, `work` just runs.
    pub async fn once<R, E>(
        self,
        state: &AppState,
        caller: &Caller,
        request: Fingerprint,
        work: impl Future<Output = Result<R, E>>,
    ) -> Idempotent<R, E>
    where
        R: Responder,
        E: ResponseError + 'static,
    {
        let Some(key) = self.key else {
            return Idempotent::new(render(work.await, &self.request));
        };
        let ticket = match state.idempotency.begin(caller, key, request).await {
            Ok(Begun::Run(ticket)) => ticket,
            Ok(Begun::Replay(stored)) => return Idempotent::new(replay(stored)),
            Err(refusal) => return Idempotent::new(Problem::from(refusal).error_response()),
        };
        let (response, answer) = capture(render(work.await, &self.request));
        let logger = RequestScope::of(&self.request).logger().clone();
        settle(ticket, answer.filter(|a| is_final(a.status)), &logger).await;
        Idempotent::new(response)
    }
}

/// Whether an answer is what every retry of the request should get: a success, or a
/// refusal of the request itself. A timeout (408), a rate limit (429) and the service's
/// or the store's failures (5xx, the 503s of an unavailable or contended store included)
/// are not.
fn is_final(status: u16) -> bool {
    (200..300).contains(&status) || ((400..500).contains(&status) && !matches!(status, 408 | 429))
}

/// The answer, recorded for the key, or the key given back when there is none to record.
/// A failure here is logged, not answered: the request did its work. An answer that could
/// not be recorded leaves the claim to its lease.
async fn settle(ticket: Ticket, answer: Option<StoredResponse>, logger: &Logger) {
    let (doing, outcome) = match &answer {
        Some(answer) => ("recording an answer", ticket.complete(answer).await),
        None => ("giving a key back", ticket.release().await),
    };
    match outcome {
        Ok(true) => {}
        Ok(false) => slog::warn!(logger, "the idempotency key's claim was taken over or \
            forgotten while its request ran"; "doing" => doing),
        Err(e) => slog::warn!(logger, "the idempotency key could not be settled";
            "doing" => doing, "error" => %e),
    }
}

/// The response of a handler's result, as actix would make it.
fn render<R: Responder, E: ResponseError + 'static>(
    result: Result<R, E>,
    request: &HttpRequest,
) -> HttpResponse {
    match result {
        Ok(answer) => answer.respond_to(request).map_into_boxed_body(),
        Err(error) => HttpResponse::from_error(error),
    }
}

/// The response, unchanged, and the answer to record: its status, the headers a replay
/// repeats and its body (a problem's as rendered, without the request id its scope
/// stamps later); none when its body is not text held whole.
fn capture(response: HttpResponse) -> (HttpResponse, Option<StoredResponse>) {
    let status = response.status().as_u16();
    let headers: BTreeMap<String, String> = REPEATED_HEADERS
        .iter()
        .filter_map(|name| {
            let value = response.headers().get(name)?.to_str().ok()?;
            Some((name.as_str().to_owned(), value.to_owned()))
        })
        .collect();
    let (head, body) = response.into_parts();
    match body.try_into_bytes() {
        Ok(bytes) => {
            let answer = std::str::from_utf8(&bytes).ok().map(|body| StoredResponse {
                status,
                headers,
                body: body.to_owned(),
            });
            (head.set_body(BoxBody::new(bytes)), answer)
        }
        Err(body) => (head.set_body(body), None),
    }
}

/// A recorded answer again: a problem through the problem path (so it carries this
/// request's id and media type), anything else as recorded; with the header that says so.
fn replay(stored: StoredResponse) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let is_problem = status.is_client_error() || status.is_server_error();
    let mut response = if is_problem {
        match serde_json::from_str::<Problem>(&stored.body) {
            Ok(problem) => problem.error_response(),
            Err(e) => Problem::internal(format!("a recorded answer is not a problem: {e}"))
                .error_response(),
        }
    } else {
        HttpResponse::build(status).body(stored.body)
    };
    for (name, value) in stored.headers {
        let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value))
        else {
            continue;
        };
        if !(is_problem && name == header::CONTENT_TYPE) {
            response.headers_mut().insert(name, value);
        }
    }
    response.headers_mut().insert(
        HeaderName::from_static("idempotent-replayed"),
        HeaderValue::from_static("true"),
    );
    response
}

/// The key of a request's headers: none, or one that parses.
fn key_of(request: &HttpRequest) -> Result<Option<IdempotencyKey>, actix_web::Error> {
    let refused = |why: String| -> actix_web::Error {
        Problem::bad_request("invalid-idempotency-key", format!("{KEY_HEADER} {why}")).into()
    };
    let mut values = request.headers().get_all(KEY_HEADER);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(refused("is sent more than once".to_owned()));
    }
    let text = value
        .to_str()
        .map_err(|_| refused("is not ASCII text".to_owned()))?;
    IdempotencyKey::parse(text)
        .map(Some)
        .map_err(|invalid| refused(invalid.to_string()))
}

impl FromRequest for IdempotencyKeyHeader {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(key_of(req).map(|key| IdempotencyKeyHeader {
            key,
            request: req.clone(),
        }))
    }
}

impl Apiv2Schema for IdempotencyKeyHeader {}

impl OperationModifier for IdempotencyKeyHeader {
    /// The header; its bounds are the spec's limits table's.
    fn update_parameter(op: &mut DefaultOperationRaw) {
        op.parameters.push(Either::Right(Parameter {
            name: KEY_HEADER.to_owned(),
            in_: ParameterIn::Header,
            description: Some(
                "Your name for this request, so that retrying it is safe: a retry with the \
                 same key and the same request is answered with the first answer again \
                 (`Idempotent-Replayed: true`), and does nothing twice. Keys are scoped to \
                 your project and kept 24 hours by default. 1-255 characters as sent, each \
                 visible ASCII (`!` to `~`) but `\"` and `\\`, bare (`abc`) or in the \
                 draft's double quotes (`\"abc\"`), which name the same key; e.g. a UUID."
                    .to_owned(),
            ),
            required: false,
            data_type: Some(DataType::String),
            ..Default::default()
        }));
    }
}

/// The answer of a request that may carry an `Idempotency-Key`: `R` or `E` as the handler
/// made it, or a replayed answer, or the key's refusal. Documented as `Result<R, E>` plus
/// the replay header on every success and the key's 400, 409 and 422.
pub struct Idempotent<R, E> {
    response: HttpResponse,
    documents: PhantomData<fn() -> (R, E)>,
}

impl<R, E> Idempotent<R, E> {
    fn new(response: HttpResponse) -> Self {
        Self {
            response,
            documents: PhantomData,
        }
    }
}

impl<R, E> Responder for Idempotent<R, E> {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        self.response
    }
}

impl<R, E> Apiv2Schema for Idempotent<R, E> {}

impl<R: OperationModifier, E: Apiv2Errors> OperationModifier for Idempotent<R, E> {
    fn update_response(op: &mut DefaultOperationRaw) {
        <Result<R, E> as OperationModifier>::update_response(op);
        document_replays(op);
        for (status, refusal) in KEY_REFUSALS {
            match op.responses.get_mut(&status.to_string()) {
                Some(Either::Right(response)) => {
                    let said = response.description.get_or_insert_with(String::new);
                    said.push_str(&format!(" Or {refusal}"));
                }
                _ => document_problems(op, &[(status, &sentence(refusal))]),
            }
        }
    }

    fn update_definitions(map: &mut BTreeMap<String, DefaultSchemaRaw>) {
        <Result<R, E> as OperationModifier>::update_definitions(map);
    }
}

/// The key's refusals, by status, as the end of a sentence.
const KEY_REFUSALS: [(u16, &str); 3] = [
    (
        400,
        "the `Idempotency-Key` is malformed (`invalid-idempotency-key`).",
    ),
    (
        409,
        "a request with the same `Idempotency-Key` is still in flight \
         (`idempotency-key-in-flight`): retry after `Retry-After` seconds.",
    ),
    (
        422,
        "the `Idempotency-Key` was used for another request (another operation, server \
         or body): `idempotency-key-reused`.",
    ),
];

/// `text` with its first letter capitalized.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// `Idempotent-Replayed` on every success.
fn document_replays(op: &mut DefaultOperationRaw) {
    let successes = op
        .responses
        .iter_mut()
        .filter(|(status, _)| status.starts_with('2'))
        .filter_map(|(_, response)| match response {
            Either::Right(response) => Some(response),
            Either::Left(_) => None,
        });
    for response in successes {
        response.headers.insert(
            REPLAYED_HEADER.to_owned(),
            Header {
                description: Some(
                    "`true` when this is the recorded answer to an earlier request with the \
                     same `Idempotency-Key`, replayed; absent otherwise."
                        .to_owned(),
                ),
                data_type: Some(DataType::String),
                ..Default::default()
            },
        );
    }
}
