//! The body of a delivery: `{"type", "timestamp", "data"}`, as Standard Webhooks lays it
//! out, serialised once when the delivery is made so every attempt sends the same bytes.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::event::Event;
use crate::ids::WebhookId;

/// The type of the message `POST /webhooks/{id}/test` sends.
pub const TEST_TYPE: &str = "webhook.test";

/// How an event is shown as a message's `data`: as the API shows it in `GET /events`.
/// The driving adapter that owns that representation provides it.
pub trait EventData: Send + Sync {
    /// The event's JSON.
    fn data(&self, event: &Event) -> Value;
}

/// The body of an event's message.
pub fn event_message(event: &Event, data: &dyn EventData) -> String {
    body(
        event.event.event_type().as_str(),
        event.event.at,
        data.data(event),
    )
}

/// The body of a test message for `webhook`, sent at `at`.
pub fn test_message(webhook: WebhookId, at: DateTime<Utc>) -> String {
    body(
        TEST_TYPE,
        at,
        json!({
            "webhook_id": webhook.to_string(),
            "message": "a test message from fleet: this subscription's endpoint is reachable",
        }),
    )
}

fn body(event_type: &str, at: DateTime<Utc>, data: Value) -> String {
    json!({
        "type": event_type,
        "timestamp": at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        "data": data,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_message_has_the_standard_layout() {
        let webhook = WebhookId::random();
        let at = DateTime::from_timestamp(1_614_265_330, 0).expect("an instant");
        let body: Value = serde_json::from_str(&test_message(webhook, at)).expect("JSON");
        assert_eq!(body["type"], "webhook.test");
        assert_eq!(body["timestamp"], "2021-02-25T15:02:10Z");
        assert_eq!(body["data"]["webhook_id"], webhook.to_string());
    }
}
