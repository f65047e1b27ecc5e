use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use fleet_domain::error::StoreError;
use fleet_domain::ports::{ActionStore, EventLog};
use fleet_domain::{
    ActionId, ActionRecord, Event, EventHorizon, EventQuery, EventReadError, PageRequest, ServerId,
};

use super::{DbSystem, traced};

/// [`EventLog`] with a span around every call. `wait_beyond_for` keeps the trait's default
/// (neither store overrides it), so it spans as `wait_beyond`: wrap a store's log, not the
/// fan-out, whose override this would bypass.
pub struct TracedEventLog {
    inner: Arc<dyn EventLog>,
    system: DbSystem,
}

impl TracedEventLog {
    /// `inner`, its calls spanned as calls to `system`.
    pub fn new(inner: Arc<dyn EventLog>, system: DbSystem) -> Self {
        Self { inner, system }
    }
}

#[async_trait::async_trait]
impl EventLog for TracedEventLog {
    async fn events_after(&self, query: &EventQuery) -> Result<Vec<Event>, EventReadError> {
        traced(self.system, "events_after", self.inner.events_after(query)).await
    }

    async fn horizon(&self) -> Result<EventHorizon, StoreError> {
        traced(self.system, "horizon", self.inner.horizon()).await
    }

    async fn wait_beyond(&self, seen: i64, patience: Duration) -> Result<i64, StoreError> {
        traced(
            self.system,
            "wait_beyond",
            self.inner.wait_beyond(seen, patience),
        )
        .await
    }

    async fn prune_events(
        &self,
        before: DateTime<Utc>,
        keep_per_server: u32,
        limit: u32,
    ) -> Result<u32, StoreError> {
        traced(
            self.system,
            "prune_events",
            self.inner.prune_events(before, keep_per_server, limit),
        )
        .await
    }
}

/// [`ActionStore`] with a span around every call.
pub struct TracedActionStore {
    inner: Arc<dyn ActionStore>,
    system: DbSystem,
}

impl TracedActionStore {
    /// `inner`, its calls spanned as calls to `system`.
    pub fn new(inner: Arc<dyn ActionStore>, system: DbSystem) -> Self {
        Self { inner, system }
    }
}

#[async_trait::async_trait]
impl ActionStore for TracedActionStore {
    async fn action(&self, id: ActionId) -> Result<Option<ActionRecord>, StoreError> {
        traced(self.system, "action", self.inner.action(id)).await
    }

    async fn server_actions(
        &self,
        server: ServerId,
        page: &PageRequest,
    ) -> Result<Vec<ActionRecord>, StoreError> {
        traced(
            self.system,
            "server_actions",
            self.inner.server_actions(server, page),
        )
        .await
    }
}
