//! Distributed tracing (OpenTelemetry): the tracer provider every span of the process goes
//! through, and the worker passes' spans.
//!
//! With an OTLP endpoint, spans are batched on a thread of their own and exported over
//! OTLP/HTTP (protobuf) to `<endpoint>/v1/traces`: a request's span (a child of the
//! caller's `traceparent`, or a new trace), its store calls, each worker pass and each
//! webhook delivery. Without one, the provider samples nothing: spans are not recorded,
//! yet each still gets ids, so every request has a trace id for its log lines and events.

use std::time::Duration;

use anyhow::Context as _;
use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer};
use opentelemetry::{Context, global};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use url::Url;

/// How long an export may take before the batch is dropped.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// The instrumentation scope of the worker passes' spans.
const SCOPE: &str = "fleetd";

/// The installed tracer provider; [`Tracing::shutdown`] exports what is still queued.
pub struct Tracing {
    provider: SdkTracerProvider,
    exporting: bool,
}

impl Tracing {
    /// Installs the process's tracer provider: exporting to `endpoint` (an OTLP/HTTP
    /// collector's base URL) when given, recording nothing otherwise. Call it outside the
    /// async runtime: the exporter's HTTP client runs on a thread of its own.
    pub fn install(endpoint: Option<&Url>) -> anyhow::Result<Tracing> {
        let builder = SdkTracerProvider::builder().with_resource(
            Resource::builder()
                .with_service_name("fleetd")
                .with_attribute(opentelemetry::KeyValue::new(
                    "service.version",
                    env!("CARGO_PKG_VERSION"),
                ))
                .build(),
        );
        let provider = match endpoint {
            Some(endpoint) => {
                let exporter = opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_endpoint(traces_url(endpoint))
                    .with_timeout(EXPORT_TIMEOUT)
                    .build()
                    .context("building the OTLP span exporter")?;
                builder
                    .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
                    .with_batch_exporter(exporter)
                    .build()
            }
            None => builder.with_sampler(Sampler::AlwaysOff).build(),
        };
        global::set_tracer_provider(provider.clone());
        Ok(Tracing {
            provider,
            exporting: endpoint.is_some(),
        })
    }

    /// Whether spans are exported (and so worth recording around every store call).
    pub fn exporting(&self) -> bool {
        self.exporting
    }

    /// Exports the spans still queued and stops the exporter's thread. Call it outside
    /// the async runtime, as the process ends.
    pub fn shutdown(&self) -> anyhow::Result<()> {
        if self.exporting {
            self.provider
                .shutdown()
                .context("exporting the last spans")?;
        }
        Ok(())
    }
}

/// Where OTLP/HTTP takes traces under a collector's base URL, as the
/// `OTEL_EXPORTER_OTLP_ENDPOINT` convention says.
fn traces_url(endpoint: &Url) -> String {
    format!("{}/v1/traces", endpoint.as_str().trim_end_matches('/'))
}

/// The root span of one pass of a background worker, in a context of its own: the store
/// calls of the pass are its children.
pub fn pass_span(name: &'static str) -> Context {
    let tracer = global::tracer(SCOPE);
    let span = tracer
        .span_builder(name)
        .with_kind(SpanKind::Internal)
        .start(&tracer);
    Context::new().with_span(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_go_under_v1_traces_of_the_base_url() {
        for base in ["http://collector:4318", "http://collector:4318/"] {
            let url = Url::parse(base).expect("a URL");
            assert_eq!(traces_url(&url), "http://collector:4318/v1/traces");
        }
        let url = Url::parse("https://otel.example/prefix/").expect("a URL");
        assert_eq!(traces_url(&url), "https://otel.example/prefix/v1/traces");
    }
}
