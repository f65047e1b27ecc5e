//! The reference store's event sequence and action records: every write holds the one state
//! lock, so numbering events as they are appended is what a store's commit order gives.

use std::time::Duration;

use chrono::{DateTime, Utc};
use fleet_domain::action::{ActionEnd, ActionRecord, ActionStatus};
use fleet_domain::error::StoreError;
use fleet_domain::event::{Event, EventHorizon, EventQuery, EventReadError, NewEvent};
use fleet_domain::ports::{ActionStore, EventLog};
use fleet_domain::{ActionId, Labels, PageRequest, ProjectId, Server, ServerId};

use super::{MemoryStore, State};

/// The sequence's horizon and the action records.
#[derive(Default)]
pub struct Watching {
    pub horizon: EventHorizon,
    pub actions: Vec<ActionRecord>,
}

impl State {
    /// Appends an event of `server` (as written with it) with the next number (its id too).
    pub fn append(&mut self, event: NewEvent, server: &Server) {
        self.append_in(event, server.project, server.labels.clone());
    }

    /// Appends `event` in `project` with `labels`, numbered next in the sequence.
    pub fn append_in(&mut self, event: NewEvent, project: ProjectId, labels: Labels) {
        self.watching.horizon.latest += 1;
        let seq = self.watching.horizon.latest;
        self.events.push(Event {
            id: seq,
            seq: Some(seq),
            project,
            labels,
            event,
        });
    }

    /// Ends the running action of `server`, if it has one.
    pub fn end_action(&mut self, server: ServerId, end: &ActionEnd) {
        let running = self
            .watching
            .actions
            .iter_mut()
            .find(|a| a.server_id == server && a.status == ActionStatus::Running);
        if let Some(action) = running {
            action.status = end.status;
            action.finished_at = Some(end.at);
            action.error = end.error.clone();
        }
    }
}

impl MemoryStore {
    /// Tells the waiters how far the sequence goes now.
    pub(super) fn publish(&self, state: &State) {
        self.horizon.send_replace(state.watching.horizon.latest);
    }
}

#[async_trait::async_trait]
impl EventLog for MemoryStore {
    async fn events_after(&self, query: &EventQuery) -> Result<Vec<Event>, EventReadError> {
        let state = self.state()?;
        let pruned_through = state.watching.horizon.pruned_through;
        if pruned_through > query.after {
            return Err(EventReadError::Expired {
                after: query.after,
                pruned_through,
            });
        }
        Ok(state
            .events
            .iter()
            .filter(|e| e.seq.is_some_and(|seq| seq > query.after) && query.matches(e))
            .take(query.limit as usize)
            .cloned()
            .collect())
    }

    async fn horizon(&self) -> Result<EventHorizon, StoreError> {
        Ok(self.state()?.watching.horizon)
    }

    async fn wait_beyond(&self, seen: i64, patience: Duration) -> Result<i64, StoreError> {
        let mut latest = self.horizon.subscribe();
        let _ = tokio::time::timeout(patience, latest.wait_for(|l| *l > seen)).await;
        let now = *latest.borrow();
        Ok(now)
    }

    async fn prune_events(
        &self,
        before: DateTime<Utc>,
        keep_per_server: u32,
        limit: u32,
    ) -> Result<u32, StoreError> {
        self.writable()?;
        let mut state = self.state()?;
        let mut doomed = Vec::new();
        let bound = state.webhooks.lowest_enabled_cursor().unwrap_or(i64::MAX);
        for event in state
            .events
            .iter()
            .filter(|e| e.seq.is_some_and(|s| s <= bound))
        {
            let newer = state
                .events
                .iter()
                .filter(|e| e.event.server_id() == event.event.server_id())
                .filter(|e| (e.event.at, e.id) > (event.event.at, event.id))
                .count();
            let kept_for_its_server =
                event.event.server_id().is_some() && newer < keep_per_server as usize;
            if event.event.at < before && !kept_for_its_server {
                doomed.push(event.id);
            }
        }
        doomed.truncate(limit as usize);
        if let Some(&highest) = doomed.iter().max() {
            let horizon = &mut state.watching.horizon;
            horizon.pruned_through = horizon.pruned_through.max(highest);
        }
        state.events.retain(|e| !doomed.contains(&e.id));
        Ok(doomed.len() as u32)
    }
}

#[async_trait::async_trait]
impl ActionStore for MemoryStore {
    async fn action(&self, id: ActionId) -> Result<Option<ActionRecord>, StoreError> {
        let state = self.state()?;
        Ok(state.watching.actions.iter().find(|a| a.id == id).cloned())
    }

    async fn server_actions(
        &self,
        server: ServerId,
        page: &PageRequest,
    ) -> Result<Vec<ActionRecord>, StoreError> {
        let state = self.state()?;
        let mut actions: Vec<ActionRecord> = state
            .watching
            .actions
            .iter()
            .filter(|a| a.server_id == server)
            .filter(|a| {
                page.after
                    .is_none_or(|c| (a.started_at, a.id.as_uuid()) < (c.created_at, c.id.as_uuid()))
            })
            .cloned()
            .collect();
        actions.sort_by_key(|a| std::cmp::Reverse((a.started_at, a.id.as_uuid())));
        Ok(actions
            .into_iter()
            .skip(page.offset as usize)
            .take(page.limit as usize)
            .collect())
    }
}
