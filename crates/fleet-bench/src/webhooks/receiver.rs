//! The webhook phase's receiver: an HTTP/1.1 server on `127.0.0.1:0` inside the bench that
//! answers every `POST` with 204 at once and logs each delivery's arrival.
//!
//! fleetd's sender is reqwest, which keeps its connections alive and reuses them, so a
//! connection carries many requests, one after the other (or pipelined: every complete
//! request in the buffer is answered, in order, in one write). A request is its head, up to
//! the blank line, and a `Content-Length` body; a chunked body, another method or a broken
//! head is answered 400 and the connection closed, and counted as malformed.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use memchr::memmem;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// Room made for each read from a socket.
const READ_SIZE: usize = 16 * 1024;
/// The longest request head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// The longest body accepted.
const MAX_BODY: usize = 1024 * 1024;
/// The answer to a delivery.
const NO_CONTENT: &[u8] = b"HTTP/1.1 204 No Content\r\n\r\n";
/// The answer to anything else, before the connection closes.
const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
/// The path of webhook `i` is this followed by `i`.
const HOOK_PATH: &str = "/hook/";

/// The receiver, listening until dropped.
pub struct Receiver {
    addr: SocketAddr,
    log: Arc<Mutex<Log>>,
    accept: JoinHandle<()>,
}

/// What the receiver has seen so far.
#[derive(Default)]
pub struct Log {
    /// When each delivery arrived (its last byte read), in order.
    pub arrivals: Vec<Instant>,
    /// Deliveries per webhook, by the `i` of its path `/hook/{i}`.
    pub per_hook: BTreeMap<usize, u64>,
    /// Deliveries to any other path.
    pub elsewhere: u64,
    /// The distinct `webhook-id` headers (a message sent twice has one).
    pub ids: HashSet<String>,
    /// Deliveries without a `webhook-id`.
    pub without_id: u64,
    /// Deliveries by the `type` of their body (`?` when the body has none).
    pub types: BTreeMap<String, u64>,
    /// Connections accepted.
    pub connections: u64,
    /// Requests answered 400.
    pub malformed: u64,
    /// Why the first of them was.
    pub first_malformed: Option<String>,
}

impl Receiver {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start() -> Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the webhook receiver")?;
        let addr = listener.local_addr()?;
        let log = Arc::new(Mutex::new(Log::default()));
        let accept = tokio::spawn(accept(listener, log.clone()));
        Ok(Receiver { addr, log, accept })
    }

    /// The URL of webhook `i`.
    pub fn url(&self, i: usize) -> String {
        format!("http://{}{HOOK_PATH}{i}", self.addr)
    }

    /// Deliveries received so far.
    pub fn count(&self) -> usize {
        self.log().arrivals.len()
    }

    /// The first and last arrivals from delivery number `from` on, and how many arrived
    /// by `by` among them.
    pub fn window(&self, from: usize, by: Instant) -> Option<Window> {
        let log = self.log();
        let arrivals = log.arrivals.get(from..)?;
        Some(Window {
            first: *arrivals.first()?,
            last: *arrivals.last()?,
            count: arrivals.len(),
            by: arrivals.partition_point(|at| *at <= by),
        })
    }

    /// What it has seen so far.
    pub fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until `total` deliveries have arrived, for at most `timeout`; whether they did.
    pub async fn wait_for(&self, total: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.count() < total {
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        true
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // The connections' tasks are in the accept task's set, so they go with it.
        self.accept.abort();
    }
}

/// A stretch of arrivals.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// The first arrival.
    pub first: Instant,
    /// The last.
    pub last: Instant,
    /// How many.
    pub count: usize,
    /// How many arrived by the instant asked about.
    pub by: usize,
}

