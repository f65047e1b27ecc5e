//! One subscriber of `GET /events/stream` on a raw HTTP/1.1 connection: the request written
//! by hand, the chunked body decoded and split into messages as it arrives, and each event
//! of a tracked provisioning timed on arrival. A thousand of them run as futures on a few
//! tasks, so the bench spends a read and a scan per arrival, not a task or a parser each.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use hdrhistogram::Histogram;
use memchr::memmem;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::chunked::Chunked;
use super::ledger::Ledger;

/// Room made for each read from the socket.
const READ_SIZE: usize = 64 * 1024;
/// The longest response head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// What precedes the number in the event of a tracked provisioning (see
/// [`super::ledger::request_id`]).
const TRACKED_REQUEST_ID: &[u8] = b"\"request_id\":\"watch-";

/// An open event stream, its response head read.
pub struct Subscriber {
    stream: TcpStream,
    /// Bytes read and not yet decoded.
    raw: Vec<u8>,
    body: Chunked,
    /// Decoded text not yet split into messages.
    text: Vec<u8>,
}

/// The events of tracked provisionings one subscriber (or several, merged) received.
pub struct Deliveries {
    /// From the provisioning's answer arriving to its event arriving, in µs; an event that
    /// came first counts as 0.
    pub from_answer: Histogram<u64>,
    /// From the provisioning being sent to its event arriving, in µs.
    pub from_request: Histogram<u64>,
    /// Events that arrived before their provisioning's answer.
    pub before_answer: u64,
    /// Events of tracked request ids whose provisioning was never answered.
    pub unmatched: u64,
    /// Events whose provisioning's answer had not been read yet when they arrived.
    pending: Vec<(usize, Instant)>,
}

impl Subscriber {
    /// Opens `GET /events/stream` on fleetd at `addr` as `key`: from now on, the events of
    /// the key's project. The response must be a 200 with a chunked body.
    pub async fn open(addr: SocketAddr, key: &str) -> Result<Subscriber> {
        let mut stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        let request = format!(
            "GET /events/stream HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\
             Authorization: Bearer {key}\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut raw = Vec::with_capacity(READ_SIZE);
        let end = loop {
            if let Some(end) = memmem::find(&raw, b"\r\n\r\n") {
                break end + 4;
            }
            ensure!(
                raw.len() <= MAX_HEAD,
                "a response head over {MAX_HEAD} bytes"
            );
            if stream.read_buf(&mut raw).await? == 0 {
                bail!("fleetd closed the event stream before answering");
            }
        };
        let head = String::from_utf8_lossy(&raw[..end]).into_owned();
        ensure!(
            head.starts_with("HTTP/1.1 200 "),
            "GET /events/stream answered {}",
            head.lines().next().unwrap_or_default()
        );
        ensure!(
            head.lines()
                .any(|line| line.eq_ignore_ascii_case("transfer-encoding: chunked")),
            "GET /events/stream answered a body that is not chunked:\n{head}"
        );
        raw.drain(..end);
        Ok(Subscriber {
            stream,
            raw,
            body: Chunked::default(),
            text: Vec::new(),
        })
    }

    /// Reads the stream until `stop` turns true, timing every event of a provisioning in
    /// `ledger` and counting it there.
    pub async fn follow(
        mut self,
        ledger: &Ledger,
        mut stop: watch::Receiver<bool>,
    ) -> Result<Deliveries> {
        let mut deliveries = Deliveries::new();
        loop {
            self.decode(ledger, &mut deliveries, Instant::now())?;
            self.raw.reserve(READ_SIZE);
            let read = tokio::select! {
                biased;
                _ = stop.wait_for(|stop| *stop) => return Ok(deliveries),
                read = self.stream.read_buf(&mut self.raw) => read?,
            };
            if read == 0 {
                bail!("fleetd closed an event stream");
            }
        }
    }

    /// Decodes what has arrived (at `arrived`) and takes in every whole message.
    fn decode(&mut self, ledger: &Ledger, into: &mut Deliveries, arrived: Instant) -> Result<()> {
        if self.body.decode(&mut self.raw, &mut self.text)? {
            bail!("fleetd ended an event stream");
        }
        let mut start = 0;
        let mut tracked = 0;
        for end in memmem::find_iter(&self.text, b"\n\n") {
            if end < start {
                // The second newline of a "\n\n\n": the empty line after a message.
                continue;
            }
            if let Some(n) = provisioning(&self.text[start..end]) {
                into.record(ledger, n, arrived);
                tracked += 1;
            }
            start = end + 2;
        }
        self.text.drain(..start);
        ledger.count_delivered(tracked);
        Ok(())
    }
}

/// The number of the tracked provisioning whose `server.provisioned` event `message` is.
fn provisioning(message: &[u8]) -> Option<usize> {
    memmem::find(message, b"\nevent: server.provisioned\n")?;
    let at = memmem::find(message, TRACKED_REQUEST_ID)? + TRACKED_REQUEST_ID.len();
    let digits = &message[at..];
    let len = digits.iter().position(|b| !b.is_ascii_digit())?;
    std::str::from_utf8(&digits[..len]).ok()?.parse().ok()
}

impl Default for Deliveries {
    fn default() -> Self {
        Deliveries::new()
    }
}

impl Deliveries {
    /// None yet.
    pub fn new() -> Deliveries {
        Deliveries {
            from_answer: histogram(),
            from_request: histogram(),
            before_answer: 0,
            unmatched: 0,
            pending: Vec::new(),
        }
    }

