//! Logging (slog, JSON or human-readable) and the Prometheus recorder.

use std::io::{BufWriter, Stdout, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use slog::{Drain, Logger, o};

use crate::settings::LogFormat;

/// Log records the writer thread may fall behind by before a request waits for it.
const LOG_QUEUE: usize = 8_192;

/// How long a JSON log line may wait in the buffer before it is written to stdout.
const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// The root logger: JSON lines or human-readable text on stdout, at `level` and above, and
/// the guard that writes out what is still queued or buffered when it is dropped.
///
/// Records go to stdout on a writer thread. When it falls a whole queue behind, logging
/// waits rather than drops: an access log with holes under load is worse than a slower
/// request. JSON lines are buffered: written at least every 100 ms. Drop the guard last, as the
/// process ends: logger clones held by threads nobody joins (the HTTP workers') would
/// otherwise keep the last lines from being written. Records logged after it are dropped.
pub fn logger(format: LogFormat, level: slog::Level) -> (Logger, LogGuard) {
    let (drain, queue, buffer) = match format {
        LogFormat::Json => {
            let stdout = BufferedStdout::new(FLUSH_EVERY);
            let buffer = stdout.buffer.clone();
            let json = slog_json::Json::new(stdout)
                .add_default_keys()
                .build()
                .fuse();
            let (drain, queue) = queued(json);
            (drain, queue, Some(buffer))
        }
        LogFormat::Human => {
            let decorator = slog_term::TermDecorator::new().stdout().build();
            let term = slog_term::FullFormat::new(decorator).build().fuse();
            let (drain, queue) = queued(term);
            (drain, queue, None)
        }
    };
    let logger = Logger::root(
        drain.ignore_res().filter_level(level).fuse(),
        o!("service" => "fleetd"),
    );
    let guard = LogGuard {
        queue: Some(queue),
        buffer,
    };
    (logger, guard)
}

/// `drain` on a writer thread behind a queue of [`LOG_QUEUE`] records.
fn queued<D>(drain: D) -> (slog_async::Async, slog_async::AsyncGuard)
where
    D: Drain<Err = slog::Never, Ok = ()> + Send + 'static,
{
    slog_async::Async::new(drain)
        .chan_size(LOG_QUEUE)
        .overflow_strategy(slog_async::OverflowStrategy::Block)
        .build_with_guard()
}

/// Writes out the log when dropped: stops the writer thread once it has written every
/// queued record, then flushes the stdout buffer.
pub struct LogGuard {
    queue: Option<slog_async::AsyncGuard>,
    buffer: Option<Arc<Mutex<BufWriter<Stdout>>>>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(buffer) = &self.buffer {
            let _ = lock(buffer).flush();
        }
    }
}

/// Stdout behind a buffer that a background thread flushes every `interval`, and that
/// [`LogGuard`] flushes at exit.
///
/// An access log writes a line per request. Unbuffered (Rust's stdout flushes at every
/// newline, and the JSON drain writes each key and value separately, each through stdout's
/// lock), every line cost a `write(2)` and dozens of lock round trips: about a fifth of
/// fleetd's CPU per `GET /servers/{id}`. Buffered, a busy second is a few large writes, and
/// no line waits longer than `interval`.
struct BufferedStdout {
    buffer: Arc<Mutex<BufWriter<Stdout>>>,
}

impl BufferedStdout {
    fn new(interval: Duration) -> Self {
        let buffer = Arc::new(Mutex::new(BufWriter::with_capacity(
            64 * 1024,
            std::io::stdout(),
        )));
        let flushed = Arc::downgrade(&buffer);
        // Ends once the logger (the only strong owner) is gone.
        let _ = std::thread::Builder::new()
            .name("log-flush".to_owned())
            .spawn(move || {
                loop {
                    std::thread::sleep(interval);
                    let Some(buffer) = flushed.upgrade() else {
                        return;
                    };
                    let _ = lock(&buffer).flush();
                }
            });
        Self { buffer }
    }
}

fn lock(buffer: &Mutex<BufWriter<Stdout>>) -> MutexGuard<'_, BufWriter<Stdout>> {
    buffer.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Write for BufferedStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        lock(&self.buffer).write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        lock(&self.buffer).write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        lock(&self.buffer).flush()
    }
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
    fleet_ops::metrics::describe();
    fleet_http::metrics::describe();
    crate::metrics::describe();
    crate::engine_metrics::describe();
    crate::faults::describe();
    crate::webhooks::describe();
    Ok(handle)
}