async fn accept(listener: TcpListener, log: Arc<Mutex<Log>>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        match listener.accept().await {
            Ok((stream, _)) => {
                log.lock().unwrap_or_else(|p| p.into_inner()).connections += 1;
                connections.spawn(serve(stream, log.clone()));
            }
            // Out of descriptors, most likely: the sender retries what it could not send.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// Answers the requests of one connection until it closes or sends something malformed.
async fn serve(mut stream: TcpStream, log: Arc<Mutex<Log>>) {
    let _ = stream.set_nodelay(true);
    let mut buffer: Vec<u8> = Vec::with_capacity(READ_SIZE);
    let mut answers: Vec<u8> = Vec::new();
    loop {
        let mut used = 0;
        let mut close = false;
        loop {
            match parse(&buffer[used..]) {
                Parsed::Incomplete => break,
                Parsed::Request(request) => {
                    record(&log, &request);
                    answers.extend_from_slice(NO_CONTENT);
                    used += request.len;
                    if request.close {
                        close = true;
                        break;
                    }
                }
                Parsed::Bad(why) => {
                    let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
                    log.malformed += 1;
                    log.first_malformed.get_or_insert(why);
                    answers.extend_from_slice(BAD_REQUEST);
                    close = true;
                    break;
                }
            }
        }
        buffer.drain(..used);
        if !answers.is_empty() {
            if stream.write_all(&answers).await.is_err() {
                return;
            }
            answers.clear();
        }
        if close {
            let _ = stream.shutdown().await;
            return;
        }
        buffer.reserve(READ_SIZE);
        match stream.read_buf(&mut buffer).await {
            // Closed (between requests, as a pool closes an idle connection, or amid one,
            // which the sender counts as an attempt without an answer and retries).
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

fn record(log: &Mutex<Log>, request: &Request<'_>) {
    #[derive(Deserialize)]
    struct Message {
        #[serde(rename = "type")]
        kind: String,
    }
    let kind =
        serde_json::from_slice::<Message>(request.body).map_or_else(|_| "?".to_owned(), |m| m.kind);
    let hook = request
        .path
        .strip_prefix(HOOK_PATH)
        .and_then(|i| i.parse::<usize>().ok());
    let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
    // Taken under the lock, so the arrivals are in order.
    log.arrivals.push(Instant::now());
    match hook {
        Some(i) => *log.per_hook.entry(i).or_default() += 1,
        None => log.elsewhere += 1,
    }
    match request.id {
        Some(id) => {
            if !log.ids.contains(id) {
                log.ids.insert(id.to_owned());
            }
        }
        None => log.without_id += 1,
    }
    *log.types.entry(kind).or_default() += 1;
}

/// What the start of a buffer holds.
#[derive(Debug, PartialEq, Eq)]
enum Parsed<'a> {
    /// Not a whole request yet.
    Incomplete,
    /// A whole request.
    Request(Request<'a>),
    /// Something this receiver does not take.
    Bad(String),
}

/// One request.
#[derive(Debug, PartialEq, Eq)]
struct Request<'a> {
    /// Its length in the buffer, head and body.
    len: usize,
    path: &'a str,
    /// Its `webhook-id`.
    id: Option<&'a str>,
    body: &'a [u8],
    /// Whether the client asked for the connection to close after it.
    close: bool,
}

fn parse(buffer: &[u8]) -> Parsed<'_> {
    let Some(end) = memmem::find(buffer, b"\r\n\r\n") else {
        return if buffer.len() > MAX_HEAD {
            Parsed::Bad(format!("a request head over {MAX_HEAD} bytes"))
        } else {
            Parsed::Incomplete
        };
    };
    let Ok(head) = std::str::from_utf8(&buffer[..end]) else {
        return Parsed::Bad("a request head that is not UTF-8".to_owned());
    };
    let mut lines = head.split("\r\n");
    let line = lines.next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (Some(method), Some(path), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Parsed::Bad(format!("a malformed request line '{line}'"));
    };
    if method != "POST" {
        return Parsed::Bad(format!("{method} {path}: only POST is answered"));
    }
    let mut close = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        other => return Parsed::Bad(format!("version '{other}'")),
    };
    let (mut length, mut id) = (0, None);
    for header in lines {
        let Some((name, value)) = header.split_once(':') else {
            return Parsed::Bad(format!("a malformed header line '{header}'"));
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("content-length") {
            match value.parse::<usize>() {
                Ok(n) if n <= MAX_BODY => length = n,
                _ => return Parsed::Bad(format!("content-length '{value}'")),
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Parsed::Bad(format!("transfer-encoding '{value}'"));
        } else if name.eq_ignore_ascii_case("connection") {
            let asked = |what: &str| {
                value
                    .split(',')
                    .any(|token| token.trim().eq_ignore_ascii_case(what))
            };
            if asked("close") {
                close = true;
            } else if asked("keep-alive") {
                close = false;
            }
        } else if name.eq_ignore_ascii_case("webhook-id") {
            id = Some(value);
        }
    }
    let start = end + 4;
    let Some(body) = buffer.get(start..start + length) else {
        return Parsed::Incomplete;
    };
    Parsed::Request(Request {
        len: start + length,
        path,
        id,
        body,
        close,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: &[u8] = b"POST /hook/3 HTTP/1.1\r\nhost: x\r\nContent-Length: 11\r\n\
        webhook-id: msg_1\r\n\r\n{\"type\":\"a\"}";

    #[test]
    fn a_request_is_whole_only_with_its_body() {
        // The body above is 12 bytes; the head says 11, so the last byte is the next one's.
        let Parsed::Request(request) = parse(FIRST) else {
            panic!("{:?}", parse(FIRST));
        };
        assert_eq!(request.len, FIRST.len() - 1);
        assert_eq!(request.path, "/hook/3");
        assert_eq!(request.id, Some("msg_1"));
        assert!(!request.close);
        for cut in [10, FIRST.len() - 5] {
            assert_eq!(parse(&FIRST[..cut]), Parsed::Incomplete, "cut at {cut}");
        }
    }

    #[test]
    fn pipelined_requests_are_parsed_one_after_the_other() {
        let one = b"POST /hook/0 HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}";
        let two = b"POST /hook/1 HTTP/1.1\r\nConnection: close\r\ncontent-length: 0\r\n\r\n";
        let buffer = [one.as_slice(), two.as_slice()].concat();
        let Parsed::Request(first) = parse(&buffer) else {
            panic!("the first request");
        };
        assert_eq!((first.len, first.body), (one.len(), b"{}".as_slice()));
        let Parsed::Request(second) = parse(&buffer[first.len..]) else {
            panic!("the second request");
        };
        assert_eq!((second.path, second.close), ("/hook/1", true));
    }

    #[test]
    fn what_it_does_not_take_is_bad() {
        for request in [
            b"GET / HTTP/1.1\r\n\r\n".as_slice(),
            b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\ncontent-length: x\r\n\r\n",
        ] {
            assert!(matches!(parse(request), Parsed::Bad(_)), "{request:?}");
        }
    }

    #[tokio::test]
    async fn it_answers_keep_alive_and_pipelined_posts_and_logs_them() {
        let receiver = Receiver::start().await.expect("receiver");
        let mut stream = TcpStream::connect(receiver.addr).await.expect("connect");
        let body = br#"{"type":"server.provisioned","data":{}}"#;
        let request = |id: u32| {
            let head = format!(
                "POST /hook/{} HTTP/1.1\r\nhost: x\r\nwebhook-id: msg_{id}\r\n\
                 content-length: {}\r\n\r\n",
                id % 2,
                body.len()
            );
            [head.as_bytes(), body.as_slice()].concat()
        };
        // Two in one write, then one cut in two writes, on one connection.
        stream
            .write_all(&[request(1), request(2)].concat())
            .await
            .expect("write");
        let third = request(3);
        stream.write_all(&third[..20]).await.expect("write");
        tokio::time::sleep(Duration::from_millis(20)).await;
        stream.write_all(&third[20..]).await.expect("write");
        let mut answers = Vec::new();
        while answers.len() < 3 * NO_CONTENT.len() {
            stream.read_buf(&mut answers).await.expect("read");
        }
        assert_eq!(answers, NO_CONTENT.repeat(3));
        assert!(receiver.wait_for(3, Duration::from_secs(1)).await);
        let log = receiver.log();
        assert_eq!(log.connections, 1);
        assert_eq!(log.ids.len(), 3);
        assert_eq!(log.per_hook.get(&1), Some(&2));
        assert_eq!(log.types.get("server.provisioned"), Some(&3));
        assert_eq!(log.malformed, 0);
    }
}
