//! A delivery continues the trace of the request that caused its event: each attempt is a
//! client span in that trace, and the request carries the span in `traceparent`, so the
//! receiver's own spans join it.

use fleet_domain::TraceContext;
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer,
};
use opentelemetry::{Context, KeyValue, global};

/// The instrumentation scope of the delivery spans.
const SCOPE: &str = "fleet-webhooks";

/// An attempt's span, a child of the event's span `trace`, in a context of its own.
pub(crate) fn attempt_span(trace: TraceContext, url: &str) -> Context {
    let parent = Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from_bytes(trace.trace_id().to_be_bytes()),
        SpanId::from_bytes(trace.span_id().to_be_bytes()),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ));
    let tracer = global::tracer(SCOPE);
    let span = tracer
        .span_builder("webhook delivery")
        .with_kind(SpanKind::Client)
        .with_attributes([
            KeyValue::new("http.request.method", "POST"),
            KeyValue::new("url.full", url.to_owned()),
        ])
        .start_with_context(&tracer, &parent);
    parent.with_span(span)
}

/// The `traceparent` of the attempt's span; the event's own span when no tracer made a
/// span of its own (no provider installed).
pub(crate) fn traceparent(attempt: &Context, trace: TraceContext) -> String {
    let span = attempt.span();
    let context = span.span_context();
    if context.is_valid() && context.span_id().to_bytes() != trace.span_id().to_be_bytes() {
        format!(
            "00-{}-{}-{:02x}",
            context.trace_id(),
            context.span_id(),
            context.trace_flags().to_u8()
        )
    } else {
        trace.to_string()
    }
}
