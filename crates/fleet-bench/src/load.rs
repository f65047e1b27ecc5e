//! The load runner: `N` workers, each with its own connection, take request numbers from a
//! shared counter until a phase's total is reached, timing every request.
//!
//! The workers are futures polled by one task, so the generator itself uses at most one
//! core however many connections it holds.

use std::cell::Cell;
use std::time::{Duration, Instant};

use futures::future::join_all;
use hdrhistogram::Histogram;

/// What one phase measured.
pub struct PhaseResult {
    /// The phase's name.
    pub name: String,
    /// Requests made.
    pub requests: u64,
    /// Requests that failed (any unexpected status, or no answer).
    pub errors: u64,
    /// The first failure, to show why.
    pub first_error: Option<String>,
    /// Wall time of the phase.
    pub elapsed: Duration,
    /// Latency of every request, in microseconds.
    pub latency: Histogram<u64>,
}

impl PhaseResult {
    /// Requests per second.
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// The latency at `quantile` (0..=1), in milliseconds.
    pub fn ms_at(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1_000.0
    }

    /// Two phases run one after the other, as one.
    pub fn merge(name: &str, first: PhaseResult, second: PhaseResult) -> PhaseResult {
        let mut latency = first.latency;
        // Both histograms auto-resize, so adding cannot fail.
        let _ = latency.add(&second.latency);
        PhaseResult {
            name: name.to_owned(),
            requests: first.requests + second.requests,
            errors: first.errors + second.errors,
            first_error: first.first_error.or(second.first_error),
            elapsed: first.elapsed + second.elapsed,
            latency,
        }
    }

    /// The slowest request, in milliseconds.
    pub fn max_ms(&self) -> f64 {
        self.latency.max() as f64 / 1_000.0
    }

    /// No request yet, for requests timed one by one with [`PhaseResult::record`].
    pub fn empty(name: &str) -> PhaseResult {
        PhaseResult {
            name: name.to_owned(),
            requests: 0,
            errors: 0,
            first_error: None,
            elapsed: Duration::ZERO,
            latency: new_histogram(),
        }
    }

    /// A request that took `latency` and ended in `outcome`.
    pub fn record(&mut self, latency: Duration, outcome: Result<(), String>) {
        self.requests += 1;
        self.elapsed += latency;
        record(&mut self.latency, latency);
        if let Err(e) = outcome {
            self.errors += 1;
            self.first_error.get_or_insert(e);
        }
    }
}

/// Runs `total` requests of `op` over `workers` (one in flight per worker); `op` gets its
/// worker and the request's number, `0..total`.
pub async fn run<W>(
    name: &str,
    workers: &mut [W],
    total: u64,
    op: impl AsyncFn(&mut W, u64) -> Result<(), String>,
) -> PhaseResult {
    let next = Cell::new(0u64);
    let op = &op;
    let next = &next;
    let started = Instant::now();
    let outcomes = join_all(workers.iter_mut().map(|worker| async move {
        let mut latency = new_histogram();
        let mut errors = 0u64;
        let mut first_error = None;
        loop {
            let n = next.get();
            if n >= total {
                break;
            }
            next.set(n + 1);
            let sent = Instant::now();
            let outcome = op(worker, n).await;
            record(&mut latency, sent.elapsed());
            if let Err(e) = outcome {
                errors += 1;
                first_error.get_or_insert(e);
            }
        }
        (latency, errors, first_error)
    }))
    .await;
    let elapsed = started.elapsed();
    let mut result = PhaseResult {
        name: name.to_owned(),
        requests: total,
        errors: 0,
        first_error: None,
        elapsed,
        latency: new_histogram(),
    };
    for (latency, errors, first_error) in outcomes {
        // Both histograms auto-resize, so adding cannot fail.
        let _ = result.latency.add(&latency);
        result.errors += errors;
        if result.first_error.is_none() {
            result.first_error = first_error;
        }
    }
    result
}

fn new_histogram() -> Histogram<u64> {
    // Three significant figures; the histogram grows to whatever latency it sees.
    Histogram::new(3).expect("3 significant figures are valid")
}

fn record(histogram: &mut Histogram<u64>, latency: Duration) {
    let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    // Auto-resizing histograms accept any value.
    let _ = histogram.record(micros.max(1));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_request_is_made_once_and_failures_are_counted() {
        let mut workers = vec![Vec::new(), Vec::new(), Vec::new()];
        let result = run("t", &mut workers, 10, async |seen: &mut Vec<u64>, n| {
            seen.push(n);
            tokio::task::yield_now().await;
            if n % 4 == 0 {
                Err(format!("request {n}"))
            } else {
                Ok(())
            }
        })
        .await;
        let mut all: Vec<u64> = workers.concat();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert!(
            workers.iter().all(|w| !w.is_empty()),
            "all workers took part"
        );
        assert_eq!(result.requests, 10);
        assert_eq!(result.errors, 3);
        assert_eq!(result.first_error.as_deref(), Some("request 0"));
        assert_eq!(result.latency.len(), 10);
    }
}
