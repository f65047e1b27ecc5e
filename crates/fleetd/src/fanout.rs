//! The fan-out: one reader per process follows the store's event log and keeps its newest
//! events in memory, so that a thousand streams and waits read them here rather than each
//! asking the database on every change.
//!
//! [`FanOut`] is itself an [`EventLog`] (a decorator of the store's): a read after a cursor
//! the ring covers is answered from memory; one older than the ring (a subscriber that fell
//! behind, a client resuming from long ago) goes to the store, which also says when a cursor
//! was pruned. The horizon it reports is the ring's top, so what it says is visible always
//! is; waits are woken when the reader moves it — those with an [`Interest`] in a project or
//! a server only when the move brought an event of theirs, so that a thousand followers of
//! other projects sleep through it.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use fleet_domain::error::StoreError;
use fleet_domain::ports::EventLog;
use fleet_domain::{Event, EventHorizon, EventQuery, EventReadError, Interest};
use slog::Logger;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The most events kept in memory (a few MiB): a subscriber further behind reads the store.
pub const RING_CAPACITY: usize = 10_000;
/// The most events the reader asks the store for at once.
const READ_BATCH: u32 = 1_000;
/// How long the reader waits for the store to announce news before it reads anyway: what
/// bounds the delay of an event whose notification was lost, or that another process wrote
/// to a shared SQLite file.
const PATIENCE: Duration = Duration::from_secs(1);
/// How long the reader waits after a failure before it tries again.
const RETRY_AFTER: Duration = Duration::from_millis(500);
/// How many interests may be remembered before those nobody waits on any more are dropped.
const INTERESTS_KEPT: usize = 1_024;

/// The newest events, oldest first: every event with a sequence number in `(base, top]`.
#[derive(Debug)]
struct Ring {
    base: i64,
    events: VecDeque<Event>,
}

impl Ring {
    fn top(&self) -> i64 {
        self.events
            .back()
            .and_then(|event| event.seq)
            .unwrap_or(self.base)
    }

    /// The events after `query.after` that match it (by the domain's own matching, which
    /// the stores' SQL is held to), if the ring covers the cursor.
    fn matching(&self, query: &EventQuery) -> Option<Vec<Event>> {
        if query.after < self.base {
            return None;
        }
        let start = self
            .events
            .partition_point(|event| event.seq.is_some_and(|seq| seq <= query.after));
        Some(
            self.events
                .range(start..)
                .filter(|event| query.matches(event))
                .take(query.limit as usize)
                .cloned()
                .collect(),
        )
    }

    /// An empty ring after `base`, its room taken at once: filled one batch at a time, a
    /// growing buffer would double past the capacity (to 16,384 slots for 10,000 events).
    fn after(base: i64) -> Self {
        Ring {
            base,
            events: VecDeque::with_capacity(RING_CAPACITY),
        }
    }

    /// Appends events read after the top, dropping the oldest to stay within the capacity.
    fn extend(&mut self, events: Vec<Event>) {
        for event in events.into_iter().filter(|event| event.seq.is_some()) {
            if self.events.len() == RING_CAPACITY
                && let Some(dropped) = self.events.pop_front()
            {
                self.base = dropped.seq.unwrap_or(self.base);
            }
            self.events.push_back(event);
        }
    }

    /// Starts over at `latest`, holding nothing.
    fn reset(&mut self, latest: i64) {
        self.events.clear();
        self.base = latest;
    }
}

/// For each project and server someone waits on, the sequence number of its newest event
/// in the ring (or more: a channel starts at the top of its day, which wakes its first
/// waiter once for nothing rather than never for something).
#[derive(Debug, Default)]
struct Interests {
    newest: HashMap<Interest, watch::Sender<i64>>,
    /// How many were kept after the last sweep: the next sweep waits for twice as many.
    swept_at: usize,
}

impl Interests {
    /// The interests each of `events` concerns (its project, and its server if it is
    /// about one), with its sequence number.
    fn touched(events: &[Event]) -> Vec<([Option<Interest>; 2], i64)> {
        events
            .iter()
            .filter_map(|event| {
                let interests = [
                    Some(Interest::Project(event.project)),
                    event.event.server_id().map(Interest::Server),
                ];
                Some((interests, event.seq?))
            })
            .collect()
    }

    /// Tells the waiters on each project and server `touched` that they have news.
    fn publish(&self, touched: &[([Option<Interest>; 2], i64)]) {
        for &(interests, seq) in touched {
            for interest in interests.into_iter().flatten() {
                if let Some(newest) = self.newest.get(&interest) {
                    newest.send_if_modified(|newest| {
                        let news = seq > *newest;
                        *newest = (*newest).max(seq);
                        news
                    });
                }
            }
        }
    }

    /// Forgets the interests nobody waits on any more, once there are many.
    fn sweep(&mut self) {
        if self.newest.len() <= INTERESTS_KEPT.max(2 * self.swept_at) {
            return;
        }
        self.newest.retain(|_, newest| newest.receiver_count() > 0);
        self.swept_at = self.newest.len();
    }
}

/// The store's event log with the newest events in memory (see the module documentation).
pub struct FanOut {
    inner: Arc<dyn EventLog>,
    ring: RwLock<Ring>,
    /// The ring's top, published for waits.
    top: watch::Sender<i64>,
    interests: RwLock<Interests>,
    pruned_through: AtomicI64,
}

