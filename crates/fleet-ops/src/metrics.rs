//! The HTTP metrics, recorded through the `metrics` facade by [`crate::observe`] for every
//! request of every adapter; whoever installs the recorder (fleetd) decides where they go.

use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};

/// Requests served, by method, route pattern and status.
pub const HTTP_REQUESTS: &str = "fleet_http_requests_total";
/// Request latency, by method, route pattern and status.
pub const HTTP_DURATION: &str = "fleet_http_request_duration_seconds";

/// Describes the metrics above to the installed recorder.
pub fn describe() {
    describe_counter!(HTTP_REQUESTS, Unit::Count, "HTTP requests served");
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "HTTP request latency");
}

/// Records one served request. `method` and `route` are labels from [`crate::labels`],
/// never what the client sent.
pub(crate) fn record_request(method: &'static str, route: &str, status: u16, elapsed: Duration) {
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    counter!(HTTP_REQUESTS, &labels).increment(1);
    histogram!(HTTP_DURATION, &labels).record(elapsed.as_secs_f64());
}
