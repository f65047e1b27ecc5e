//! Sending one signed message.

use std::error::Error as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use fleet_domain::ports::{OutgoingMessage, Sent, WebhookSender};
use fleet_domain::webhooks::{AddressPolicy, AttemptOutcome, literal_address};
use opentelemetry::trace::TraceContextExt;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use reqwest::redirect;

use crate::resolver::PolicyResolver;
use crate::trace;

/// The most bytes of an answer read: enough to see it is there, never enough to matter.
const MAX_BODY: usize = 64 * 1024;

/// How deliveries are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderSettings {
    /// The longest a whole attempt may take, answer included.
    pub timeout: Duration,
    /// The longest connecting may take.
    pub connect_timeout: Duration,
    /// Where deliveries may go.
    pub policy: AddressPolicy,
}

impl Default for SenderSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            policy: AddressPolicy::default(),
        }
    }
}

/// Sends deliveries over HTTP(S).
pub struct HttpSender {
    client: reqwest::Client,
    policy: AddressPolicy,
    timeout: Duration,
}

impl HttpSender {
    /// A sender with its own connection pool.
    pub fn new(settings: SenderSettings) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(redirect::Policy::none())
            .no_proxy()
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            .dns_resolver(Arc::new(PolicyResolver {
                policy: settings.policy,
            }))
            .build()?;
        Ok(Self {
            client,
            policy: settings.policy,
            timeout: settings.timeout,
        })
    }

    async fn post(&self, message: &OutgoingMessage) -> AttemptOutcome {
        // A URL naming an address connects without resolving: check it here.
        if let Some(address) = literal_address(&message.url)
            && let Err(why) = self.policy.check(address)
        {
            return AttemptOutcome::NoResponse {
                error: why.to_string(),
            };
        }
        let mut request = self.client.post(&message.url);
        let mut span = None;
        if let Some(trace) = message.trace {
            let attempt = trace::attempt_span(trace, &message.url);
            request = request.header("traceparent", trace::traceparent(&attempt, trace));
            span = Some(attempt);
        }
        let sent = request
            .header(CONTENT_TYPE, "application/json")
            .header(
                USER_AGENT,
                concat!("fleet-webhooks/", env!("CARGO_PKG_VERSION")),
            )
            .header("webhook-id", &message.id)
            .header("webhook-timestamp", message.timestamp.to_string())
            .header("webhook-signature", &message.signature)
            .body(message.body.clone())
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(e) => {
                return AttemptOutcome::NoResponse {
                    error: self.describe(&e),
                };
            }
        };
        let status = response.status().as_u16();
        if let Some(span) = &span {
            span.span().set_attribute(opentelemetry::KeyValue::new(
                "http.response.status_code",
                i64::from(status),
            ));
        }
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| retry_after(value, Utc::now()));
        let mut read = 0;
        while read < MAX_BODY {
            match response.chunk().await {
                Ok(Some(chunk)) => read += chunk.len(),
                // The status is what counts: an answer cut short still answered.
                Ok(None) | Err(_) => break,
            }
        }
        AttemptOutcome::Responded {
            status,
            retry_after,
        }
    }

    fn describe(&self, error: &reqwest::Error) -> String {
        if error.is_timeout() {
            return format!("no answer within {} s", self.timeout.as_secs_f64());
        }
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}

#[async_trait::async_trait]
impl WebhookSender for HttpSender {
    async fn send(&self, message: &OutgoingMessage) -> Sent {
        let started = Instant::now();
        let outcome = self.post(message).await;
        Sent {
            outcome,
            latency: started.elapsed(),
        }
    }
}

/// A `Retry-After` value: seconds, or an HTTP date (how long from `now`).
fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    if let Ok(seconds) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value.trim()).ok()?;
    Some(
        (at.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
#[path = "sender_tests.rs"]
mod tests;
