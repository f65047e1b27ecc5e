//! The event feed: the two background tasks that keep the global sequence moving and known
//! in this process.
//!
//! - The sequencer numbers committed events (see `sequencer`). This process's stores wake it
//!   after each commit that appended events; a slow timer catches events whose writer died
//!   between committing and waking its own sequencer.
//! - The listener holds a connection of its own, `LISTEN`s on the horizon channel, and
//!   publishes every horizon a pass notifies (any fleetd's) to the process's
//!   [`Horizon`], where `wait_beyond` waits. It reconnects when the connection is lost, and
//!   reads the horizon again then, since notifications sent meanwhile are lost.

use std::sync::Arc;
use std::time::Duration;

use anyhow::anyhow;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use fleet_domain::error::StoreError;
use futures::StreamExt;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::errors;
use crate::event_log;
use crate::sequencer::{HORIZON_CHANNEL, Pass};
use crate::store::PgStore;

/// The listener's `application_name`, so an operator can tell its connection apart.
const LISTENER_NAME: &str = "fleet event listener";

/// How often the sequencer looks for events nobody woke it for.
const SAFETY_NET: Duration = Duration::from_secs(1);

/// The least time between the starts of two passes: commits that come meanwhile are
/// numbered together, so a busy process runs at most a hundred passes a second, each a
/// handful of statements, instead of one per commit. A reader waits for it at most once.
const PASS_GAP: Duration = Duration::from_millis(10);

/// How long a task waits after a failure before it tries again.
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// What the feed's tasks report: what they were doing and what failed. The store has no
/// logger of its own; fleetd logs these.
pub type FeedReport = Arc<dyn Fn(&'static str, &StoreError) + Send + Sync>;

/// The highest sequence number this process knows is visible, shared by a store and the
/// stores made from it, and what wakes its sequencer.
#[derive(Debug)]
pub(crate) struct Horizon {
    latest: watch::Sender<i64>,
    wake: Notify,
}

impl Default for Horizon {
    fn default() -> Self {
        Self {
            latest: watch::Sender::new(0),
            wake: Notify::new(),
        }
    }
}

impl Horizon {
    /// Records that numbers up to `latest` are visible; the horizon never moves back.
    pub(crate) fn reached(&self, latest: i64) {
        self.latest.send_if_modified(|known| {
            let moved = latest > *known;
            if moved {
                *known = latest;
            }
            moved
        });
    }

    /// Waits until the horizon passes `seen`, at most `patience`; the horizon then (which
    /// is `seen` or below when the patience ran out).
    pub(crate) async fn wait_beyond(&self, seen: i64, patience: Duration) -> i64 {
        let mut known = self.latest.subscribe();
        let waited = tokio::time::timeout(patience, known.wait_for(|latest| *latest > seen)).await;
        match waited {
            Ok(Ok(latest)) => *latest,
            _ => *self.latest.borrow(),
        }
    }

    /// Tells the sequencer that events were committed (a wake while it runs a pass makes it
    /// run another).
    pub(crate) fn events_committed(&self) {
        self.wake.notify_one();
    }
}

/// The running feed of a store; [`EventFeed::stop`] ends it cleanly. Dropping it asks the
/// tasks to stop without waiting for them.
#[derive(Debug)]
pub struct EventFeed {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl EventFeed {
    /// Starts the tasks on the current runtime, over `store`'s pool (the sequencer) and a
    /// connection of their own to `url` (the listener).
    pub(crate) fn start(store: PgStore, url: String, report: FeedReport) -> EventFeed {
        let (stop, stopped) = watch::channel(false);
        let sequencer = tokio::spawn(run_sequencer(
            store.clone(),
            stopped.clone(),
            report.clone(),
        ));
        let listener = tokio::spawn(run_listener(store, url, stopped, report));
        EventFeed {
            stop,
            tasks: vec![sequencer, listener],
        }
    }

    /// Stops the tasks and waits for them: a pass under way commits or rolls back first, and
    /// the listener's connection is closed.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Drop for EventFeed {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Completes once the feed is asked to stop.
async fn stopping(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

async fn run_sequencer(store: PgStore, mut stopped: watch::Receiver<bool>, report: FeedReport) {
    let horizon = store.horizon_watch();
    let mut next_pass = tokio::time::Instant::now();
    loop {
        tokio::select! {
            () = stopping(&mut stopped) => return,
            () = horizon.wake.notified() => {}
            () = tokio::time::sleep(SAFETY_NET) => {}
        }
        tokio::select! {
            () = stopping(&mut stopped) => return,
            () = tokio::time::sleep_until(next_pass) => {}
        }
        next_pass = tokio::time::Instant::now() + PASS_GAP;
        loop {
            match store.sequence_once().await {
                Ok(Pass::Numbered { latest, more }) => {
                    horizon.reached(latest);
                    if !more || *stopped.borrow() {
                        break;
                    }
                }
                Ok(Pass::Idle) => break,
                Err(e) => {
                    report("numbering events", &e);
                    tokio::select! {
                        () = stopping(&mut stopped) => return,
                        () = tokio::time::sleep(RETRY_AFTER) => {}
                    }
                    break;
                }
            }
        }
    }
}

async fn run_listener(
    store: PgStore,
    url: String,
    mut stopped: watch::Receiver<bool>,
    report: FeedReport,
) {
    let horizon = store.horizon_watch();
    loop {
        let listened = tokio::select! {
            () = stopping(&mut stopped) => return,
            listened = listen(&url, horizon) => listened,
        };
        if let Err(e) = listened {
            report("listening for new events", &e);
        }
        tokio::select! {
            () = stopping(&mut stopped) => return,
            () = tokio::time::sleep(RETRY_AFTER) => {}
        }
    }
}

/// Connects, listens, catches up with the horizon, and publishes every horizon notified
/// until the connection is lost.
async fn listen(url: &str, horizon: &Horizon) -> Result<(), StoreError> {
    let mut conn = AsyncPgConnection::establish(url)
        .await
        .map_err(|e| StoreError::Unavailable(anyhow!("connecting to listen: {e}")))?;
    conn.batch_execute(&format!(
        "SET application_name = '{LISTENER_NAME}'; LISTEN {HORIZON_CHANNEL}"
    ))
    .await
    .map_err(errors::db)?;
    let now = event_log::horizon(&mut conn).await?;
    horizon.reached(now.latest);
    let mut notifications = std::pin::pin!(conn.notifications_stream());
    while let Some(notification) = notifications.next().await {
        let notification = notification.map_err(errors::db)?;
        if let Ok(latest) = notification.payload.parse::<i64>() {
            horizon.reached(latest);
        }
    }
    Err(StoreError::Unavailable(anyhow!(
        "the listening connection was closed"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_horizon_only_moves_forward_and_wakes_a_waiter() {
        let horizon = Arc::new(Horizon::default());
        horizon.reached(5);
        horizon.reached(3);
        assert_eq!(horizon.wait_beyond(4, Duration::ZERO).await, 5);
        let waiter = {
            let horizon = horizon.clone();
            tokio::spawn(async move { horizon.wait_beyond(5, Duration::from_secs(10)).await })
        };
        tokio::task::yield_now().await;
        horizon.reached(9);
        assert_eq!(waiter.await.expect("the waiter"), 9);
        assert_eq!(
            horizon.wait_beyond(9, Duration::from_millis(10)).await,
            9,
            "no change: the horizon as it is once the patience runs out"
        );
    }
}
