//! Spans around every store call: decorators of the domain's store ports, each call a
//! child span of the request's or the worker pass's (the current OpenTelemetry context).
//!
//! fleetd wraps its stores in these only when traces are exported (`--otlp-endpoint`), so a
//! fleetd that exports nothing makes no store spans and pays nothing for them.

use std::fmt::Display;
use std::future::Future;

use opentelemetry::trace::{FutureExt, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue, global};

mod costs;
mod events;
mod faults;
mod keys;
mod status;
mod store;
mod tenancy;
mod webhooks;

pub use costs::{TracedBudgetStore, TracedCostStore};
pub use events::{TracedActionStore, TracedEventLog};
pub use faults::TracedFaultStore;
pub use keys::TracedIdempotencyStore;
pub use status::TracedStoreStatus;
pub use store::TracedStore;
pub use tenancy::TracedTenancyStore;
pub use webhooks::TracedWebhookStore;

/// The instrumentation scope of the store spans.
const SCOPE: &str = "fleet-store";

/// Which database a store is, as the span's `db.system.name` says it.
#[derive(Debug, Clone, Copy)]
pub struct DbSystem(pub &'static str);

/// Runs one store call as a client span named `operation`, a child of the current context;
/// an error marks the span failed with its message. A call outside any request or worker
/// pass (the fan-out's reader waiting for events, every second) makes no span: it would be
/// a trace of its own, and noise.
pub(crate) async fn traced<T, E: Display>(
    system: DbSystem,
    operation: &'static str,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    if !Context::current().has_active_span() {
        return call.await;
    }
    let tracer = global::tracer(SCOPE);
    let span = tracer
        .span_builder(operation)
        .with_kind(SpanKind::Client)
        .with_attributes([
            KeyValue::new("db.system.name", system.0),
            KeyValue::new("db.operation.name", operation),
        ])
        .start(&tracer);
    let cx = Context::current_with_span(span);
    let result = call.with_context(cx.clone()).await;
    if let Err(error) = &result {
        cx.span().set_status(Status::error(error.to_string()));
    }
    result
}
