//! The request scope: the request id and a logger carrying it, made by [`crate::observe`]
//! for every request, kept as a request extension and handed to handlers as an extractor.

use std::fmt;
use std::future::{Ready, ready};
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use slog::Logger;

/// The header that carries the request id in both directions.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The longest incoming request id that is kept.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// Mints the id of a request that arrives without a sane one. The binary chooses how: random
/// UUIDs ([`RequestIds::random`]), or draws from a seeded stream, so a replayed scenario
/// gets the same ids. The generator is told the stream the request belongs to:
/// [`RequestIds::OPERATIONAL`] for `/metrics` and the health probes, which pollers call at
/// their own pace, [`RequestIds::API`] for the rest, so polling never shifts the API's ids.
#[derive(Clone)]
pub struct RequestIds(Arc<dyn Fn(&str) -> String + Send + Sync>);

impl RequestIds {
    /// The stream of the operational routes.
    pub const OPERATIONAL: &str = "operational";
    /// The stream of every other request.
    pub const API: &str = "api";

    /// Random UUID v4s.
    pub fn random() -> Self {
        Self::from_fn(|_| uuid::Uuid::new_v4().to_string())
    }

    /// Ids from `mint`, given the request's stream; each must pass [`is_sane`], or the
    /// request gets a random one instead.
    pub fn from_fn(mint: impl Fn(&str) -> String + Send + Sync + 'static) -> Self {
        Self(Arc::new(mint))
    }

    /// A new id for a request of `stream`.
    pub fn mint(&self, stream: &str) -> String {
        let id = (self.0)(stream);
        if is_sane(&id) {
            id
        } else {
            uuid::Uuid::new_v4().to_string()
        }
    }
}

impl fmt::Debug for RequestIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RequestIds")
    }
}

/// The id of one request and a logger that puts it on every line, with its trace's.
#[derive(Debug, Clone)]
pub struct RequestScope {
    id: String,
    logger: Logger,
    trace: Option<(u128, u64)>,
}

impl RequestScope {
    /// A scope for the request whose `X-Request-Id` header was `incoming`: the incoming id
    /// when it is sane, a fresh one of `fresh` otherwise.
    pub fn new(incoming: Option<&str>, base: &Logger, fresh: impl FnOnce() -> String) -> Self {
        let id = incoming
            .filter(|id| is_sane(id))
            .map_or_else(fresh, str::to_owned);
        let logger = base.new(slog::o!("request_id" => id.clone()));
        Self {
            id,
            logger,
            trace: None,
        }
    }

    /// The same scope in the span `trace_id`/`span_id` of a distributed trace: its logger
    /// adds `trace_id` (32 lower-case hex digits) to every line.
    pub fn in_trace(self, trace: Option<(u128, u64)>) -> Self {
        let Some((trace_id, _)) = trace else {
            return self;
        };
        Self {
            logger: self
                .logger
                .new(slog::o!("trace_id" => format!("{trace_id:032x}"))),
            trace,
            ..self
        }
    }

    /// The scope [`crate::observe`] gave `req`; for a request that did not pass through it
    /// (an adapter tested alone), a fresh scope with a silent logger.
    pub fn of(req: &HttpRequest) -> Self {
        if let Some(scope) = req.extensions().get::<RequestScope>() {
            return scope.clone();
        }
        let incoming = req
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok());
        RequestScope::new(
            incoming,
            &Logger::root(slog::Discard, slog::o!()),
            random_id,
        )
    }

    /// The request id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A logger that adds the request id to every line.
    pub fn logger(&self) -> &Logger {
        &self.logger
    }

    /// The trace id and span id of the request's span, if it has one.
    pub fn trace_ids(&self) -> Option<(u128, u64)> {
        self.trace
    }
}

fn random_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Whether an incoming request id is kept: 1 to 128 characters of letters, digits and
/// `-`, `_`, `.`, `:`, so it is safe in headers, logs and the store.
pub fn is_sane(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

impl FromRequest for RequestScope {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(RequestScope::of(req)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sane_incoming_id_is_kept_and_anything_else_replaced() {
        let log = Logger::root(slog::Discard, slog::o!());
        assert_eq!(
            RequestScope::new(Some("abc-123_x.y:z"), &log, random_id).id(),
            "abc-123_x.y:z"
        );
        for bad in ["", "has space", "new\nline", "é", &"x".repeat(129), "a/b"] {
            let id = RequestScope::new(Some(bad), &log, random_id)
                .id()
                .to_owned();
            assert_ne!(id, bad);
            assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        }
        let fresh = RequestScope::new(None, &log, random_id);
        assert!(uuid::Uuid::parse_str(fresh.id()).is_ok());
        assert_eq!(
            RequestScope::new(Some(&"x".repeat(128)), &log, random_id)
                .id()
                .len(),
            128
        );
    }

    #[test]
    fn minted_ids_come_from_the_generator_unless_they_are_not_sane() {
        let log = Logger::root(slog::Discard, slog::o!());
        let ids = RequestIds::from_fn(|stream| format!("{stream}-1"));
        let scope = RequestScope::new(None, &log, || ids.mint(RequestIds::API));
        assert_eq!(scope.id(), "api-1");
        let kept = RequestScope::new(Some("mine"), &log, || ids.mint(RequestIds::API));
        assert_eq!(kept.id(), "mine");
        let insane = RequestIds::from_fn(|_| "no spaces allowed".to_owned());
        let id = insane.mint(RequestIds::API);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    }
}
