//! How long each call may take. One client-wide timeout cannot fit every operation: a wait
//! is answered only when its server arrives (up to a minute later) and an event stream is
//! meant to stay open, while every other call answers at once.

use std::time::Duration;

use progenitor_client::{ClientHooks, Error, OperationInfo};

use crate::Client;

/// How long a call that answers at once may take before it counts as no answer.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest `timeout` a wait may ask of the service (`GET /servers/{id}/wait`).
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// The operation whose answer is a stream that stays open.
const STREAM: &str = "stream_events";
/// The operation that answers when its server arrives or its own timeout passes.
const WAIT: &str = "wait_for_server";

/// The timeout of a call to `operation`: none for the event stream, whose reader watches
/// for silence instead (the service sends a keep-alive every 15 s); the longest wait and
/// then the ordinary allowance for a wait; the ordinary allowance for the rest.
pub fn timeout_of(operation: &str) -> Option<Duration> {
    match operation {
        STREAM => None,
        WAIT => Some(MAX_WAIT + CALL_TIMEOUT),
        _ => Some(CALL_TIMEOUT),
    }
}

impl ClientHooks for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        *request.timeout_mut() = timeout_of(info.operation_id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_stream_is_unbounded_and_a_wait_outlasts_its_longest_timeout() {
        assert_eq!(timeout_of("stream_events"), None);
        let wait = timeout_of("wait_for_server").expect("a bound");
        assert!(wait > MAX_WAIT, "{wait:?}");
        assert_eq!(timeout_of("get_server"), Some(CALL_TIMEOUT));
    }
}
