//! A test OpenTelemetry collector on 127.0.0.1: takes OTLP/HTTP protobuf exports at
//! `/v1/traces`, as a real collector (Jaeger, Tempo, the OpenTelemetry Collector) does, and
//! keeps every span it receives.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

/// One span as exported, its ids in lower-case hex.
#[derive(Debug, Clone)]
pub struct Span {
    pub name: String,
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    /// The OTLP `SpanKind` number: 2 server, 3 client, 1 internal.
    pub kind: i32,
    /// The instrumentation scope that made it.
    pub scope: String,
    /// `service.name` of the resource that exported it.
    pub service: String,
}

/// A running collector.
pub struct Collector {
    /// `http://127.0.0.1:PORT`, the base URL an exporter is given.
    pub endpoint: String,
    spans: Arc<Mutex<Vec<Span>>>,
    server: actix_web::dev::ServerHandle,
}

impl Collector {
    pub async fn start() -> Collector {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let kept = spans.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(kept.clone()))
                .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
                .route("/v1/traces", web::post().to(export))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .expect("a port");
        let address = server.addrs()[0];
        let server = server.disable_signals().run();
        let handle = server.handle();
        tokio::spawn(server);
        Collector {
            endpoint: format!("http://{address}"),
            spans,
            server: handle,
        }
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<Span> {
        self.spans.lock().expect("the spans").clone()
    }

    /// Waits until `done` holds of the spans received, at most `limit`.
    pub async fn until(&self, limit: Duration, done: impl Fn(&[Span]) -> bool) -> Vec<Span> {
        let deadline = Instant::now() + limit;
        loop {
            let spans = self.spans();
            if done(&spans) {
                return spans;
            }
            assert!(
                Instant::now() < deadline,
                "the collector did not get the spans awaited within {limit:?}: {spans:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(self) {
        self.server.stop(false).await;
    }
}

async fn export(spans: web::Data<Arc<Mutex<Vec<Span>>>>, body: web::Bytes) -> HttpResponse {
    let Ok(request) = ExportTraceServiceRequest::decode(body.as_ref()) else {
        return HttpResponse::BadRequest().body("not an OTLP trace export");
    };
    let mut kept = spans.lock().expect("the spans");
    for resource in request.resource_spans {
        let service = resource
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|a| a.key == "service.name")
            .and_then(|a| a.value.as_ref())
            .map(|v| format!("{:?}", v.value))
            .unwrap_or_default();
        for scope in resource.scope_spans {
            let scope_name = scope.scope.map(|s| s.name).unwrap_or_default();
            for span in scope.spans {
                kept.push(Span {
                    name: span.name,
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    kind: span.kind,
                    scope: scope_name.clone(),
                    service: service.clone(),
                });
            }
        }
    }
    HttpResponse::Ok()
        .content_type("application/x-protobuf")
        .body(ExportTraceServiceResponse::default().encode_to_vec())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
