//! What deliveries are measured against: when each tracked provisioning was sent and when
//! its answer (the 201, given after the commit) arrived, shared without locks between the
//! load workers that write it and the subscribers that read it.
//!
//! A tracked provisioning sends `X-Request-Id: watch-<n>`; fleet stores the request id on
//! the event the request causes, so a subscriber knows which provisioning an event belongs
//! to as soon as it arrives, even before that provisioning's answer has.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The request id tracked provisioning `n` sends.
pub fn request_id(n: usize) -> String {
    format!("watch-{n}")
}

/// The instants of provisionings `0..capacity`, and the count of their events delivered.
pub struct Ledger {
    base: Instant,
    /// Nanoseconds after `base`, plus one (zero: not yet).
    sent: Vec<AtomicU64>,
    answered: Vec<AtomicU64>,
    delivered: AtomicU64,
}

impl Ledger {
    /// A ledger of `capacity` provisionings, none sent yet.
    pub fn new(capacity: usize) -> Ledger {
        let none = || (0..capacity).map(|_| AtomicU64::new(0)).collect();
        Ledger {
            base: Instant::now(),
            sent: none(),
            answered: none(),
            delivered: AtomicU64::new(0),
        }
    }

    /// Provisioning `n` is being sent now.
    pub fn sent(&self, n: usize) {
        self.mark(&self.sent, n);
    }

    /// Provisioning `n`'s answer has just been read.
    pub fn answered(&self, n: usize) {
        self.mark(&self.answered, n);
    }

    /// When provisioning `n` was sent, and when answered, if it was.
    pub fn instants(&self, n: usize) -> Option<(Instant, Option<Instant>)> {
        let sent = self.read(&self.sent, n)?;
        Some((sent, self.read(&self.answered, n)))
    }

    /// `count` more events of tracked provisionings have reached a subscriber.
    pub fn count_delivered(&self, count: u64) {
        self.delivered.fetch_add(count, Ordering::Relaxed);
    }

    /// Events of tracked provisionings delivered so far, over all subscribers.
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    fn mark(&self, marks: &[AtomicU64], n: usize) {
        let nanos = u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
        if let Some(mark) = marks.get(n) {
            mark.store(nanos + 1, Ordering::Release);
        }
    }

    fn read(&self, marks: &[AtomicU64], n: usize) -> Option<Instant> {
        match marks.get(n)?.load(Ordering::Acquire) {
            0 => None,
            nanos => Some(self.base + Duration::from_nanos(nanos - 1)),
        }
    }
}
