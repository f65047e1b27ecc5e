//! The watchers of one round: event-stream subscribers and waiters, opened before the
//! provisioning starts, run as futures on a few tasks, and let go together.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::future::join_all;
use futures::{StreamExt, TryStreamExt, stream};
use hyper::header::HeaderValue;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::ledger::Ledger;
use super::subscriber::{Deliveries, Subscriber};
use super::waiter::{self, Waited};
use crate::http::Conn;

/// Tasks the watchers of each kind are spread over (the runtime has a worker per core).
const TASKS: usize = 4;
/// Connections opened at once, so the listen queue never overflows.
const OPEN_AT_ONCE: usize = 50;
/// How long fleetd may take to count every watcher opened, or closed.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The open watchers of a round.
pub struct Watchers {
    streams: Vec<JoinHandle<Vec<Result<Deliveries>>>>,
    waits: Vec<JoinHandle<Vec<Waited>>>,
    stop_streams: watch::Sender<bool>,
    stop_waits: watch::Sender<bool>,
}

/// One key of a project, as text (for the raw subscribers) and as a header value.
pub struct ProjectKey {
    /// The key's text.
    pub text: String,
    /// Its `Authorization` header value.
    pub bearer: HeaderValue,
}

impl Watchers {
    /// Opens `subscribers` event streams on fleetd at `addr`, the `i`th with key
    /// `keys[i % keys.len()]`, and a waiter for each of `targets` (a server and the index of
    /// its project's key); returns once fleetd counts them all open, and how long that took.
    pub async fn open(
        addr: SocketAddr,
        keys: &[ProjectKey],
        subscribers: usize,
        targets: &[(usize, Uuid)],
        ledger: &Arc<Ledger>,
    ) -> Result<(Watchers, Duration)> {
        let started = Instant::now();
        let (stop_waits, stop) = watch::channel(false);
        let waits = spread(targets.to_vec())
            .into_iter()
            .map(|group| {
                let bearers: Vec<HeaderValue> = group
                    .iter()
                    .map(|(project, _)| keys[*project].bearer.clone())
                    .collect();
                let stop = stop.clone();
                tokio::spawn(async move {
                    let waits = group
                        .into_iter()
                        .zip(bearers)
                        .map(|((_, server), key)| waiter::hold(addr, key, server, stop.clone()));
                    join_all(waits).await
                })
            })
            .collect();
        let opened: Vec<Subscriber> = stream::iter(0..subscribers)
            .map(|i| Subscriber::open(addr, &keys[i % keys.len()].text))
            .buffer_unordered(OPEN_AT_ONCE)
            .try_collect()
            .await?;
        let (stop_streams, stop) = watch::channel(false);
        let streams = spread(opened)
            .into_iter()
            .map(|group| {
                let ledger = ledger.clone();
                let stop = stop.clone();
                tokio::spawn(async move {
                    join_all(group.into_iter().map(|s| s.follow(&ledger, stop.clone()))).await
                })
            })
            .collect();
        let watchers = Watchers {
            streams,
            waits,
            stop_streams,
            stop_waits,
        };
        settle(addr, (subscribers as u64, targets.len() as u64)).await?;
        Ok((watchers, started.elapsed()))
    }

    /// Closes the streams; what they received, merged, and the failure of each that failed.
    pub async fn close_streams(&mut self) -> Result<(Deliveries, Vec<String>)> {
        self.stop_streams.send_replace(true);
        let mut deliveries = Deliveries::new();
        let mut failures = Vec::new();
        for task in self.streams.drain(..) {
            for outcome in task.await.context("a subscriber task panicked")? {
                match outcome {
                    Ok(received) => deliveries.merge(received),
                    Err(e) => failures.push(format!("{e:#}")),
                }
            }
        }
        Ok((deliveries, failures))
    }

    /// Gives the waiters up to `patience` to be answered, then closes those still waiting;
    /// how each waiter's waiting went.
    pub async fn close_waits(&mut self, patience: Duration) -> Result<Vec<Waited>> {
        let deadline = tokio::time::Instant::now() + patience;
        let mut waited = Vec::new();
        for mut task in self.waits.drain(..) {
            let outcome = match tokio::time::timeout_at(deadline, &mut task).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    self.stop_waits.send_replace(true);
                    task.await
                }
            };
            waited.extend(outcome.context("a waiter task panicked")?);
        }
        Ok(waited)
    }
}

/// Waits until fleetd at `addr` counts every watcher closed, as it must once the clients
/// have gone (nothing left behind).
pub async fn await_closed(addr: SocketAddr) -> Result<()> {
    settle(addr, (0, 0)).await
}

/// Waits until fleetd at `addr` counts `(streams, waits)` open.
async fn settle(addr: SocketAddr, wanted: (u64, u64)) -> Result<()> {
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    let mut conn = Conn::connect(addr).await?;
    loop {
        let open = open_watches(&mut conn).await?;
        if open == wanted {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "fleetd counts {} streams and {} waits open, {SETTLE_TIMEOUT:?} after the bench \
                 made it {} and {}",
                open.0,
                open.1,
                wanted.0,
                wanted.1
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// fleetd's gauge of open watches (`fleet_open_watches`): (streams, waits).
async fn open_watches(conn: &mut Conn) -> Result<(u64, u64)> {
    let response = conn.get_ok("/metrics").await?;
    let text = String::from_utf8_lossy(&response.body);
    let gauge = |kind: &str| {
        let name = format!("fleet_open_watches{{kind=\"{kind}\"}} ");
        text.lines()
            .find_map(|line| line.strip_prefix(&name)?.trim().parse::<f64>().ok())
            .map_or(0, |value| value as u64)
    };
    Ok((gauge("stream"), gauge("wait")))
}

/// `items` dealt round-robin into [`TASKS`] groups.
fn spread<T>(items: Vec<T>) -> Vec<Vec<T>> {
    let mut groups: Vec<Vec<T>> = (0..TASKS).map(|_| Vec::new()).collect();
    for (i, item) in items.into_iter().enumerate() {
        groups[i % TASKS].push(item);
    }
    groups
}
