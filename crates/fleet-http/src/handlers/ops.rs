//! `/metrics`, `/healthz` and `/readyz`: for operators, outside the API spec.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::problem::Problem;
use crate::state::AppState;

/// The Prometheus text format's media type.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /metrics`: every metric in the Prometheus text format.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(PROMETHEUS_TEXT)
        .body(state.metrics.render().await)
}

/// `GET /healthz`: the process is alive and answering.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the service can serve, or 503 with a short reason. The detail of the
/// failure (which may name hosts, ports and driver messages) is only logged, on the
/// request's access-log line.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    match state.readiness.check().await {
        Ok(()) => Ok(HttpResponse::Ok().json(json!({ "status": "ready" }))),
        Err(not_ready) => Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-ready",
            format!("not ready: {}", not_ready.reason()),
        )
        .with_cause(not_ready)),
    }
}
