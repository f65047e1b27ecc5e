//! Waiting for a server to be in one of some states (Fly's `/wait`): woken by the event
//! sequence, so no database connection is held while nothing happens.

use std::sync::Arc;
use std::time::Duration;

use super::visible;
use crate::error::WaitError;
use crate::event::{EventQuery, EventReadError, Interest};
use crate::faults::{FaultTarget, Operation};
use crate::ids::ServerId;
use crate::ports::{Clock, EventLog, Store};
use crate::server::Server;
use crate::service::servers::ServerView;
use crate::service::watch::WatchService;
use crate::state::ServerState;
use crate::tenancy::Caller;

/// How long one wait on the event log lasts before the waiter looks again: a bound on how
/// long a lost notification could delay it.
const PATIENCE: Duration = Duration::from_secs(1);

/// A wait under way for one server. The caller bounds it in time (by dropping
/// [`Waiter::reached`]'s future), and then reads where the server was with
/// [`Waiter::state`].
pub struct Waiter {
    store: Arc<dyn Store>,
    events: Arc<dyn EventLog>,
    clock: Arc<dyn Clock>,
    wanted: Vec<ServerState>,
    server: Server,
    /// Every event up to here has been taken into account.
    seen: i64,
}

impl WatchService {
    /// Starts waiting for the server to be in one of the `wanted` states; the server must
    /// be one the caller sees.
    pub async fn wait(
        &self,
        caller: &Caller,
        id: ServerId,
        wanted: Vec<ServerState>,
    ) -> Result<Waiter, WaitError> {
        if wanted.is_empty() {
            return Err(WaitError::NoStates);
        }
        // The horizon before the server: a change committed after the read moves it on.
        let seen = self.events.horizon().await?.latest;
        let server = visible(&*self.store, caller, id)
            .await?
            .ok_or(WaitError::NotFound(id))?;
        self.admit(caller, Operation::Wait, FaultTarget::Server(&server))
            .await?;
        Ok(Waiter {
            store: self.store.clone(),
            events: self.events.clone(),
            clock: self.clock.clone(),
            wanted,
            server,
            seen,
        })
    }
}

impl Waiter {
    /// The state the server was in when last read.
    pub fn state(&self) -> ServerState {
        self.server.state
    }

    /// The server once it is in a wanted state; refused as soon as it is in a state from
    /// which none can be reached. Reads the server again only when an event about it
    /// arrives.
    pub async fn reached(&mut self) -> Result<ServerView, WaitError> {
        loop {
            let state = self.server.state;
            if self.wanted.contains(&state) {
                return Ok(ServerView::at(self.server.clone(), self.clock.now()));
            }
            if !self.wanted.iter().any(|wanted| state.can_reach(*wanted)) {
                return Err(WaitError::Unreachable {
                    id: self.server.id,
                    state,
                    wanted: self.wanted.clone(),
                });
            }
            let latest = self
                .events
                .wait_beyond_for(self.seen, Interest::Server(self.server.id), PATIENCE)
                .await?;
            if latest > self.seen && self.touched().await? {
                self.server = self
                    .store
                    .get(self.server.id)
                    .await?
                    .ok_or(WaitError::NotFound(self.server.id))?;
            }
            self.seen = self.seen.max(latest);
        }
    }

    /// Whether an event about the server arrived after `seen`.
    async fn touched(&self) -> Result<bool, WaitError> {
        let query = EventQuery {
            project: Some(self.server.project),
            after: self.seen,
            server: Some(self.server.id),
            types: Vec::new(),
            selector: None,
            limit: 1,
        };
        match self.events.events_after(&query).await {
            Ok(events) => Ok(!events.is_empty()),
            // Pruned under the wait: read the server rather than guess.
            Err(EventReadError::Expired { .. }) => Ok(true),
            Err(EventReadError::Store(e)) => Err(e.into()),
        }
    }
}
