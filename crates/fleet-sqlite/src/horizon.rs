//! How far the event sequence goes, as this process knows: moved after each commit that
//! numbered events, waited on by `wait_beyond`. Another process sharing the file moves its
//! own; this one learns of those numbers when it reads.

use std::time::Duration;

use tokio::sync::watch;

/// The highest number committed through this store, shared by its clones.
#[derive(Debug)]
pub(crate) struct Horizon(watch::Sender<i64>);

impl Default for Horizon {
    fn default() -> Self {
        Self(watch::Sender::new(0))
    }
}

impl Horizon {
    /// Records that numbers up to `latest` are committed; the horizon never moves back.
    pub(crate) fn reached(&self, latest: i64) {
        self.0.send_if_modified(|known| {
            let moved = latest > *known;
            if moved {
                *known = latest;
            }
            moved
        });
    }

    /// Waits until the horizon passes `seen`, at most `patience`; the horizon then.
    pub(crate) async fn wait_beyond(&self, seen: i64, patience: Duration) -> i64 {
        let mut known = self.0.subscribe();
        let waited = tokio::time::timeout(patience, known.wait_for(|latest| *latest > seen)).await;
        match waited {
            Ok(Ok(latest)) => *latest,
            _ => *self.0.borrow(),
        }
    }
}