    /// Events received, timed.
    pub fn count(&self) -> u64 {
        self.from_request.len()
    }

    /// Adds `other`'s.
    pub fn merge(&mut self, other: Deliveries) {
        // Both histograms auto-resize, so adding cannot fail.
        let _ = self.from_answer.add(&other.from_answer);
        let _ = self.from_request.add(&other.from_request);
        self.before_answer += other.before_answer;
        self.unmatched += other.unmatched;
        self.pending.extend(other.pending);
    }

    /// Times the events that arrived before their provisioning's answer had been read,
    /// now that the provisioning is over.
    pub fn settle(&mut self, ledger: &Ledger) {
        for (n, arrived) in std::mem::take(&mut self.pending) {
            match ledger.instants(n) {
                Some((sent, Some(answered))) => self.time(sent, answered, arrived),
                _ => self.unmatched += 1,
            }
        }
    }

    fn record(&mut self, ledger: &Ledger, n: usize, arrived: Instant) {
        match ledger.instants(n) {
            Some((sent, Some(answered))) => self.time(sent, answered, arrived),
            _ => self.pending.push((n, arrived)),
        }
    }

    fn time(&mut self, sent: Instant, answered: Instant, arrived: Instant) {
        if arrived < answered {
            self.before_answer += 1;
        }
        let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        // Auto-resizing histograms accept any value.
        let _ = self
            .from_answer
            .record(micros(arrived.saturating_duration_since(answered)));
        let _ = self
            .from_request
            .record(micros(arrived.saturating_duration_since(sent)));
    }
}

fn histogram() -> Histogram<u64> {
    // Three significant figures; the histogram grows to whatever delay it sees.
    Histogram::new(3).expect("3 significant figures are valid")
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{Deliveries, provisioning};
    use crate::watch::ledger::{Ledger, request_id};

    #[test]
    fn an_event_is_timed_from_its_answer_even_when_it_comes_first() {
        let ledger = Ledger::new(3);
        let mut deliveries = Deliveries::new();
        ledger.sent(0);
        ledger.sent(1);
        ledger.sent(2);
        // Number 0's event comes before its answer has been read; 1's after; 2 is never
        // answered (its provisioning failed).
        deliveries.record(&ledger, 0, Instant::now());
        std::thread::sleep(Duration::from_millis(5));
        ledger.answered(0);
        ledger.answered(1);
        std::thread::sleep(Duration::from_millis(5));
        deliveries.record(&ledger, 1, Instant::now());
        deliveries.record(&ledger, 2, Instant::now());
        deliveries.settle(&ledger);
        assert_eq!(deliveries.count(), 2);
        assert_eq!(deliveries.before_answer, 1);
        assert_eq!(deliveries.unmatched, 1);
        assert_eq!(deliveries.from_answer.min(), 0, "the early event counts 0");
        assert!(
            deliveries.from_answer.max() >= 5_000,
            "the late one counts its wait"
        );
        assert!(
            deliveries.from_request.max() >= deliveries.from_answer.max(),
            "a request is sent before it is answered"
        );
    }

    #[test]
    fn only_tracked_provisioned_events_are_taken() {
        let tracked = format!(
            "id: 7\nevent: server.provisioned\ndata: {{\"seq\":7,\"request_id\":\"{}\",\
             \"message\":\"x\"}}",
            request_id(42)
        );
        assert_eq!(provisioning(tracked.as_bytes()), Some(42));
        let other_request = b"id: 8\nevent: server.provisioned\ndata: {\"request_id\":\"abc\"}";
        assert_eq!(provisioning(other_request), None);
        let other_type = b"id: 9\nevent: server.state_changed\ndata: {\"request_id\":\"watch-1\"}";
        assert_eq!(provisioning(other_type), None);
        assert_eq!(provisioning(b": keep-alive"), None);
    }
}
