//! Each request's span in its distributed trace (OpenTelemetry, W3C Trace Context).
//!
//! A request's `traceparent` and `tracestate` headers name the caller's span; the request's
//! span is its child, or the root of a new trace when they are absent or malformed. The
//! binary installs the tracer provider: one that exports, or one that samples nothing and
//! only mints ids, so every request still has a trace id for its logs and events.

use actix_web::http::header::HeaderMap;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue, global};
use opentelemetry_sdk::propagation::TraceContextPropagator;

/// The instrumentation scope of the request spans.
const SCOPE: &str = "fleet-http";

/// The trace context the request's headers carry; an empty context without one.
pub(crate) fn incoming(headers: &HeaderMap) -> Context {
    TraceContextPropagator::new().extract(&Headers(headers))
}

/// A server span for `method` on `path`, a child of `parent`, in a context of its own.
pub(crate) fn request_span(parent: &Context, method: &str, path: &str) -> Context {
    let tracer = global::tracer(SCOPE);
    let span = tracer
        .span_builder(method.to_owned())
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("http.request.method", method.to_owned()),
            KeyValue::new("url.path", path.to_owned()),
        ])
        .start_with_context(&tracer, parent);
    parent.with_span(span)
}

/// Names the request's span after its route and records its status, as the HTTP semantic
/// conventions say; a 5xx marks it failed. The span ends when its context is dropped.
pub(crate) fn finish(cx: &Context, method: &str, route: &str, status: u16) {
    let span = cx.span();
    span.update_name(format!("{method} {route}"));
    span.set_attribute(KeyValue::new("http.route", route.to_owned()));
    span.set_attribute(KeyValue::new(
        "http.response.status_code",
        i64::from(status),
    ));
    if status >= 500 {
        span.set_status(Status::error(format!("HTTP {status}")));
    }
}

/// The trace id and span id of the request's span, as numbers; `None` when the tracer
/// made no valid span (no provider installed and no incoming trace).
pub(crate) fn ids(cx: &Context) -> Option<(u128, u64)> {
    let span = cx.span();
    let context = span.span_context();
    context.is_valid().then(|| {
        (
            u128::from_be_bytes(context.trace_id().to_bytes()),
            u64::from_be_bytes(context.span_id().to_bytes()),
        )
    })
}

/// Reads trace headers out of actix's header map.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}
