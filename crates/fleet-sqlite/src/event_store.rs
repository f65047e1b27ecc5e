//! The `EventLog` and `ActionStore` ports of [`SqliteStore`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::Connection;
use fleet_domain::action::ActionRecord;
use fleet_domain::error::StoreError;
use fleet_domain::event::{Event, EventHorizon, EventQuery, EventReadError};
use fleet_domain::ids::{ActionId, ServerId};
use fleet_domain::page::PageRequest;
use fleet_domain::ports::{ActionStore, EventLog};

use crate::ops::{actions, sequence};
use crate::store::SqliteStore;

#[async_trait::async_trait]
impl EventLog for SqliteStore {
    async fn events_after(&self, query: &EventQuery) -> Result<Vec<Event>, EventReadError> {
        let after = query.after;
        let query = query.clone();
        let (events, horizon) = self
            .scan(move |conn| conn.transaction(|conn| sequence::after(conn, &query)))
            .await?;
        if horizon.pruned_through > after {
            return Err(EventReadError::Expired {
                after,
                pruned_through: horizon.pruned_through,
            });
        }
        Ok(events)
    }

    async fn horizon(&self) -> Result<EventHorizon, StoreError> {
        self.read(sequence::horizon).await
    }

    /// Woken by this process's commits (the store writes one transaction at a time and
    /// numbers events in it), holding no connection meanwhile.
    async fn wait_beyond(&self, seen: i64, patience: Duration) -> Result<i64, StoreError> {
        Ok(self.horizon_watch().wait_beyond(seen, patience).await)
    }

    async fn prune_events(
        &self,
        before: DateTime<Utc>,
        keep_per_server: u32,
        limit: u32,
    ) -> Result<u32, StoreError> {
        self.write(move |conn| sequence::prune(conn, before, keep_per_server, limit))
            .await
    }
}

#[async_trait::async_trait]
impl ActionStore for SqliteStore {
    async fn action(&self, id: ActionId) -> Result<Option<ActionRecord>, StoreError> {
        self.read(move |conn| actions::get(conn, id)).await
    }

    async fn server_actions(
        &self,
        server: ServerId,
        page: &PageRequest,
    ) -> Result<Vec<ActionRecord>, StoreError> {
        let page = *page;
        self.read(move |conn| actions::of_server(conn, server, &page))
            .await
    }
}
