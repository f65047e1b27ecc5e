//! The event log at the end of a recorded run: `GET /events?after=0`, every page, read once
//! it holds every event of the run.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::POLL;
use super::http::{Failure, Http};
use super::record::{Answer, Recorder};

/// How long the log may take to hold every event (Postgres numbers events shortly after
/// their commit).
const SETTLE: Duration = Duration::from_secs(10);

/// Records the global event log from its start, page by page, once it holds every event
/// the servers' own logs hold.
pub async fn record(http: &Http, recorder: &mut Recorder) -> Result<(), Failure> {
    let expected = events_of_servers(http).await?;
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let pages = event_pages(http).await?;
        let count: usize = pages.iter().map(|(_, page)| items(&page.body).len()).sum();
        if count >= expected || tokio::time::Instant::now() >= deadline {
            for (path, page) in &pages {
                recorder.answer(json!("events"), "GET", path, page);
            }
            return Ok(());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The pages of `GET /events` from the start, up to the first empty one.
async fn event_pages(http: &Http) -> Result<Vec<(String, Answer)>, Failure> {
    let (mut pages, mut after) = (Vec::new(), 0);
    loop {
        let path = format!("/events?after={after}&limit=100");
        let page = http.send(&Method::GET, &path, &[], None).await?;
        if page.status != 200 {
            return Err(Failure::Step(format!(
                "{path} answered {}: {}",
                page.status, page.body
            )));
        }
        let done = items(&page.body).is_empty();
        after = page.body["next_after"].as_i64().unwrap_or(after);
        pages.push((path, page));
        if done {
            return Ok(pages);
        }
    }
}

/// How many events the logs of every server hold (each shows at most its newest 100).
async fn events_of_servers(http: &Http) -> Result<usize, Failure> {
    let (mut count, mut cursor) = (0, None::<String>);
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/servers?limit=100&cursor={cursor}"),
            None => "/servers?limit=100".to_owned(),
        };
        let page = http.send(&Method::GET, &path, &[], None).await?;
        for server in items(&page.body) {
            let id = server["id"].as_str().unwrap_or_default();
            let logs = http
                .send(&Method::GET, &format!("/servers/{id}/logs"), &[], None)
                .await?;
            count += items(&logs.body).len();
        }
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(count),
        }
    }
}

fn items(body: &Value) -> &[Value] {
    body["items"].as_array().map_or(&[], Vec::as_slice)
}
