//! Following the event sequence from a cursor: what a page read and a stream share.

use std::sync::Arc;
use std::time::Duration;

use crate::error::EventsError;
use crate::event::{Event, EventQuery};
use crate::ports::EventLog;

/// A cursor in the event sequence with the filters it follows. It moves past every event
/// it returns, and past stretches where nothing matched its filters, so a client following
/// one server's events does not scan the whole fleet's again on every read.
pub struct Follower {
    events: Arc<dyn EventLog>,
    query: EventQuery,
    /// Read by [`Follower::start`], returned by the first [`Follower::next`].
    pending: Vec<Event>,
    /// The cursor it started from.
    origin: i64,
    /// Whether its last read reached the end of the sequence (the page was not full).
    caught_up: bool,
    /// The newest sequence number there was at its last read.
    latest: i64,
}

impl Follower {
    pub(super) fn new(events: Arc<dyn EventLog>, query: EventQuery) -> Self {
        Self {
            origin: query.after,
            events,
            query,
            pending: Vec::new(),
            caught_up: false,
            latest: 0,
        }
    }

    /// The cursor it started from: what a stream tells its client first, so that a client
    /// that started "from now" can resume from there even before any event arrived.
    pub fn origin(&self) -> i64 {
        self.origin
    }

    /// Where it is: every event it is to return comes after this sequence number.
    pub fn cursor(&self) -> i64 {
        self.query.after
    }

    /// Whether the last batch it read reached the end of the sequence: when it did not, more
    /// is waiting and a reader should not pause before asking again.
    pub fn caught_up(&self) -> bool {
        self.caught_up
    }

    /// The newest sequence number there was at its last read (of every project: the
    /// sequence is global, as `next_after`, which moves up to it, already shows).
    pub fn latest(&self) -> i64 {
        self.latest
    }

    /// Reads the first batch now (so a pruned cursor is refused at once); the first
    /// [`Follower::next`] returns it.
    pub(super) async fn start(&mut self) -> Result<(), EventsError> {
        self.pending = self.read().await?;
        Ok(())
    }

    /// The next events, oldest first; when there are none yet, waits up to `patience` for
    /// the sequence to grow and returns what it brought (possibly nothing, when it brought
    /// nothing that matches or the patience ran out). Dropping the future cancels the wait
    /// and loses nothing.
    pub async fn next(&mut self, patience: Duration) -> Result<Vec<Event>, EventsError> {
        if !self.pending.is_empty() {
            return Ok(std::mem::take(&mut self.pending));
        }
        let events = self.read().await?;
        if !events.is_empty() {
            return Ok(events);
        }
        self.events
            .wait_beyond_for(self.query.after, self.query.interest(), patience)
            .await?;
        self.read().await
    }

    /// One page after the cursor, moving the cursor past it. The horizon is read first:
    /// every event up to it is visible by then, so when the page is not full, nothing else
    /// up to it matched and the cursor can move there.
    pub(super) async fn read(&mut self) -> Result<Vec<Event>, EventsError> {
        let horizon = self.events.horizon().await?.latest;
        self.latest = horizon;
        let events = self.events.events_after(&self.query).await?;
        let last = events
            .iter()
            .filter_map(|event| event.seq)
            .max()
            .unwrap_or(self.query.after);
        let full = events.len() >= self.query.limit as usize;
        self.caught_up = !full;
        self.query.after = if full { last } else { last.max(horizon) };
        Ok(events)
    }
}
