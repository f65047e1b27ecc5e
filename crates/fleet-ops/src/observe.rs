//! The outermost middleware of every application fleetd serves: it gives the request its
//! [`RequestScope`] and its span in a distributed trace, echoes the request id, writes the
//! access-log line and records the HTTP metrics. What an error response looks like is the
//! business of whoever made it.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use opentelemetry::trace::FutureExt;

use crate::labels::{self, OTHER_METHOD};
use crate::problem::FailureCause;
use crate::routes::{self, Ops};
use crate::scope::{REQUEST_ID_HEADER, RequestIds, RequestScope};
use crate::trace;

/// The middleware (see the module documentation); wrap the whole application in it, with
/// `actix_web::middleware::from_fn(fleet_ops::observe)`, after registering every route.
pub async fn observe(
    ops: web::Data<Ops>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, Error> {
    let started = Instant::now();
    let incoming = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok());
    let stream = if routes::is_operational(req.path()) {
        RequestIds::OPERATIONAL
    } else {
        RequestIds::API
    };
    let method = labels::method(req.method());
    let span = trace::request_span(&trace::incoming(req.headers()), method, req.path());
    let scope = RequestScope::new(incoming, &ops.logger, || ops.request_ids.mint(stream))
        .in_trace(trace::ids(&span));
    req.extensions_mut().insert(scope.clone());
    let sent = (method == OTHER_METHOD).then(|| labels::shown_method(req.method()).to_owned());

    let mut response = next.call(req).with_context(span.clone()).await?;

    let route = labels::route(response.request().match_pattern());
    trace::finish(&span, method, &route, response.status().as_u16());
    response.headers_mut().insert(
        HeaderName::from_static(REQUEST_ID_HEADER),
        HeaderValue::from_str(scope.id()).unwrap_or_else(|_| HeaderValue::from_static("invalid")),
    );
    let status = response.status();
    let elapsed = started.elapsed();
    crate::metrics::record_request(method, &route, status.as_u16(), elapsed);

    let log = match sent {
        Some(sent) => scope.logger().new(slog::o!("method_sent" => sent)),
        None => scope.logger().clone(),
    };
    let latency_ms = elapsed.as_secs_f64() * 1_000.0;
    if status.is_server_error() {
        let cause = response
            .response()
            .extensions()
            .get::<FailureCause>()
            .map(|cause| cause.0.clone())
            .unwrap_or_default();
        slog::error!(log, "request failed";
            "method" => method, "route" => &route, "status" => status.as_u16(),
            "latency_ms" => latency_ms, "cause" => cause);
    } else {
        slog::info!(log, "request";
            "method" => method, "route" => &route, "status" => status.as_u16(),
            "latency_ms" => latency_ms);
    }
    Ok(response)
}
