//! The `EventLog` and `ActionStore` ports of [`PgStore`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use fleet_domain::action::ActionRecord;
use fleet_domain::error::StoreError;
use fleet_domain::event::{Event, EventHorizon, EventQuery, EventReadError};
use fleet_domain::ports::{ActionStore, EventLog};
use fleet_domain::{ActionId, PageRequest, ServerId};

use crate::store::PgStore;
use crate::{actions, event_log};

#[async_trait::async_trait]
impl EventLog for PgStore {
    async fn events_after(&self, query: &EventQuery) -> Result<Vec<Event>, EventReadError> {
        let mut conn = self.conn().await?;
        let (events, horizon) = event_log::after(&mut conn, query)
            .await
            .map_err(StoreError::from)?;
        if horizon.pruned_through > query.after {
            return Err(EventReadError::Expired {
                after: query.after,
                pruned_through: horizon.pruned_through,
            });
        }
        Ok(events)
    }

    async fn horizon(&self) -> Result<EventHorizon, StoreError> {
        let mut conn = self.conn().await?;
        Ok(event_log::horizon(&mut conn).await?)
    }

    /// Waits on the horizon the process's [`crate::EventFeed`] publishes (this process's
    /// passes, and every other's through `LISTEN`), holding no connection meanwhile.
    async fn wait_beyond(&self, seen: i64, patience: Duration) -> Result<i64, StoreError> {
        Ok(self.horizon_watch().wait_beyond(seen, patience).await)
    }

    async fn prune_events(
        &self,
        before: DateTime<Utc>,
        keep_per_server: u32,
        limit: u32,
    ) -> Result<u32, StoreError> {
        let mut conn = self.conn().await?;
        Ok(event_log::prune(&mut conn, before, keep_per_server, limit).await?)
    }
}

#[async_trait::async_trait]
impl ActionStore for PgStore {
    async fn action(&self, id: ActionId) -> Result<Option<ActionRecord>, StoreError> {
        let mut conn = self.conn().await?;
        Ok(actions::get(&mut conn, id).await?)
    }

    async fn server_actions(
        &self,
        server: ServerId,
        page: &PageRequest,
    ) -> Result<Vec<ActionRecord>, StoreError> {
        let mut conn = self.conn().await?;
        Ok(actions::of_server(&mut conn, server, page).await?)
    }
}
