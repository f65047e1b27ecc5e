//! The domain's `Pause` port on tokio: how a fault rule's latency holds a request before
//! its operation runs (the domain has no runtime of its own).

use std::time::Duration;

use fleet_domain::faults::Pause;

/// Sleeps on the request's runtime; a client that hangs up drops the request, and the
/// sleep with it.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioPause;

#[async_trait::async_trait]
impl Pause for TokioPause {
    async fn pause(&self, delay: Duration) {
        tokio::time::sleep(delay).await;
    }
}
