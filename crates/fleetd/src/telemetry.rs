//! Logging (slog, JSON or human-readable) and the Prometheus recorder.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use slog::{Drain, Logger, o};

use crate::settings::LogFormat;

/// Log records the writer thread may fall behind by before a request waits for it.
const LOG_QUEUE: usize = 8_192;

/// The root logger: JSON lines or human-readable text on stdout, at `level` and above.
///
/// Records go to stdout on a writer thread. When it falls a whole queue behind, logging
/// waits rather than drops: an access log with holes under load is worse than a slower
/// request.
pub fn logger(format: LogFormat, level: slog::Level) -> Logger {
    let drain = match format {
        LogFormat::Json => {
            let json = slog_json::Json::new(std::io::stdout())
                .add_default_keys()
                .build()
                .fuse();
            slog_async::Async::new(json)
                .chan_size(LOG_QUEUE)
                .overflow_strategy(slog_async::OverflowStrategy::Block)
                .build()
                .fuse()
                .filter_level(level)
                .fuse()
        }
        LogFormat::Human => {
            let decorator = slog_term::TermDecorator::new().stdout().build();
            let term = slog_term::FullFormat::new(decorator).build().fuse();
            slog_async::Async::new(term)
                .chan_size(LOG_QUEUE)
                .overflow_strategy(slog_async::OverflowStrategy::Block)
                .build()
                .fuse()
                .filter_level(level)
                .fuse()
        }
    };
    Logger::root(drain, o!("service" => "fleetd"))
}

/// Latency buckets, in seconds, for every histogram.
const BUCKETS: &[f64] = &[
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the process-wide Prometheus recorder and describes fleet's metrics.
///
/// Call once per process (the `metrics` facade has one global recorder).
pub fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), BUCKETS)?
        .install_recorder()?;
    fleet_http::metrics::describe();
    crate::metrics::describe();
    Ok(handle)
}
