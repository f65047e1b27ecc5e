//! `fleet events --follow`: reads `GET /events/stream` and prints each event as it comes.
//! When the connection drops it reconnects, backing off, asking for the events after the
//! last one printed, so nothing is missed or printed twice. The generated client sends
//! that cursor as `after`, which the API takes exactly as it takes `Last-Event-ID` (the
//! document lists no `Last-Event-ID` parameter for the client to send).

use std::time::Duration;

use fleet_client::types::{self, Problem};
use fleet_client::{ByteStream, CALL_TIMEOUT, Failure};

use super::Session;
use super::events::{COLUMNS, Filters, cells};
use crate::cli::Output;
use crate::exit::Exit;
use crate::output::{Reader, line};
use crate::sse;

/// After this long without a byte (fleetd sends a keep-alive every 15 s) the connection
/// is taken for dropped.
const SILENCE: Duration = Duration::from_secs(45);
/// The first delay before reconnecting, until the service's `retry:` hint says otherwise.
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// The longest delay between attempts to reconnect.
const MAX_RETRY: Duration = Duration::from_secs(30);

/// Follows the events after `after` (from the moment it connects without one) until the
/// reader of stdout goes away; ends early only when the API refuses (a 410 when the
/// cursor's events were pruned) or, before the first connection, when nothing answers.
pub async fn run(session: &Session, filters: &Filters, after: Option<i64>) -> Result<(), Exit> {
    let mut follow = Follow {
        cursor: after,
        output: session.output,
        backoff: Backoff::new(),
    };
    let mut connected = false;
    loop {
        let why = match open(session, filters, follow.cursor).await {
            Ok(body) => {
                let first = !connected;
                connected = true;
                if first && follow.header()? == Reader::Gone {
                    return Ok(());
                }
                follow.backoff.reset();
                match follow.read(body).await? {
                    Ended::ReaderGone => return Ok(()),
                    Ended::Dropped(why) => why,
                }
            }
            Err(Attempt::Failed(exit)) => return Err(exit),
            Err(Attempt::Unanswered(failure)) if !connected => {
                return Err(Exit::of_failure(failure, &session.url));
            }
            Err(Attempt::Unanswered(failure)) => failure.to_string(),
            Err(Attempt::Busy(why)) => why,
        };
        let delay = follow.backoff.next();
        eprintln!(
            "fleet: the event stream dropped ({why}); reconnecting in {}",
            humantime::format_duration(delay)
        );
        if follow.cursor.is_none() {
            eprintln!(
                "fleet: no event came before the drop, so the stream starts again from \
                 when it reconnects (give --after to resume from a sequence number)"
            );
        }
        tokio::time::sleep(delay).await;
    }
}

/// Why a connection could not be opened.
enum Attempt {
    /// The API refused for good: a bad filter, a key, or a cursor whose events are gone.
    Failed(Exit),
    /// Nothing answered.
    Unanswered(Failure),
    /// The service answered that it cannot serve now (429, 5xx); worth another try.
    Busy(String),
}

/// How a connection ended.
enum Ended {
    /// stdout's reader went away (`| head`): following is over.
    ReaderGone,
    /// The connection dropped, for this reason.
    Dropped(String),
}

async fn open(
    session: &Session,
    filters: &Filters,
    cursor: Option<i64>,
) -> Result<ByteStream, Attempt> {
    let mut request = session.client.stream_events();
    if let Some(server) = filters.server {
        request = request.server_id(server);
    }
    if !filters.types.is_empty() {
        request = request.type_(filters.types.clone());
    }
    if let Some(selector) = &filters.selector {
        request = request.label_selector(selector.as_str());
    }
    if let Some(after) = cursor {
        request = request.after(after);
    }
    // The stream has no timeout of its own (it stays open), but its answer must come.
    match tokio::time::timeout(CALL_TIMEOUT, request.send()).await {
        Ok(Ok(response)) => Ok(response.into_inner()),
        Ok(Err(e)) => Err(refusal(session, e).await),
        Err(_) => Err(Attempt::Busy(format!(
            "no answer within {}",
            humantime::format_duration(CALL_TIMEOUT)
        ))),
    }
}

async fn refusal(session: &Session, error: fleet_client::Error<Problem>) -> Attempt {
    let status = error.status().map(|status| status.as_u16());
    match verdict(status) {
        Verdict::Busy => Attempt::Busy(format!(
            "the service answered {}",
            status.unwrap_or_default()
        )),
        Verdict::Expired => Attempt::Failed(session.failed(error).await.with_hint(
            "the events after the cursor are no longer kept: read the current state \
             (`fleet servers list`), then follow from now (`fleet events --follow`)",
        )),
        Verdict::Refused => Attempt::Failed(session.failed(error).await),
        Verdict::Unanswered => Attempt::Unanswered(Failure::of(error).await),
    }
}

/// What the status of a failed attempt to connect says.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Too many requests or a failing service: it may serve a later attempt.
    Busy,
    /// 410: the cursor's events were pruned; no later attempt can serve it.
    Expired,
    /// Any other refusal (a bad filter, a key): as final as the 410.
    Refused,
    /// No status: nothing answered.
    Unanswered,
}

fn verdict(status: Option<u16>) -> Verdict {
    match status {
        Some(429 | 500..) => Verdict::Busy,
        Some(410) => Verdict::Expired,
        Some(_) => Verdict::Refused,
        None => Verdict::Unanswered,
    }
}

/// Where following is and how it prints.
struct Follow {
    /// The last event printed (or the `--after` given): the next connection asks for
    /// what comes after it.
    cursor: Option<i64>,
    output: Output,
    backoff: Backoff,
}

