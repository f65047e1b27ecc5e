//! Watching the fleet: the global event sequence, read a page at a time after a cursor or
//! followed as it grows. Waits are in `wait.rs`, action records in `actions.rs`.

use std::sync::Arc;

use crate::error::EventsError;
use crate::event::{Event, EventQuery, EventType};
use crate::faults::{FaultError, FaultInjector, FaultTarget, Operation};
use crate::ids::ServerId;
use crate::page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::ports::{ActionStore, Clock, EventLog, Store};
use crate::selector::Selector;
use crate::service::follow::Follower;
use crate::service::input::{echo, page_limit};
use crate::service::servers::reader;
use crate::state::join;
use crate::tenancy::Caller;

/// Which events a client reads or follows, as it gave them; validated by the use case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventsRequest {
    /// The cursor: events after this sequence number (an event's `seq` or a page's
    /// `next_after`). Absent, a page starts from the oldest kept event and a stream from now.
    pub after: Option<String>,
    /// A reconnecting stream's `Last-Event-ID`: when sent, it takes the place of `after`
    /// (which must still be a cursor if sent too, so no bad input passes unseen).
    pub last_event_id: Option<String>,
    /// Only events of this server.
    pub server: Option<ServerId>,
    /// Only events of these types (by their public names); every type when empty.
    pub types: Vec<String>,
    /// Only events whose labels (their server's when they happened) match this selector
    /// (the Kubernetes grammar, as for servers).
    pub label_selector: Option<String>,
}

/// One page of events and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPage {
    /// The events, oldest first.
    pub events: Vec<Event>,
    /// The cursor to read on from: the last event's sequence number, or further when no
    /// other event matched the filters up to where the sequence went when the page was read.
    pub next_after: i64,
    /// The newest sequence number there was when the page was read, so that a client can
    /// read the newest events by an `after` below it.
    pub latest: i64,
}

/// Reading events, waiting for states and reading action records.
pub struct WatchService {
    pub(super) store: Arc<dyn Store>,
    pub(super) events: Arc<dyn EventLog>,
    pub(super) actions: Arc<dyn ActionStore>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) faults: Option<FaultInjector>,
}

impl WatchService {
    /// The service over its ports.
    pub fn new(
        store: Arc<dyn Store>,
        events: Arc<dyn EventLog>,
        actions: Arc<dyn ActionStore>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            events,
            actions,
            clock,
            faults: None,
        }
    }

    /// The same service, checking event reads and waits against the fault rules of
    /// `faults` before they run.
    pub fn with_faults(self, faults: FaultInjector) -> Self {
        Self {
            faults: Some(faults),
            ..self
        }
    }

    /// Lets `operation` on `target` run (after any latency a fault rule adds) or refuses it
    /// with a rule's error.
    pub(super) async fn admit(
        &self,
        caller: &Caller,
        operation: Operation,
        target: FaultTarget<'_>,
    ) -> Result<(), FaultError> {
        match &self.faults {
            None => Ok(()),
            Some(faults) => faults.admit(operation, target, &reader(caller)).await,
        }
    }

    /// A page of the events the caller sees (its project's; an admin's, every project's)
    /// after the request's cursor, oldest first: at most `limit` (1 to 100, 20 when absent).
    pub async fn events(
        &self,
        caller: &Caller,
        request: EventsRequest,
        limit: Option<i64>,
    ) -> Result<EventPage, EventsError> {
        let limit = page_limit(limit, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE).map_err(|given| {
            EventsError::BadLimit {
                given,
                max: MAX_PAGE_SIZE,
            }
        })?;
        let from_oldest = request.after.is_none();
        let mut query = query(caller, request, limit)?;
        self.admit(
            caller,
            Operation::Events,
            FaultTarget::Project(caller.project),
        )
        .await?;
        if from_oldest {
            // Not 0: once anything was pruned, that cursor would be refused as expired.
            query.after = self.events.horizon().await?.pruned_through;
        }
        let mut follower = Follower::new(self.events.clone(), query);
        let events = follower.read().await?;
        Ok(EventPage {
            events,
            next_after: follower.cursor(),
            latest: follower.latest(),
        })
    }

    /// Follows the events the caller sees after the request's cursor (without one, from
    /// now on), in batches of at most 100. The first batch is read here, so a cursor whose
    /// events were pruned is refused before anything is sent.
    pub async fn follow(
        &self,
        caller: &Caller,
        request: EventsRequest,
    ) -> Result<Follower, EventsError> {
        let from_now = request.after.is_none() && request.last_event_id.is_none();
        let mut query = query(caller, request, MAX_PAGE_SIZE)?;
        if from_now {
            query.after = self.events.horizon().await?.latest;
        }
        let mut follower = Follower::new(self.events.clone(), query);
        follower.start().await?;
        Ok(follower)
    }
}

/// The store query of a client's request, scoped to what the caller sees.
fn query(caller: &Caller, request: EventsRequest, limit: u32) -> Result<EventQuery, EventsError> {
    let after = request.after.as_deref().map(parse_cursor).transpose()?;
    let resumed = request
        .last_event_id
        .as_deref()
        .map(parse_cursor)
        .transpose()?;
    let after = resumed.or(after).unwrap_or(0);
    let types = request
        .types
        .iter()
        .map(|name| {
            EventType::parse(name).ok_or_else(|| EventsError::UnknownType {
                given: echo(name),
                known: join(EventType::ALL.iter().map(|t| t.as_str())),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let selector = Selector::parse_filter(request.label_selector.as_deref())?;
    Ok(EventQuery {
        project: caller.scope(),
        after,
        server: request.server,
        types,
        selector,
        limit,
    })
}

/// A sequence number as a client sends it back: digits only, from 0.
fn parse_cursor(text: &str) -> Result<i64, EventsError> {
    let bad = || EventsError::BadCursor { given: echo(text) };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    text.parse().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_is_a_whole_number_from_zero() {
        assert_eq!(parse_cursor("0").ok(), Some(0));
        assert_eq!(parse_cursor("42").ok(), Some(42));
        for bad in ["", "-1", "+3", " 4", "4.0", "abc", "99999999999999999999"] {
            assert!(
                matches!(parse_cursor(bad), Err(EventsError::BadCursor { .. })),
                "{bad:?}"
            );
        }
    }
}
