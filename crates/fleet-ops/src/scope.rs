//! The request scope: the request id and a logger carrying it, made by [`crate::observe`]
//! for every request, kept as a request extension and handed to handlers as an extractor.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use slog::Logger;

/// The header that carries the request id in both directions.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The longest incoming request id that is kept.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// The id of one request and a logger that puts it on every line.
#[derive(Debug, Clone)]
pub struct RequestScope {
    id: String,
    logger: Logger,
}

impl RequestScope {
    /// A scope for the request whose `X-Request-Id` header was `incoming`: the incoming id
    /// when it is sane, a fresh one otherwise.
    pub fn new(incoming: Option<&str>, base: &Logger) -> Self {
        let id = incoming
            .filter(|id| is_sane(id))
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        let logger = base.new(slog::o!("request_id" => id.clone()));
        Self { id, logger }
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
        RequestScope::new(incoming, &Logger::root(slog::Discard, slog::o!()))
    }

    /// The request id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A logger that adds the request id to every line.
    pub fn logger(&self) -> &Logger {
        &self.logger
    }
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
            RequestScope::new(Some("abc-123_x.y:z"), &log).id(),
            "abc-123_x.y:z"
        );
        for bad in ["", "has space", "new\nline", "é", &"x".repeat(129), "a/b"] {
            let id = RequestScope::new(Some(bad), &log).id().to_owned();
            assert_ne!(id, bad);
            assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        }
        let fresh = RequestScope::new(None, &log);
        assert!(uuid::Uuid::parse_str(fresh.id()).is_ok());
        assert_eq!(
            RequestScope::new(Some(&"x".repeat(128)), &log).id().len(),
            128
        );
    }
}