impl FanOut {
    /// The fan-out of `inner`, starting at its horizon: older events are read from it.
    pub async fn open(inner: Arc<dyn EventLog>) -> Result<Arc<FanOut>, StoreError> {
        let horizon = inner.horizon().await?;
        Ok(Arc::new(FanOut {
            inner,
            ring: RwLock::new(Ring::after(horizon.latest)),
            top: watch::Sender::new(horizon.latest),
            interests: RwLock::default(),
            pruned_through: AtomicI64::new(horizon.pruned_through),
        }))
    }

    /// Starts the reader, which follows the store until `stop` turns true.
    pub fn spawn_reader(
        self: &Arc<Self>,
        mut stop: watch::Receiver<bool>,
        logger: Logger,
    ) -> JoinHandle<()> {
        let fanout = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    read = fanout.follow_once() => {
                        if let Err(e) = read {
                            slog::warn!(logger, "the event fan-out failed to read the store";
                                "error" => %e);
                            tokio::time::sleep(RETRY_AFTER).await;
                        }
                    }
                }
            }
            slog::info!(logger, "event fan-out stopped");
        })
    }

    /// Waits for news (or the patience) and reads everything after the top into the ring.
    async fn follow_once(&self) -> Result<(), StoreError> {
        let top = self.ring_read().top();
        self.inner.wait_beyond(top, PATIENCE).await?;
        loop {
            let top = self.ring_read().top();
            let query = EventQuery {
                project: None,
                after: top,
                server: None,
                types: Vec::new(),
                selector: None,
                limit: READ_BATCH,
            };
            let events = match self.inner.events_after(&query).await {
                Ok(events) => events,
                // Pruned under the reader (it fell behind by the retention window): start
                // over from now; subscribers behind it learn from the store that they expired.
                Err(EventReadError::Expired { .. }) => {
                    let horizon = self.inner.horizon().await?;
                    self.pruned_through
                        .store(horizon.pruned_through, Ordering::Relaxed);
                    self.ring_write().reset(horizon.latest);
                    self.top.send_replace(horizon.latest);
                    // Everyone reads again, and learns from the store what it missed.
                    for newest in self.interests_read().newest.values() {
                        newest.send_replace(horizon.latest);
                    }
                    return Ok(());
                }
                Err(EventReadError::Store(e)) => return Err(e),
            };
            let full = events.len() >= READ_BATCH as usize;
            if events.is_empty() {
                return Ok(());
            }
            let touched = Interests::touched(&events);
            let top = {
                let mut ring = self.ring_write();
                ring.extend(events);
                ring.top()
            };
            // The top first: a follower woken for its project reads a horizon that covers
            // the event it was woken for.
            self.top.send_replace(top);
            self.interests_read().publish(&touched);
            if !full {
                return Ok(());
            }
        }
    }

    /// A receiver of the news of `interest`, remembering the interest if it is new.
    fn subscribe(&self, interest: Interest) -> watch::Receiver<i64> {
        if let Some(newest) = self.interests_read().newest.get(&interest) {
            return newest.subscribe();
        }
        let mut interests = self
            .interests
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        interests.sweep();
        let top = *self.top.borrow();
        interests
            .newest
            .entry(interest)
            .or_insert_with(|| watch::Sender::new(top))
            .subscribe()
    }

    fn interests_read(&self) -> std::sync::RwLockReadGuard<'_, Interests> {
        self.interests
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn ring_read(&self) -> std::sync::RwLockReadGuard<'_, Ring> {
        self.ring.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn ring_write(&self) -> std::sync::RwLockWriteGuard<'_, Ring> {
        self.ring.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl EventLog for FanOut {
    async fn events_after(&self, query: &EventQuery) -> Result<Vec<Event>, EventReadError> {
        if let Some(events) = self.ring_read().matching(query) {
            return Ok(events);
        }
        self.inner.events_after(query).await
    }

    async fn horizon(&self) -> Result<EventHorizon, StoreError> {
        Ok(EventHorizon {
            latest: *self.top.borrow(),
            pruned_through: self.pruned_through.load(Ordering::Relaxed),
        })
    }

    async fn wait_beyond(&self, seen: i64, patience: Duration) -> Result<i64, StoreError> {
        self.wait_beyond_for(seen, Interest::All, patience).await
    }

    async fn wait_beyond_for(
        &self,
        seen: i64,
        interest: Interest,
        patience: Duration,
    ) -> Result<i64, StoreError> {
        let mut news = match interest {
            Interest::All => self.top.subscribe(),
            Interest::Project(_) | Interest::Server(_) => self.subscribe(interest),
        };
        let _ = tokio::time::timeout(patience, news.wait_for(|newest| *newest > seen)).await;
        Ok(*self.top.borrow())
    }

    async fn prune_events(
        &self,
        before: DateTime<Utc>,
        keep_per_server: u32,
        limit: u32,
    ) -> Result<u32, StoreError> {
        let pruned = self
            .inner
            .prune_events(before, keep_per_server, limit)
            .await?;
        let horizon = self.inner.horizon().await?;
        self.pruned_through
            .fetch_max(horizon.pruned_through, Ordering::Relaxed);
        Ok(pruned)
    }
}

#[cfg(test)]
#[path = "fanout_tests.rs"]
mod tests;