impl Follow {
    /// Prints the events of one connection until it drops.
    async fn read(&mut self, body: ByteStream) -> Result<Ended, Exit> {
        let mut messages = std::pin::pin!(sse::messages(body.into_inner(), SILENCE));
        while let Some(message) = futures::StreamExt::next(&mut messages).await {
            let message = match message {
                Ok(message) => message,
                Err(sse::Error::Body(why)) => return Ok(Ended::Dropped(why.to_string())),
                Err(e) => {
                    return Err(Exit::unreachable(format!(
                        "the event stream is not one fleet understands: {e}"
                    )));
                }
            };
            if let Some(retry) = message.retry {
                self.backoff.hint(Duration::from_millis(retry));
            }
            let data = message.data.filter(|data| !data.is_empty());
            if data.is_none() {
                // The stream's first message: only the cursor it starts from.
                self.start_at(message.id.as_deref());
            }
            if let Some(data) = data
                && self.take(&data)? == Reader::Gone
            {
                return Ok(Ended::ReaderGone);
            }
        }
        Ok(Ended::Dropped("the service ended it".to_owned()))
    }

    /// The column headers, once connected, when it prints a table.
    fn header(&self) -> Result<Reader, Exit> {
        match self.output {
            Output::Json => Ok(Reader::Reading),
            Output::Table => line(&row(&COLUMNS.map(str::to_owned))),
        }
    }

    /// Moves the cursor to where a stream says it starts, when that is further on: a
    /// stream from now names it before any event, so a drop loses nothing after it.
    fn start_at(&mut self, id: Option<&str>) {
        if let Some(start) = id.and_then(|id| id.parse::<i64>().ok()) {
            self.cursor = Some(self.cursor.map_or(start, |seen| seen.max(start)));
        }
    }

    /// Prints one event, unless it was printed already.
    fn take(&mut self, data: &str) -> Result<Reader, Exit> {
        let event: types::WatchEvent = serde_json::from_str(data).map_err(|e| {
            Exit::unreachable(format!("an event fleet does not understand ({e}): {data}"))
        })?;
        if self.cursor.is_some_and(|seen| event.seq <= seen) {
            return Ok(Reader::Reading);
        }
        let printed = match self.output {
            Output::Json => serde_json::to_string(&event)
                .map_err(|e| Exit::unreachable(format!("cannot print an event: {e}")))?,
            Output::Table => row(&cells(&event)),
        };
        let reader = line(&printed)?;
        self.cursor = Some(event.seq);
        Ok(reader)
    }
}

/// A row of [`COLUMNS`] in fixed widths, so rows printed one at a time line up (labels
/// longer than their width push the message on).
fn row(cells: &[String; 9]) -> String {
    const WIDTHS: [usize; 8] = [8, 20, 36, 23, 12, 12, 6, 24];
    let mut text = String::new();
    for (cell, width) in cells.iter().zip(WIDTHS) {
        text.push_str(&format!("{cell:<width$}  "));
    }
    text.push_str(&cells[8]);
    text
}

/// The delay before the next attempt to connect: the service's `retry:` hint (or one
/// second before it gives one), doubled after each attempt that fails, up to 30 s.
struct Backoff {
    base: Duration,
    next: Duration,
}

impl Backoff {
    fn new() -> Backoff {
        Backoff {
            base: FIRST_RETRY,
            next: FIRST_RETRY,
        }
    }

    fn hint(&mut self, retry: Duration) {
        self.base = retry.min(MAX_RETRY);
        self.next = self.base;
    }

    /// A connection was made: the next drop is retried after the base delay.
    fn reset(&mut self) {
        self.next = self.base;
    }

    fn next(&mut self) -> Duration {
        let delay = self.next;
        self.next = (delay * 2).min(MAX_RETRY);
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_busy_or_failing_service_is_asked_again_and_a_410_is_the_expired_cursor() {
        for (status, expected) in [
            (Some(429), Verdict::Busy),
            (Some(500), Verdict::Busy),
            (Some(503), Verdict::Busy),
            (Some(410), Verdict::Expired),
            (Some(400), Verdict::Refused),
            (Some(401), Verdict::Refused),
            (Some(404), Verdict::Refused),
            (None, Verdict::Unanswered),
        ] {
            assert_eq!(verdict(status), expected, "{status:?}");
        }
    }

    #[test]
    fn the_delay_starts_at_the_hint_doubles_to_a_bound_and_resets_on_a_connection() {
        let mut backoff = Backoff::new();
        assert_eq!(backoff.next(), FIRST_RETRY);
        backoff.hint(Duration::from_secs(3));
        let delays: Vec<u64> = (0..6).map(|_| backoff.next().as_secs()).collect();
        assert_eq!(delays, vec![3, 6, 12, 24, 30, 30]);
        backoff.reset();
        assert_eq!(backoff.next(), Duration::from_secs(3));
        backoff.hint(Duration::from_secs(600));
        assert_eq!(backoff.next(), MAX_RETRY);
    }

    #[test]
    fn rows_printed_one_at_a_time_line_up_under_the_header() {
        let header = row(&COLUMNS.map(str::to_owned));
        let event = row(&[
            "12".into(),
            "2026-01-01T00:00:00Z".into(),
            "0190a0b2-0000-7000-8000-000000000001".into(),
            "server.state_changed".into(),
            "provisioning".into(),
            "running".into(),
            "system".into(),
            "env=prod".into(),
            "now running".into(),
        ]);
        assert_eq!(header.find("EVENT"), event.find("server.state_changed"));
        assert_eq!(header.find("LABELS"), event.find("env=prod"));
        assert_eq!(header.find("MESSAGE"), event.find("now running"));
    }
}
