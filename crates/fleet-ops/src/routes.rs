//! `/metrics`, `/healthz` and `/readyz`: for operators and probes, outside every API spec.
//! Registered before any adapter's routes, so an adapter mounted at the root cannot take
//! their paths.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use slog::Logger;

use crate::ports::{MetricsExporter, Readiness};
use crate::problem::problem;
use crate::{RequestIds, RequestScope, labels};

/// Where the metrics are served.
pub const METRICS_PATH: &str = "/metrics";
/// Where liveness is served.
pub const HEALTHZ_PATH: &str = "/healthz";
/// Where readiness is served.
pub const READYZ_PATH: &str = "/readyz";

/// The Prometheus text format's media type.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What the operational routes and [`crate::observe`] need; app data of the whole
/// application, as `web::Data<Ops>`.
pub struct Ops {
    /// Answers `/readyz`.
    pub readiness: Arc<dyn Readiness>,
    /// Answers `/metrics`.
    pub metrics: Arc<dyn MetricsExporter>,
    /// The logger request loggers derive from.
    pub logger: Logger,
    /// Mints the ids of requests that come without one.
    pub request_ids: RequestIds,
}

/// Whether `path` is one of the operational routes.
pub(crate) fn is_operational(path: &str) -> bool {
    [METRICS_PATH, HEALTHZ_PATH, READYZ_PATH].contains(&path)
}

/// Registers the operational routes; each answers other methods than GET with a 405 problem.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(METRICS_PATH)
            .route(web::get().to(metrics))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource(HEALTHZ_PATH)
            .route(web::get().to(healthz))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource(READYZ_PATH)
            .route(web::get().to(readyz))
            .default_service(web::to(method_not_allowed)),
    );
}

/// `GET /metrics`: every metric in the Prometheus text format.
async fn metrics(ops: web::Data<Ops>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(PROMETHEUS_TEXT)
        .body(ops.metrics.render().await)
}

/// `GET /healthz`: the process is alive and answering.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the service can serve, or 503 with a short reason. The detail of the
/// failure (which may name hosts, ports and driver messages) is only logged, on the
/// request's access-log line.
async fn readyz(ops: web::Data<Ops>, scope: RequestScope) -> HttpResponse {
    match ops.readiness.check().await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        Err(not_ready) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-ready",
            &format!("not ready: {}", not_ready.reason()),
            scope.id(),
            Some(not_ready.to_string()),
        ),
    }
}

async fn method_not_allowed(req: HttpRequest, scope: RequestScope) -> HttpResponse {
    let mut response = problem(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        &format!(
            "{} is not allowed on this route",
            labels::shown_method(req.method())
        ),
        scope.id(),
        None,
    );
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static("GET"));
    response
}
