//! The signal that ends long-lived responses (event streams, waits) when the service shuts
//! down: a graceful stop waits for in-flight responses, and these would otherwise hold it
//! until its timeout and then be cut off mid-message.

use tokio::sync::watch;

/// Fires the [`Shutdown`] it was made with.
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

impl ShutdownTrigger {
    /// Ends every stream and wait of the [`Shutdown`], now and from now on.
    pub fn fire(&self) {
        self.0.send_replace(true);
    }
}

/// What long-lived responses watch to end before a graceful stop; cheap to clone.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// A signal and its trigger.
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let (sender, receiver) = watch::channel(false);
        (ShutdownTrigger(sender), Shutdown(receiver))
    }

    /// A signal that never fires (its trigger is gone), for tests and tools.
    pub fn never() -> Shutdown {
        Shutdown::new().1
    }

    /// Completes once the signal fires; never, when its trigger is gone without firing.
    pub async fn fired(&mut self) {
        if self.0.wait_for(|fired| *fired).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn fires_for_every_clone_and_a_dropped_trigger_never_fires() {
        let (trigger, shutdown) = Shutdown::new();
        let mut early = shutdown.clone();
        trigger.fire();
        let mut late = shutdown.clone();
        early.fired().await;
        late.fired().await;
        let mut never = Shutdown::never();
        let waited = tokio::time::timeout(Duration::from_millis(20), never.fired()).await;
        assert!(waited.is_err(), "a signal without a trigger never fires");
    }
}
