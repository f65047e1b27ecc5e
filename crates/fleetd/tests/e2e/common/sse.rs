//! A Server-Sent Events client, as small as the tests need: open `/events/stream`, read its
//! messages one at a time.

use std::time::Duration;

use serde_json::Value;

/// One event as a stream sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Its `id:`, the event's `seq`.
    pub id: i64,
    /// Its `event:`, the event's type.
    pub event: String,
    /// Its `data:`, the event as JSON.
    pub data: Value,
}

/// An open event stream.
pub struct Stream {
    response: reqwest::Response,
    buffer: String,
    /// The `retry:` hint, once read.
    pub retry: Option<String>,
    /// The cursor the stream said it starts from (its first message), once read.
    pub origin: Option<i64>,
}

impl Stream {
    /// Opens `{base}/events/stream{query}`, resuming after `last_event_id` when given.
    pub async fn open(base: &str, query: &str, last_event_id: Option<i64>) -> Stream {
        let mut request = reqwest::Client::new().get(format!("{base}/events/stream{query}"));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.expect("open the stream");
        assert_eq!(response.status(), 200, "the stream opens");
        assert_eq!(
            response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("text/event-stream")
        );
        Stream {
            response,
            buffer: String::new(),
            retry: None,
            origin: None,
        }
    }

    /// The next event, waiting at most `limit`; `None` when the stream ended or nothing came.
    pub async fn next(&mut self, limit: Duration) -> Option<Message> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(message) = self.parse(&block) {
                    return Some(message);
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .ok()?
                .ok()??;
            self.buffer
                .push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        }
    }

    /// Whether the server ended the stream within `limit` (no event came first).
    pub async fn ended(&mut self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Err(_) => return false,
                Ok(Ok(None) | Err(_)) => return true,
                Ok(Ok(Some(chunk))) => {
                    let text = std::str::from_utf8(&chunk).expect("UTF-8");
                    assert!(!text.contains("event: "), "an event came: {text}");
                }
            }
        }
    }

    /// A message block: an event, or `None` for a comment, the retry hint or the starting
    /// cursor (an `id:` with empty data).
    fn parse(&mut self, block: &str) -> Option<Message> {
        let (mut id, mut event, mut data) = (None, None, None);
        if block.lines().any(|line| line == "data: ") {
            self.origin = block
                .lines()
                .find_map(|line| line.strip_prefix("id: "))
                .and_then(|id| id.parse().ok());
            return None;
        }
        for line in block.lines() {
            if let Some(value) = line.strip_prefix("retry: ") {
                self.retry = Some(value.to_owned());
            } else if let Some(value) = line.strip_prefix("id: ") {
                id = value.parse().ok();
            } else if let Some(value) = line.strip_prefix("event: ") {
                event = Some(value.to_owned());
            } else if let Some(value) = line.strip_prefix("data: ") {
                data = serde_json::from_str(value).ok();
            }
        }
        Some(Message {
            id: id?,
            event: event.expect("every message names its type"),
            data: data.expect("every message carries JSON data"),
        })
    }
}

/// Every event of `base`'s `/events` after `after`, oldest first, page by page.
pub async fn events_after(base: &str, after: i64) -> Vec<Value> {
    let client = reqwest::Client::new();
    let mut all = Vec::new();
    let mut cursor = after;
    loop {
        let page: Value = client
            .get(format!("{base}/events?after={cursor}&limit=100"))
            .send()
            .await
            .expect("list events")
            .json()
            .await
            .expect("a page");
        let items = page["items"].as_array().cloned().expect("items");
        let done = items.len() < 100;
        all.extend(items);
        cursor = page["next_after"].as_i64().expect("next_after");
        if done {
            return all;
        }
    }
}

/// Every event after `after` once one of them passes `last`: on Postgres an event is listed
/// once the sequencer has numbered it, a moment after its commit.
pub async fn until_listed(base: &str, after: i64, last: impl Fn(&Value) -> bool) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let events = events_after(base, after).await;
        if events.iter().any(&last) {
            return events;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not listed: {events:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
